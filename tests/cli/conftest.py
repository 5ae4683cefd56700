"""The dog-breeds model (loaded once a session: `dog_model`, tests/conftest.py) handed to the CLI
in place of a fresh load."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest


def sample_images() -> list[Path]:
    """chelsea.png and grace_hopper.jpg (bundled) and astronaut.png (scikit-image's data)."""
    samples = resources.files("saliency_desktop.resources").joinpath("samples")
    spec = importlib.util.find_spec("skimage")
    assert spec is not None and spec.submodule_search_locations
    skimage_data = Path(spec.submodule_search_locations[0]) / "data"
    return [
        Path(str(samples.joinpath("chelsea.png"))),
        Path(str(samples.joinpath("grace_hopper.jpg"))),
        skimage_data / "astronaut.png",
    ]


@pytest.fixture(scope="session")
def images() -> list[Path]:
    return sample_images()


def patch_load_model(mp: pytest.MonkeyPatch, model) -> None:
    """`saliency-desktop ... --model dog-breeds` gets `model`; any other spec loads for real."""
    import saliency_desktop.engine as engine

    real = engine.load_model

    def load(spec="dog-breeds", *args, **kwargs):
        return model if str(spec) == "dog-breeds" else real(spec, *args, **kwargs)

    mp.setattr(engine, "load_model", load)


@pytest.fixture
def cli_model(dog_model, monkeypatch) -> Iterator[object]:
    patch_load_model(monkeypatch, dog_model)
    yield dog_model


@pytest.fixture
def fake_app(monkeypatch) -> list[dict]:
    """`saliency_desktop.ui.app` replaced: `run(**kwargs)` records its arguments, returns 7."""
    calls: list[dict] = []
    module = types.ModuleType("saliency_desktop.ui.app")

    def run(**kwargs):
        calls.append(kwargs)
        return 7

    module.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "saliency_desktop.ui.app", module)
    return calls
