"""Occlusion, RISE, Score-CAM and Ablation-CAM against closed forms and direct computations
with model calls; progress, cancel and reproducibility."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from saliency_desktop.engine import CancelledError, explain
from saliency_desktop.engine.methods.occlusion import window_starts
from saliency_desktop.engine.methods.rise import RiseMasks
from saliency_desktop.engine.methods.scorecam import faster_channel_count
from saliency_desktop.engine.models import from_keras


def test_window_starts_cover_every_pixel():
    assert window_starts(12, 4, 3) == [0, 3, 6, 8]
    assert window_starts(160, 16, 8)[-1] == 144 and len(window_starts(160, 16, 8)) == 19
    assert window_starts(8, 16, 8) == [0]  # a window larger than the image is the image


@pytest.mark.parametrize("fill,value", [("black", 0.0), ("white", 1.0)])
def test_occlusion_of_a_linear_model_is_weights_times_the_change(keras, fill, value):
    rng = np.random.default_rng(3)
    inp = keras.Input((12, 12, 3))
    out = keras.layers.Dense(3)(keras.layers.Flatten()(inp))
    net = keras.Model(inp, out)
    w, b = rng.normal(size=(432, 3)), rng.normal(size=3)
    net.layers[-1].set_weights([w, b])
    model = from_keras(net, preprocessing="unit")
    image = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    res = explain(
        model, image, methods=["occlusion"], target=2,
        params={"occlusion": {"window": 4, "stride": 3, "fill": fill}},
    )  # fmt: skip
    x = image.astype(np.float64) / 255.0
    contribution = w[:, 2].reshape(12, 12, 3) * (x - value)  # S(x) - S(x filled), per element
    starts = [0, 3, 6, 8]
    expected = np.zeros((12, 12))
    for i in range(12):
        for j in range(12):
            drops = [
                contribution[t : t + 4, s : s + 4].sum()
                for t in starts
                for s in starts
                if t <= i < t + 4 and s <= j < s + 4
            ]
            expected[i, j] = np.mean(drops)
    np.testing.assert_allclose(res.methods["occlusion"].map, expected, rtol=1e-4, atol=1e-5)


def test_rise_with_all_ones_masks_is_the_probability_everywhere(tiny_model, tiny_image):
    res = explain(
        tiny_model, tiny_image, methods=["rise"], target=3,
        params={"rise": {"n_masks": 50, "p_keep": 1.0}},
    )  # fmt: skip
    p = next(p.probability for p in res.top_k if p.index == 3)
    np.testing.assert_allclose(res.methods["rise"].map, np.full((8, 8), p), rtol=1e-5)


def test_rise_matches_a_direct_computation(tiny_model, tiny_image):
    n, p = 40, 0.5
    res = explain(
        tiny_model, tiny_image, methods=["rise"], target=1,
        params={"rise": {"n_masks": n, "cells": 4, "seed": 7}},
    )  # fmt: skip
    masks = RiseMasks.draw(n, 4, p, (8, 8), 7).build(0, n)
    x = tiny_image.astype(np.float32) / 255.0  # black is 0 in [0, 1] preprocessing
    probs = tiny_model.keras_model.predict(masks[..., None] * x[None], verbose=0)[:, 1]
    expected = np.tensordot(probs, masks, axes=(0, 0)) / (n * p)
    np.testing.assert_allclose(res.methods["rise"].map, expected, rtol=1e-4)


def test_rise_masks_follow_the_paper():
    masks = RiseMasks.draw(20, 8, 0.5, (20, 30), seed=1)
    built = masks.build(0, 20)
    assert built.shape == (20, 20, 30) and 0.0 <= built.min() and built.max() <= 1.0
    assert (masks.shifts[:, 0] < 3).all() and (masks.shifts[:, 1] < 4).all()  # one cell
    np.testing.assert_array_equal(masks.build(5, 9), built[5:9])  # batch-independent


def test_rise_is_seeded(tiny_model, tiny_image, monkeypatch):
    def run(seed: int):
        params = {"rise": {"n_masks": 300, "seed": seed}}
        return explain(tiny_model, tiny_image, methods=["rise"], params=params).methods["rise"]

    first = run(1).map
    monkeypatch.setattr(tiny_model, "batch_size", 3)  # other batches, same masks
    np.testing.assert_allclose(run(1).map, first, rtol=1e-6)
    assert not np.allclose(run(2).map, first)


def _cancel_during(label: str):
    cancel = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        if message == label:
            cancel.set()

    return cancel, progress, seen


def test_cancel_in_the_middle_of_rise(tiny_model, tiny_image):
    cancel, progress, seen = _cancel_during("RISE")
    with pytest.raises(CancelledError):
        explain(tiny_model, tiny_image, methods=["rise"], progress=progress, cancel=cancel)
    assert seen.count("RISE") == 1  # stopped after the first batch of 4,000 masks


def test_cancel_in_the_middle_of_scorecam(tiny_model, tiny_image, monkeypatch):
    monkeypatch.setattr(tiny_model, "batch_size", 1)  # 8 channels: batches of 2
    cancel, progress, seen = _cancel_during("Score-CAM")
    with pytest.raises(CancelledError):
        explain(tiny_model, tiny_image, methods=["scorecam"], progress=progress, cancel=cancel)
    assert seen.count("Score-CAM") == 1
    monkeypatch.undo()
    explain(tiny_model, tiny_image, methods=["scorecam"])  # the next job still runs


def _activations(model, layer: str, x: np.ndarray) -> np.ndarray:
    import keras

    sub = keras.Model(model.input, model.get_layer(layer).output)
    return np.asarray(sub(x[None], training=False))[0].astype(np.float64)


def _scorecam_direct(net, x, acts, channels, target):
    """Score-CAM written out: each channel resized (OpenCV bilinear), min-max normalised,
    multiplying x; softmax of the scores; ReLU of the weighted sum."""
    import cv2

    masks = []
    for k in channels:
        m = cv2.resize(acts[..., k].astype(np.float32), (8, 8), interpolation=cv2.INTER_LINEAR)
        masks.append((m - m.min()) / (m.max() - m.min() + 1e-8))
    masked = x[None] * np.stack(masks)[..., None]
    s = np.asarray(net(masked, training=False))[:, target].astype(np.float64)
    w = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    return np.maximum(np.tensordot(acts[..., channels], w, axes=(-1, 0)), 0)


def test_scorecam_matches_a_direct_computation(tiny_model, tiny_image):
    net = tiny_model.keras_model
    res = explain(tiny_model, tiny_image, methods=["scorecam"], target=2, score="probability")
    x = tiny_model.prepare(tiny_image)[1]
    acts = _activations(net, "act3", x)
    expected = _scorecam_direct(net, x, acts, list(range(8)), 2)
    np.testing.assert_allclose(res.methods["scorecam"].cam, expected, rtol=1e-4, atol=1e-7)


def test_faster_scorecam_scores_the_most_varied_channels(tiny_model, tiny_image):
    assert [faster_channel_count(0, k) for k in (8, 1280, 2048)] == [1, 128, 128]
    assert faster_channel_count(300, 64) == 64
    net = tiny_model.keras_model
    x = tiny_model.prepare(tiny_image)[1]
    acts = _activations(net, "act3", x)
    top = sorted(np.argsort(-acts.reshape(16, 8).std(axis=0))[:3])
    params = {"faster_scorecam": {"n_channels": 3}}
    fast = explain(
        tiny_model, tiny_image, methods=["faster_scorecam"], target=0, score="probability",
        params=params,
    )  # fmt: skip
    m = fast.methods["faster_scorecam"]
    assert m.extras["channels"] == 3
    expected = _scorecam_direct(net, x, acts, top, 0)
    np.testing.assert_allclose(m.cam, expected, rtol=1e-4, atol=1e-7)


def _head(net, a: np.ndarray) -> np.ndarray:
    import keras

    y = net.get_layer("gap")(keras.ops.convert_to_tensor(a.astype(np.float32)))
    return np.asarray(net.get_layer("dense")(y))


def test_ablationcam_matches_a_direct_computation(tiny_model, tiny_image):
    net = tiny_model.keras_model
    res = explain(tiny_model, tiny_image, methods=["ablationcam"], target=1, score="probability")
    m = res.methods["ablationcam"]
    x = tiny_model.prepare(tiny_image)[1]
    acts = _activations(net, "act3", x)
    ablated = np.repeat(acts[None], 8, axis=0)
    for k in range(8):
        ablated[k, ..., k] = 0.0
    y = _head(net, ablated)[:, 1].astype(np.float64)
    s = float(np.asarray(net(x[None], training=False))[0, 1])
    w = (s - y) / s
    expected = np.maximum(np.tensordot(acts, w, axes=(-1, 0)), 0)
    np.testing.assert_allclose(m.cam, expected, rtol=1e-4, atol=1e-7)
    assert m.extras["head_only"] is True


def _skip_model(keras):
    """conv a -> conv b -> add(a, b) -> GAP -> Dense: `b` is crossed by a skip connection."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="a")(inp)
    b = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="b")(a)
    s = keras.layers.Add(name="add")([a, b])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(s)
    return keras.Model(inp, keras.layers.Dense(3, name="dense")(x))


def test_ablationcam_through_a_skip_connection(keras, tiny_image):
    net = _skip_model(keras)
    model = from_keras(net, preprocessing="unit")
    x = model.prepare(tiny_image)[1]
    crossed = explain(model, tiny_image, methods=["ablationcam"], target=0, layer="b")
    m = crossed.methods["ablationcam"]
    assert m.extras["head_only"] is False  # a full forward with A substituted
    a = _activations(net, "a", x)
    b = _activations(net, "b", x)
    dense = net.get_layer("dense").get_weights()
    s = (a + b).mean(axis=(0, 1)) @ dense[0][:, 0] + dense[1][0]
    y = np.array(
        [(a + b * (np.arange(4) != k)).mean(axis=(0, 1)) @ dense[0][:, 0] for k in range(4)]
    )
    w = (s - (y + dense[1][0])) / s
    expected = np.maximum(np.tensordot(b, w, axes=(-1, 0)), 0)
    np.testing.assert_allclose(m.cam, expected, rtol=1e-4, atol=1e-6)
    cut = explain(model, tiny_image, methods=["ablationcam"], target=0, layer="add")
    assert cut.methods["ablationcam"].extras["head_only"] is True


def test_head_pass_on_a_nested_model(dog_model, sample_photo):
    """A substituted into the nested MobileNetV2: unchanged A gives S(x); A = 0 gives the
    head's output for zero features (the dense layer's bias)."""
    from saliency_desktop.engine.images import load_image
    from saliency_desktop.engine.passes import PassCache
    from saliency_desktop.engine.types import JobControl

    raw, x = dog_model.prepare(load_image(sample_photo)[0])
    layer = dog_model.info.default_layer
    ctx = PassCache(dog_model, x, raw, 3, "logit", layer, {"ablationcam"})
    k = dog_model.info.layers[-1].shape[-1]

    def factors(value: float):
        return lambda start, stop: np.full((stop - start, 1, 1, k), value, np.float32)

    same, cut = ctx.head_scores(factors(1.0), 2, JobControl(), "test")
    assert cut and np.allclose(same, ctx.plain().score, rtol=1e-4)
    zero, _ = ctx.head_scores(factors(0.0), 1, JobControl(), "test")
    bias = dog_model.keras_model.get_layer("dense").get_weights()[1][3]
    np.testing.assert_allclose(zero, [bias], rtol=1e-5, atol=1e-6)
