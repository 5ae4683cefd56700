"""Switching the backend in the app, with the real engine: the maps after the switch equal a
fresh process's on that backend (JAX here; PyTorch goes the same way through the same code).

Both sides run in subprocesses: a switch re-imports Keras in its process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.ui.fake_engine import write_png

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not all(__import__("importlib").util.find_spec(m) for m in ("tensorflow", "jax")),
        reason="needs TensorFlow and JAX",
    ),
]
ROOT = Path(__file__).resolve().parents[2]
REFERENCE = """
import json, sys
import numpy as np
from saliency_desktop.engine import explain, load_model
out, image = sys.argv[1], sys.argv[2]
params = json.load(open(out + "/record.json"))["params"]
layer = params["gradcam"].pop("layer")
model = load_model(out + "/tiny.keras")
e = explain(model, image, methods=list(params), params=params, layer=layer)
np.savez(out + "/fresh.npz", **{m: r.map for m, r in e.methods.items()})
"""


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def test_maps_after_a_switch_equal_a_fresh_process_on_that_backend(tmp_path):
    image = write_png(tmp_path / "photo.png", seed=3)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", KERAS_BACKEND="tensorflow",
               SWITCH_OUT=str(tmp_path), SWITCH_TO="jax", SWITCH_IMAGE=str(image))  # fmt: skip
    env.pop("SALIENCY_DESKTOP_BACKEND", None)
    child = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/ui/backend_switch_case.py"]
    _run([sys.executable, *child], env)
    _run([sys.executable, "-c", REFERENCE, str(tmp_path), str(image)],
         dict(env, KERAS_BACKEND="jax"))  # fmt: skip
    record = json.loads((tmp_path / "record.json").read_text())
    assert record["saved"] == "jax"
    assert record["status"].endswith("JAX")
    assert "<td>Keras backend</td><td>JAX</td>" in record["about"]
    assert "<td>Device</td><td>CPU (" in record["about"]
    # a model file deleted, then a switch back: undone (still JAX), and no model left at all
    assert record["gone_model"] is None and record["gone_worker_model"] is None
    assert record["gone_label"] == "No model"
    assert record["gone_backend"] == ["jax", "jax", "jax"]
    before, after = np.load(tmp_path / "before.npz"), np.load(tmp_path / "after.npz")
    fresh = np.load(tmp_path / "fresh.npz")
    assert set(after) == set(fresh) == {"vanilla_gradients", "gradcam", "integrated_gradients"}
    for method in fresh:
        scale = float(np.abs(fresh[method]).max())
        assert scale > 0
        np.testing.assert_allclose(after[method], fresh[method], atol=1e-6 * scale, err_msg=method)
        # and TensorFlow's maps were the same maps (the switch changed the backend only)
        corr = np.corrcoef(before[method].ravel(), after[method].ravel())[0, 1]
        assert corr > 0.999, (method, corr)
