"""`explain --model FILE` with the model files of the robustness table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.cli import main
from saliency_desktop.engine.registry import list_methods


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    import keras

    from tests.engine.tiny_model import tiny_cnn

    d = tmp_path_factory.mktemp("models")
    tiny = tiny_cnn(keras, seed=5)
    tiny.save(d / "good.keras")
    (d / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"0" * 64)
    (d / "truncated.keras").write_bytes((d / "good.keras").read_bytes()[:300])
    (d / "text.keras").write_text("not a model")
    inp = keras.Input((10,))
    keras.Model(inp, keras.layers.Dense(2)(inp)).save(d / "vector.keras")
    img = keras.Input((8, 8, 3))
    lam = keras.layers.Lambda(lambda t: t * 2.0)(img)
    keras.Model(img, keras.layers.Dense(2)(keras.layers.Flatten()(lam))).save(d / "lambda.keras")
    flat = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(img))
    keras.Model(img, flat).save(d / "flat.keras")
    tiny_cnn(keras, seed=6, final="linear").save(d / "logits.keras")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)).save(
        d / "x.png"
    )
    return {p.stem: p for p in d.iterdir()}


def _explain(files, model: str, out: Path, *extra: str) -> int:
    return main(["explain", str(files["x"]), "--model", str(files[model]), "--out", str(out),
                 "--preprocess", "unit", "--dpi", "30", "--ig-steps", "4", *extra])  # fmt: skip


@pytest.mark.parametrize("model,pattern", [
    ("corrupt", "corrupt.h5: damaged or not a Keras"),
    ("truncated", "truncated.keras: damaged or not a Keras file"),
    ("text", "text.keras: damaged or not a Keras file"),
    ("vector", "vector.keras: input shape"),
    ("lambda", "refused in safe mode"),
])  # fmt: skip
def test_bad_model_files_exit_2_with_one_line(files, tmp_path, capsys, model, pattern):
    assert _explain(files, model, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and pattern in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_lambda_model_runs_with_trust_model(files, tmp_path):
    assert _explain(files, "lambda", tmp_path, "--trust-model", "--methods", "all") == 0
    assert (tmp_path / "x.npz").exists()


def test_model_without_feature_maps_skips_cam_with_a_note(files, tmp_path, capsys):
    assert _explain(files, "flat", tmp_path, "--methods", "all") == 0
    err = capsys.readouterr().err
    assert "gradcam skipped" in err and "4-D feature-map" in err
    assert "guided_backprop skipped" in err and "no ReLU" in err  # no ReLU in this model either
    record = json.loads((tmp_path / "x.json").read_text())
    assert set(record["methods"]) == {
        i.id for i in list_methods() if not i.needs_layer and not i.relu_rule
    }


def test_logits_model(files, tmp_path):
    assert _explain(files, "logits", tmp_path, "--methods", "gradcam,integrated_gradients") == 0
    record = json.loads((tmp_path / "x.json").read_text())
    assert abs(sum(p["probability"] for p in record["top_k"]) - 1.0) < 1e-5
