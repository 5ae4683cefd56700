"""`explain --backend jax` and `--backend torch` on the embedded dog-breeds model give the same
maps as TensorFlow (issue 14), and each JSON record names its backend."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
METHODS = "vanilla_gradients,gradcam,integrated_gradients"


def _explain(backend: str, out: Path) -> tuple[dict[str, np.ndarray], dict]:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} not installed (extra [{backend}])")
    photo = resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("KERAS_BACKEND", None)
    env.pop("SALIENCY_DESKTOP_BACKEND", None)
    args = ["explain", str(photo), "--backend", backend, "--methods", METHODS,
            "--ig-steps", "8", "--out", str(out), "--format", "png", "--dpi", "30"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "saliency_desktop", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out / "chelsea.npz") as data:
        maps = {k: data[k] for k in data.files if k.endswith(".map")}
    return maps, json.loads((out / "chelsea.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _explain("tensorflow", tmp_path_factory.mktemp("tensorflow"))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_explain_gives_tensorflows_maps_on_every_backend(backend, reference, tmp_path):
    tf_maps, tf_record = reference
    maps, record = _explain(backend, tmp_path)
    assert tf_record["versions"]["backend"] == "tensorflow"
    assert record["versions"]["backend"] == backend
    assert record["versions"]["matmul_precision"] == "highest"
    assert record["target"]["index"] == tf_record["target"]["index"]
    assert record["target"]["probability"] == pytest.approx(
        tf_record["target"]["probability"], 1e-4
    )
    assert set(maps) == set(tf_maps) == {f"{m}.map" for m in METHODS.split(",")}
    for key, tf_map in tf_maps.items():
        corr = float(np.corrcoef(tf_map.ravel(), maps[key].ravel())[0, 1])
        assert corr >= 0.999, f"{backend} {key}: corr {corr:.5f} with tensorflow"
