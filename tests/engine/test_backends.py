"""One engine on every Keras 3 backend (issue 14), and Keras internals kept in one module
behind a probe (issue 10, item 3).

Keras fixes its backend at import, so each backend runs in its own process, once a session
(tests/engine/backend_maps.py, the `backend_run` fixture), and the maps are compared here."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from saliency_desktop.engine import backends, method_ids
from saliency_desktop.engine.types import EngineError

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = re.compile(
    r"keras\.src|_keras_history|_run_through_graph|_inbound_nodes|_outbound_nodes"
    r"|_call_has_training_arg"
)


def test_keras_internals_are_used_in_one_module_only():
    users = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "saliency_desktop").rglob("*.py")
        if PRIVATE.search(p.read_text(encoding="utf-8"))
    )
    assert users == ["saliency_desktop/engine/keras_compat.py"]


def test_probe_passes_on_the_installed_keras(keras):
    from saliency_desktop.engine import keras_compat

    assert keras_compat._missing() == []
    keras_compat.probe()


def test_probe_names_the_missing_internal_the_version_and_the_tested_range(keras, monkeypatch):
    from saliency_desktop.engine import keras_compat

    functional = keras.src.models.functional.Functional
    monkeypatch.setattr(functional, "_run_through_graph", None)  # inherited: shadow it
    with pytest.raises(EngineError) as err:
        keras_compat.probe.__wrapped__()
    text = str(err.value)
    assert "Functional._run_through_graph" in text
    assert keras.__version__ in text and keras_compat.TESTED_RANGE in text


def test_pyproject_caps_keras_at_the_tested_range():
    from saliency_desktop.engine.keras_compat import TESTED_RANGE

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"keras{TESTED_RANGE}"' in text


def test_backend_choice_is_checked_before_keras_loads(monkeypatch):
    monkeypatch.delenv(backends.ENV, raising=False)
    assert backends.requested() == "tensorflow"
    assert backends.requested("PyTorch") == "torch"
    monkeypatch.setenv(backends.ENV, "jax")
    assert backends.requested() == "jax"
    with pytest.raises(EngineError, match="choose one of tensorflow, jax, torch"):
        backends.requested("mxnet")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EngineError, match=r"pip install 'saliency-desktop\[torch\]'"):
        backends.choose("torch")


def test_another_backend_cannot_be_chosen_once_keras_runs(keras):
    other = "jax" if keras.backend.backend() != "jax" else "torch"
    if importlib.util.find_spec(other) is None:
        pytest.skip(f"{other} not installed")
    with pytest.raises(EngineError, match="must be chosen before Keras is imported"):
        backends.choose(other)


def _maps(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / "maps.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def tf_maps(backend_run) -> dict[str, np.ndarray]:
    return _maps(backend_run("tensorflow"))


# Guided IG moves the features with the smallest |dS/dx| first (a quantile threshold): float32
# differences of 1e-7 between backends' kernels pick other features among near-ties, so its
# path, not its gradients, differs a little (its gradients match to 0.99999 like every map).
LOOSER = {"guided_ig": 0.97}


def _same(a: np.ndarray, b: np.ndarray, r: float = 0.999) -> bool:
    """corr >= r, or equal within float32 noise where a map is (nearly) constant."""
    if a.std() < 1e-6 * (np.abs(a).max() + 1e-12) or b.std() < 1e-6 * (np.abs(b).max() + 1e-12):
        return np.allclose(a, b, rtol=1e-4, atol=1e-6 * (np.abs(a).max() + 1e-12))
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) >= r


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_method_gives_the_same_map_on_every_backend(backend, tf_maps, backend_run):
    maps = _maps(backend_run(backend))
    record = json.loads(str(maps.pop("record")))
    assert record["backend"] == backend and record["versions"]["backend"] == backend
    assert json.loads(str(tf_maps["record"]))["versions"]["backend"] == "tensorflow"
    assert set(maps) == set(method_ids())  # every registered method, the model unchanged
    differ = [m for m in method_ids() if not _same(tf_maps[m], maps[m], LOOSER.get(m, 0.999))]
    assert not differ, f"{backend} differs from tensorflow on {differ}"


def test_a_savedmodel_folder_says_it_needs_tensorflow_on_another_backend(
    keras, monkeypatch, tmp_path
):
    from saliency_desktop.engine import models
    from saliency_desktop.engine.types import ModelError

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(
        ModelError, match="runs only on the TensorFlow backend.*--backend tensorflow"
    ):
        models._load_savedmodel(tmp_path)
