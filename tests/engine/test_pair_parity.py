"""Agreement with PAIR saliency (`pip install saliency`) on small random CNNs: Blur IG, Guided IG,
XRAI given the same base attribution, and the segmentation beneath XRAI."""

from __future__ import annotations

import types

import numpy as np
import pytest

from saliency_desktop.engine import explain
from saliency_desktop.engine.models import from_keras

saliency_core = pytest.importorskip("saliency.core", reason="PAIR saliency is not installed")


def _call_model(model, target):
    fn = model.runtime.batch("logit")

    def call_model_function(batch, call_model_args=None, expected_keys=None):
        _, g = fn(np.asarray(batch, np.float32), np.int32(target))
        return {saliency_core.base.INPUT_OUTPUT_GRADIENTS: np.asarray(g)}

    return call_model_function


def test_blur_ig_matches_pair(tiny_model, tiny_image):
    res = explain(
        tiny_model, tiny_image, methods=["blur_ig"], target=2, params={"blur_ig": {"steps": 20}}
    )
    x = tiny_model.prepare(tiny_image)[1].astype(np.float64)
    pair = saliency_core.BlurIG().GetMask(
        x, _call_model(tiny_model, 2), max_sigma=50, steps=20, grad_step=0.01, batch_size=7
    )
    np.testing.assert_allclose(res.methods["blur_ig"].attributions, pair, rtol=1e-4, atol=1e-6)


def test_guided_ig_matches_pair(tiny_model, tiny_image, monkeypatch):
    from saliency.core import guided_ig as pair_guided

    # PAIR calls np.quantile(interpolation=...), which numpy 2 renamed to method=
    shim = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np) if not k.startswith("__")})
    shim.quantile = lambda a, q, interpolation="linear": np.quantile(a, q, method=interpolation)
    monkeypatch.setattr(pair_guided, "np", shim)
    res = explain(
        tiny_model,
        tiny_image,
        methods=["guided_ig"],
        target=1,
        params={"guided_ig": {"x_steps": 30}},
    )
    x = tiny_model.prepare(tiny_image)[1].astype(np.float64)
    pair = saliency_core.GuidedIG().GetMask(
        x, _call_model(tiny_model, 1), x_baseline=np.zeros_like(x), x_steps=30,
        fraction=0.25, max_dist=0.02,
    )  # fmt: skip
    np.testing.assert_allclose(res.methods["guided_ig"].attributions, pair, rtol=1e-4, atol=1e-6)
    assert res.methods["guided_ig"].extras["relative_delta"] is not None


def test_felzenszwalb_matches_scikit_image():
    from skimage.segmentation import felzenszwalb as sk_felzenszwalb

    from saliency_desktop.engine.methods._segments import felzenszwalb

    rng = np.random.default_rng(4)
    image = np.kron(rng.uniform(-1, 1, (12, 12, 3)), np.ones((8, 8, 1)))  # blocks of colour
    image = image + rng.normal(0, 0.05, image.shape)
    for scale in (50, 250, 1200):
        ours = felzenszwalb(image, scale)
        theirs = sk_felzenszwalb(image, scale=scale, sigma=0.8, min_size=150)
        np.testing.assert_array_equal(ours, theirs)


def test_xrai_ranking_matches_pair_on_the_same_masks():
    from saliency_desktop.engine.methods.xrai import xrai_full

    rng = np.random.default_rng(2)
    attr = rng.normal(size=(40, 40)).astype(np.float32)
    masks = [rng.uniform(size=(40, 40)) < p for p in rng.uniform(0.02, 0.3, 60)]
    for threshold, diff in ((1.0, 50), (0.3, 10)):
        ours = xrai_full(attr, masks, threshold, diff)
        theirs, _ = saliency_core.XRAI._xrai(attr, masks, area_perc_th=threshold,
                                              min_pixel_diff=diff)  # fmt: skip
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_xrai_matches_pair_given_the_same_base_attribution(keras):
    """A random CNN on 224 x 224 (PAIR's segmentation size, so neither side resizes)."""
    keras.utils.set_random_seed(7)
    inp = keras.Input((224, 224, 3))
    h = keras.layers.Conv2D(4, 5, strides=4, activation="relu")(inp)
    out = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(h))
    model = from_keras(keras.Model(inp, out), preprocessing="unit")
    y, x = np.mgrid[0:224, 0:224]
    image = np.stack([(x // 56) * 60, (y // 75) * 100, ((x + y) // 90) * 40], -1).astype(np.uint8)
    image = np.clip(image + np.random.default_rng(0).integers(0, 20, image.shape), 0, 255)
    res = explain(model, image.astype(np.uint8), methods=["integrated_gradients", "xrai"],
                  params={"integrated_gradients": {"n_steps": 16}})  # fmt: skip
    xin = model.prepare(image.astype(np.uint8))[1]
    base = _xrai_base(model, image.astype(np.uint8))
    pair = saliency_core.XRAI().GetMask(xin.astype(np.float64), None, base_attribution=base)
    np.testing.assert_allclose(res.methods["xrai"].map, pair, rtol=1e-5, atol=1e-7)


def _xrai_base(model, image):
    """The base attribution XRAI uses: mean of IG from the black and white baselines."""
    maps = []
    for baseline in ("black", "white"):
        r = explain(model, image, methods=["integrated_gradients"], baseline=baseline)
        maps.append(r.methods["integrated_gradients"].attributions)
    return np.mean(maps, axis=0)
