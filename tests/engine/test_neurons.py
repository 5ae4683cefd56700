"""Neurons: a layer's top channels, their maps, the layer strip, and no second pass."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import explain
from saliency_desktop.engine.neurons import layer_activations, layer_summaries
from saliency_desktop.engine.types import EngineError


@pytest.fixture(scope="module")
def toy(keras):
    """1x1 conv: channel 0 = R, 1 = G, 2 = 2 B, 3 = ReLU(-1) = 0; GAP; Dense with set weights."""
    from saliency_desktop.engine.models import from_keras

    inp = keras.Input((8, 8, 3))
    feat = keras.layers.Conv2D(4, 1, activation="relu", name="feat")(inp)
    gap = keras.layers.GlobalAveragePooling2D()(feat)
    out = keras.layers.Dense(2, name="head")(gap)
    model = keras.Model(inp, out)
    kernel = np.zeros((1, 1, 3, 4), np.float32)
    kernel[0, 0, 0, 0], kernel[0, 0, 1, 1], kernel[0, 0, 2, 2] = 1.0, 1.0, 2.0
    model.get_layer("feat").set_weights([kernel, np.array([0, 0, 0, -1], np.float32)])
    dense = np.zeros((4, 2), np.float32)
    dense[:, 0] = [1.0, 0.0, 0.1, 0.0]  # class 0 leans on the red channel
    dense[:, 1] = [0.0, 0.0, 1.0, 0.0]
    model.get_layer("head").set_weights([dense, np.zeros(2, np.float32)])
    return from_keras(model, preprocessing="unit", labels=["red", "blue"])


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    img = np.zeros((8, 8, 3), np.uint8)
    img[..., 0] = 51  # a faint red everywhere (0.2)
    img[:4, :4, 2] = 255  # channel 2 fires on the top-left quadrant only
    return img


def _count_passes(model, monkeypatch) -> list[str]:
    calls: list[str] = []
    single, capture = model.runtime.single, model.runtime.capture

    def spy_single(rule, layer, score, with_grad):
        fn = single(rule, layer, score, with_grad)
        return lambda x, t: (calls.append("single"), fn(x, t))[1]

    def spy_capture(layers):
        fn = capture(layers)
        return lambda x: (calls.append("capture"), fn(x))[1]

    monkeypatch.setattr(model.runtime, "single", spy_single)
    monkeypatch.setattr(model.runtime, "capture", spy_capture)
    return calls


def test_top_channel_and_its_map_are_exact(toy, image):
    res = layer_activations(toy, image, "feat", top=4)
    assert res.layer == "feat" and res.shape == (8, 8, 4) and res.rank == "mean"
    assert res.indices.tolist() == [2, 0, 1, 3]  # 2*16/64 = 0.5, 0.2, then the ties in order
    np.testing.assert_allclose(res.values, [0.5, 0.2, 0.0, 0.0], atol=1e-6)
    expected = np.zeros((8, 8), np.float32)
    expected[:4, :4] = 2.0
    np.testing.assert_allclose(res.maps[0], expected, atol=1e-6)
    np.testing.assert_allclose(res.maps[1], np.full((8, 8), 0.2), atol=1e-6)
    s = res.summary
    assert s.active_fraction == pytest.approx((64 + 16) / 256)
    assert s.max == pytest.approx(2.0) and s.mean == pytest.approx((0.2 * 64 + 32) / 256)


def test_contribution_ranks_by_gradcam_weight_times_mean(toy, image):
    # S_0 = sum_k W_k0 mean(A^k): alpha_k = W_k0 / 1 (GAP's 1/Z cancels Grad-CAM's mean)...
    res = layer_activations(toy, image, "feat", top=2, rank="contribution", target="red")
    assert res.target == 0 and res.indices.tolist() == [0, 2]
    np.testing.assert_allclose(res.values, [1.0 / 64 * 0.2, 0.1 / 64 * 0.5], rtol=1e-5)
    blue = layer_activations(toy, image, "feat", top=1, rank="contribution", target=1)
    assert blue.indices.tolist() == [2]


def test_no_second_pass_after_explain(toy, image, monkeypatch):
    shifted = np.roll(image, 1, axis=1)  # an input no earlier test has cached
    res = explain(toy, shifted, methods=["gradcam"], target=1)
    calls = _count_passes(toy, monkeypatch)
    mean = layer_activations(toy, shifted, res.layer, rank="mean")
    contribution = layer_activations(toy, shifted, res.layer, rank="contribution", target=1)
    auto = layer_activations(toy, shifted, res.layer, rank="contribution")  # top-1 is class 1
    assert calls == []
    assert mean.indices[0] == 2 and contribution.indices[0] == 2 and auto.target == 1


def test_summaries_take_one_forward_pass_then_none(tiny_model, tiny_image, monkeypatch):
    fresh = tiny_image[::-1].copy()
    calls = _count_passes(tiny_model, monkeypatch)
    strip = layer_summaries(tiny_model, fresh)
    assert [s.layer for s in strip] == [info.path for info in tiny_model.info.layers]
    assert all(0.0 <= s.active_fraction <= 1.0 and s.max >= s.mean for s in strip)
    for info in tiny_model.info.layers:
        layer_activations(tiny_model, fresh, info.path, top=3)
    assert calls == ["capture"]


def test_bad_arguments_are_one_clear_error(toy, image):
    with pytest.raises(EngineError, match="rank must be"):
        layer_activations(toy, image, "feat", rank="max")
    with pytest.raises(EngineError, match="not an eligible"):
        layer_activations(toy, image, "head")
    with pytest.raises(EngineError, match="top must be"):
        layer_activations(toy, image, "feat", top=0)
