"""`explain --backend jax` and `--backend torch` on the embedded dog-breeds model give the same
maps as TensorFlow (issue 14), and each JSON record names its backend.

The command runs in each backend's one process of the session (the `backend_run` fixture,
tests/engine/backend_maps.py), which the engine's backend tests share."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.engine.backend_maps import CLI_METHODS


def _explained(folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    out = folder / "cli"
    with np.load(out / "chelsea.npz") as data:
        maps = {k: data[k] for k in data.files if k.endswith(".map")}
    return maps, json.loads((out / "chelsea.json").read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_explain_gives_tensorflows_maps_on_every_backend(backend, backend_run):
    tf_maps, tf_record = _explained(backend_run("tensorflow"))
    maps, record = _explained(backend_run(backend))
    assert tf_record["versions"]["backend"] == "tensorflow"
    assert record["versions"]["backend"] == backend
    assert record["versions"]["matmul_precision"] == "highest"
    assert record["target"]["index"] == tf_record["target"]["index"]
    assert record["target"]["probability"] == pytest.approx(
        tf_record["target"]["probability"], 1e-4
    )
    assert set(maps) == set(tf_maps) == {f"{m}.map" for m in CLI_METHODS.split(",")}
    for key, tf_map in tf_maps.items():
        corr = float(np.corrcoef(tf_map.ravel(), maps[key].ravel())[0, 1])
        assert corr >= 0.999, f"{backend} {key}: corr {corr:.5f} with tensorflow"
