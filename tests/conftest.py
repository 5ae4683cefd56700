"""Shared test set-up: quiet TensorFlow, Qt offscreen, and a private home.

HOME, the XDG folders and KERAS_HOME point at one temporary folder for the whole session, set
here before any test module is imported, so neither the tests nor the programs they start
(which inherit the environment) touch the user's real settings, data, logs or Keras folder.
Hypothesis keeps its example database there too, instead of `.hypothesis/` in the checkout.
pip's download cache stays the user's own (PIP_CACHE_DIR): the wheel test builds with
setuptools from PyPI, and a cache is not the user's data.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PRIVATE_HOME = Path(tempfile.mkdtemp(prefix="saliency-tests-home-"))
atexit.register(shutil.rmtree, PRIVATE_HOME, ignore_errors=True)


def _private_home() -> None:
    real_pip_cache = os.environ.get("PIP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pip"
    )
    folders = {
        "HOME": "",
        "XDG_CONFIG_HOME": ".config",
        "XDG_DATA_HOME": ".local/share",
        "XDG_CACHE_HOME": ".cache",
        "XDG_STATE_HOME": ".local/state",
        "KERAS_HOME": ".keras",
        "HYPOTHESIS_STORAGE_DIRECTORY": "hypothesis",
    }
    for var, sub in folders.items():
        path = PRIVATE_HOME / sub
        path.mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(path)
    os.environ["PIP_CACHE_DIR"] = real_pip_cache


_private_home()

BACKENDS = ("tensorflow", "jax", "torch")  # Keras 3's, each run by `backend_run`


@pytest.fixture(scope="session")
def dog_model():
    """The embedded dog-breeds model (a nested MobileNetV2), loaded once a session for the
    engine's and the command line's tests."""
    from saliency_desktop.engine import load_model

    return load_model("dog-breeds")


@pytest.fixture(scope="session")
def emotion_model():
    """The embedded grayscale emotions model, loaded once a session."""
    from saliency_desktop.engine import load_model

    return load_model("emotions")


@pytest.fixture(scope="session")
def dog_every_method(dog_model):
    """Every method but Score-CAM (1,280 forward passes here; Faster Score-CAM runs its code)
    on the dog-breeds model and chelsea.png: IG with 8 steps, the samplers with few samples
    (tests/few_samples.py). Computed once a session: the engine's test of every method on the
    nested model and the command line's comparison of what `explain` writes share it."""
    from importlib import resources

    from saliency_desktop.engine import explain, method_ids
    from tests.few_samples import few_params

    ids = [m for m in method_ids() if m != "scorecam"]
    photo = resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png")
    return explain(dog_model, str(photo), methods=ids, n_steps=8, params=few_params(ids))


@pytest.fixture(scope="session")
def backend_run(tmp_path_factory) -> Iterator[Callable[[str], Path]]:
    """`backend_run(name)`: the folder of that Keras backend's one process of
    tests/engine/backend_maps.py (the CLI's dog-breeds explain in `cli/`, every method on the
    tiny model in `maps.npz`), started at most once a session; skips where it is not installed.
    The engine's and the CLI's backend tests share it, so each backend starts once.

    The first call starts every installed backend's process at once: they run side by side
    (each is mostly one busy thread: imports, tracing, compiling), and the later calls find
    theirs done or nearly."""
    from tests.engine.backend_maps import finish_backend, start_backend

    started: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    folders: dict[str, Path] = {}

    def run(backend: str) -> Path:
        if importlib.util.find_spec(backend) is None:
            pytest.skip(f"{backend} not installed (extra [{backend}])")
        if not started:
            for name in BACKENDS:
                if importlib.util.find_spec(name) is not None:
                    folder = tmp_path_factory.mktemp(name)
                    started[name] = (start_backend(name, folder), folder)
        if backend not in folders:
            folders[backend] = finish_backend(*started[backend])
        return folders[backend]

    try:
        yield run
    finally:
        for proc, _ in started.values():  # a test that failed early leaves none running
            if proc.poll() is None:
                proc.kill()
                proc.wait()
