"""The two embedded models: a nested MobileNetV2 base, and a grayscale mini-Xception."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import EngineError, explain, list_methods, method_ids
from saliency_desktop.engine.catalogue import read_labels
from tests.few_samples import FEW


def test_dog_breeds_is_nested_and_finds_out_relu(dog_model):
    info = dog_model.info
    assert info.input_size == (160, 160) and info.channels == 3
    assert info.preprocessing == "mobilenet" and info.final_activation == "softmax"
    assert info.default_layer == "mobilenetv2_1.00_160/out_relu"
    assert info.labels[0] == "Chihuahua" and info.labels[-1] == "miniature_poodle"
    assert len(info.labels) == 19 and not info.unavailable
    assert len(info.sha256) == 64
    paths = [layer.path for layer in info.layers]
    assert "mobilenetv2_1.00_160/block_16_project_BN" in paths
    assert all(layer.shape[0] * layer.shape[1] > 1 for layer in info.layers)


CAMS = [i.id for i in list_methods() if i.has_cam]


def test_dog_breeds_all_methods(dog_every_method):
    """Every method on the nested MobileNetV2 but Score-CAM (1,280 forward passes here; Faster
    Score-CAM runs its code): the session's run (tests/conftest.py), which the command line's
    test compares its files with. The run of the CAM variants on a nested model, too."""
    res = dog_every_method
    ids = [m for m in method_ids() if m != "scorecam"]
    assert list(res.methods) == ids  # every method asked for, in the registry's order
    assert res.layer == "mobilenetv2_1.00_160/out_relu"
    for m in res.methods.values():
        assert m.map.shape == (160, 160) and np.isfinite(m.map).all()
        assert float(np.abs(m.map).max()) > 0, m.method
        if m.method in CAMS:
            assert m.cam.shape == (5, 5) and float(m.map.max()) > 0, m.method
    assert res.methods["ablationcam"].extras["head_only"] is True
    assert res.image.shape == (300, 451, 3)  # the original photo, not the model input
    assert res.input.shape == (160, 160, 3) and -1.0 <= res.input.min() <= res.input.max() <= 1.0
    assert len(res.top_k) == 5 and res.top_k[0].index == res.target


def test_dog_breeds_nested_layer_by_path_and_short_name(dog_model, sample_photo):
    a = explain(dog_model, sample_photo, methods=["gradcam"], layer="block_13_expand_relu")
    assert a.layer == "mobilenetv2_1.00_160/block_13_expand_relu"
    assert a.methods["gradcam"].cam.shape == (10, 10)
    with pytest.raises(EngineError, match="not an eligible CAM layer"):
        explain(dog_model, sample_photo, methods=["gradcam"], layer="dense")


def test_dog_breeds_score_is_the_pre_softmax_logit(dog_model, sample_photo):
    import keras

    res = explain(dog_model, sample_photo, methods=["integrated_gradients"], n_steps=4)
    km = dog_model.keras_model
    features = keras.Model(km.inputs, km.get_layer("dropout").output)([res.input[None]]).numpy()
    kernel, bias = km.get_layer("dense").get_weights()
    logits = features[0] @ kernel + bias
    probs = km(res.input[None], training=False).numpy()[0]
    assert res.methods["integrated_gradients"].extras["score"] == pytest.approx(
        float(logits[res.target]), rel=1e-4, abs=1e-4
    )
    assert res.top_k[0].probability == pytest.approx(float(probs.max()), rel=1e-5)


def test_emotions_grayscale(emotion_model, sample_photo):
    info = emotion_model.info
    assert info.input_size == (64, 64) and info.channels == 1
    assert info.labels == read_labels("emotions.txt") and info.labels[3] == "happy"
    res = explain(emotion_model, sample_photo, methods="all", n_steps=8, params=FEW)
    assert res.input.shape == (64, 64, 1)
    assert list(res.methods) == method_ids()
    layer = next(i.shape for i in info.layers if i.path == res.layer)
    for m in res.methods.values():
        assert m.map.shape == (64, 64)
        if m.attributions is not None:
            assert m.attributions.shape == (64, 64, 1)
        if m.method in CAMS:  # the CAM variants on a grayscale model
            assert m.cam.shape == layer[:2] and np.isfinite(m.map).all(), m.method
            assert (m.map >= 0).all(), m.method
    raw = emotion_model.prepare(res.image)[0]
    np.testing.assert_allclose(res.input, (raw / 255.0 - 0.5) * 2, atol=1e-6)  # fer's scaling


def test_target_by_label_ignores_case_and_underscores(dog_model):
    assert dog_model.class_index("Golden Retriever") == 6
    assert dog_model.class_index("german_shepherd") == 9
    assert dog_model.class_index("3") == 3
    with pytest.raises(EngineError, match="Unknown class"):
        dog_model.class_index("tabby cat")
