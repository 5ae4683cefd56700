"""User model files: .keras, .h5, SavedModel, labels, preprocessing, safe mode, bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from saliency_desktop.engine import (
    PREPROCESSING,
    ModelError,
    explain,
    get_method,
    list_methods,
    load_model,
)
from tests.engine.tiny_model import tiny_cnn


@pytest.fixture(scope="module")
def model_files(tmp_path_factory, keras):
    d = tmp_path_factory.mktemp("models")
    m = tiny_cnn(keras, seed=4)
    m.save(d / "tiny.keras")
    m.save(d / "tiny.h5")
    (d / "labels.txt").write_text("cat\ndog\nfox\nowl\n", encoding="utf-8")
    inp = keras.Input((8, 8, 3))
    lam = keras.layers.Lambda(lambda t: t * 2.0)(inp)
    out = keras.layers.Dense(2)(keras.layers.Flatten()(lam))
    keras.Model(inp, out).save(d / "lambda.keras")
    keras.Model(inp, out).save(d / "lambda.h5")
    return d, m


@pytest.mark.parametrize("name", ["tiny.keras", "tiny.h5"])
def test_model_file_with_labels(model_files, tiny_image, name):
    d, source = model_files
    model = load_model(d / name, preprocessing="unit", labels=d / "labels.txt")
    assert model.info.labels == ("cat", "dog", "fox", "owl")
    assert model.info.final_activation == "softmax" and len(model.info.sha256) == 64
    res = explain(model, tiny_image, methods="all", target="fox", n_steps=4)
    assert res.target_label == "fox" and len(res.methods) == len(list_methods())
    expected = source(tiny_image[None] / 255.0, training=False).numpy()[0]
    assert res.top_k[0].probability == pytest.approx(float(expected.max()), rel=1e-5)


def test_savedmodel_folder_gradients_only(model_files, tiny_image, tmp_path):
    d, source = model_files
    source.export(tmp_path / "saved")
    model = load_model(tmp_path / "saved", preprocessing="unit")
    # no layers to look into: the CAM and ReLU-rule methods say why instead of failing
    assert "gradcam" in model.info.unavailable and "guided_backprop" in model.info.unavailable
    res = explain(model, tiny_image, methods="all", n_steps=4)
    assert set(res.methods) == {
        i.id for i in list_methods() if not i.needs_layer and not i.relu_rule
    }  # the gradient, path and perturbation methods that need no layer or ReLU
    expected = source(tiny_image[None] / 255.0, training=False).numpy()[0]
    assert res.top_k[0].probability == pytest.approx(float(expected.max()), rel=1e-5)


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_lambda_model_refused_in_safe_mode(model_files, tiny_image, name):
    d, _ = model_files
    with pytest.raises(ModelError, match="safe mode") as info:
        load_model(d / name)
    assert "trust" in str(info.value) and "run Python code" in str(info.value)
    model = load_model(d / name, trust_model=True, preprocessing="unit")
    res = explain(model, tiny_image, methods=["vanilla_gradients"])
    assert res.methods["vanilla_gradients"].map.shape == (8, 8)


@pytest.mark.parametrize(
    "content,name",
    [
        (b"", "empty.keras"),
        (b"not a zip at all", "junk.keras"),
        (b"\x89HDF\r\n\x1a\n" + b"0" * 64, "truncated.h5"),
        (b"hello", "notes.txt"),
    ],
)
def test_bad_model_files_give_one_clear_line(tmp_path, content, name):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert name in str(info.value) and "\n" not in str(info.value)


def test_missing_model_and_bad_labels(tmp_path, model_files):
    with pytest.raises(ModelError, match="no such model file"):
        load_model(tmp_path / "nope.keras")
    d, _ = model_files
    (tmp_path / "two.txt").write_text("a\nb\n")
    with pytest.raises(ModelError, match="2 names but the model has 4 classes"):
        load_model(d / "tiny.keras", labels=tmp_path / "two.txt")


def test_non_image_and_multi_io_models(tmp_path, keras):
    inp = keras.Input((10,))
    keras.Model(inp, keras.layers.Dense(2)(inp)).save(tmp_path / "vector.keras")
    with pytest.raises(ModelError, match="not an image"):
        load_model(tmp_path / "vector.keras")
    img = keras.Input((8, 8, 3))
    flat = keras.layers.Flatten()(img)
    keras.Model(img, [keras.layers.Dense(2)(flat), keras.layers.Dense(3)(flat)]).save(
        tmp_path / "two_out.keras"
    )
    with pytest.raises(ModelError, match="2 outputs"):
        load_model(tmp_path / "two_out.keras")
    model = load_model(tmp_path / "two_out.keras", output_index=1)
    assert model.n_classes == 3
    res = explain(model, np.zeros((8, 8, 3), np.uint8), methods=["vanilla_gradients"])
    assert len(res.top_k) == 3


@pytest.mark.parametrize(
    "name,black,white",
    [
        ("mobilenet", -1.0, 1.0),
        ("unit", 0.0, 1.0),
        ("raw", 0.0, 255.0),
    ],
)
def test_preprocessing_ranges(name, black, white):
    fn = PREPROCESSING[name]
    assert np.allclose(fn(np.zeros((1, 1, 3), np.float32)), black)
    assert np.allclose(fn(np.full((1, 1, 3), 255.0, np.float32)), white)


def test_caffe_and_torch_preprocessing():
    px = np.array([[[10.0, 20.0, 30.0]]], np.float32)
    np.testing.assert_allclose(
        PREPROCESSING["caffe"](px)[0, 0], [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-6
    )
    np.testing.assert_allclose(
        PREPROCESSING["torch"](px)[0, 0],
        (px[0, 0] / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225],
        rtol=1e-5,
    )


def test_model_without_feature_maps_disables_cam_with_reason(keras, tiny_image):
    from saliency_desktop.engine import EngineError
    from saliency_desktop.engine.models import from_keras

    inp = keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(inp)
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Dense(5, activation="relu")(x))
    model = from_keras(keras.Model(inp, out), preprocessing="unit")
    for mid in ("gradcam", "gradcam_plus_plus", "guided_gradcam"):
        assert "4-D feature-map" in model.info.unavailable[mid]
    res = explain(model, tiny_image, methods="all", n_steps=4, params={"rise": {"n_masks": 8}})
    assert set(res.methods) >= {
        "vanilla_gradients",
        "deconvnet",
        "guided_backprop",
        "integrated_gradients",
    }
    assert not any(get_method(m).info.needs_layer for m in res.methods)
    with pytest.raises(EngineError, match="not available for this model"):
        explain(model, tiny_image, methods=["gradcam"])


def test_logit_output_model(keras, tiny_image):
    """No softmax at the end: S is the output itself; top-k shows the softmax of the outputs."""
    from saliency_desktop.engine.models import from_keras
    from tests.engine.tiny_model import tiny_cnn

    km = tiny_cnn(keras, seed=7, final="linear")
    model = from_keras(km, preprocessing="unit")
    assert model.info.final_activation == "linear"
    res = explain(model, tiny_image, methods=["integrated_gradients"], n_steps=4)
    out = km(tiny_image[None] / 255.0, training=False).numpy()[0]
    assert res.target == int(out.argmax())
    assert res.methods["integrated_gradients"].extras["score"] == pytest.approx(
        float(out.max()), rel=1e-5
    )
    softmax = np.exp(out - out.max()) / np.exp(out - out.max()).sum()
    assert res.top_k[0].probability == pytest.approx(float(softmax.max()), rel=1e-5)


def test_damaged_containers_are_named_plainly(tmp_path):
    (tmp_path / "half.keras").write_bytes(b"PK\x03\x04" + b"\0" * 20)
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(ModelError, match=r"half\.keras: damaged or not a Keras file"):
        load_model(tmp_path / "half.keras")
    with pytest.raises(ModelError, match=r"text\.h5: damaged or not a Keras file \(not an HDF5"):
        load_model(tmp_path / "text.h5")


def test_cli_output_index_for_multi_output_models(tmp_path, keras, capsys):
    from saliency_desktop.cli import main

    img = keras.Input((8, 8, 3))
    flat = keras.layers.Flatten()(img)
    keras.Model(img, [keras.layers.Dense(2)(flat), keras.layers.Dense(3)(flat)]).save(
        tmp_path / "two_out.keras"
    )
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (8, 8), (9, 99, 199)).save(image)
    args = [
        "explain",
        str(image),
        "--model",
        str(tmp_path / "two_out.keras"),
        "--out",
        str(tmp_path / "out"),
        "--methods",
        "vanilla_gradients",
        "--dpi",
        "40",
    ]
    assert main(args) == 2
    assert "--output-index" in capsys.readouterr().err
    assert main([*args, "--output-index", "1"]) == 0
    assert len(json.loads((tmp_path / "out" / "x.json").read_text())["top_k"]) == 3
