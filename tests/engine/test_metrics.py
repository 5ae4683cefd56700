"""Faithfulness metrics on hand-made cases: closed forms, a direct solve, the papers' findings."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from saliency_desktop.engine import evaluate, explain
from saliency_desktop.engine.metrics import auc, blurred, pixel_order
from saliency_desktop.engine.metrics_road import imputation_system, impute
from saliency_desktop.engine.similarity import rankdata, spearman, ssim
from saliency_desktop.engine.types import CancelledError, EngineError

REGION = (slice(2, 6), slice(2, 6))  # 16 of the 64 pixels of an 8x8 image
EPS = 1e-6


@pytest.fixture(scope="module")
def region_model(keras):
    """P(class 0) = mean of the input over REGION (inputs in [0, 1]): logits log(m), log(1-m)."""
    from saliency_desktop.engine.models import from_keras

    def logits(x):
        m = keras.ops.mean(x[:, 2:6, 2:6, 0], axis=(1, 2))[:, None]
        return keras.ops.concatenate([keras.ops.log(m + EPS), keras.ops.log(1 - m + EPS)], 1)

    inp = keras.Input((8, 8, 1))
    out = keras.layers.Lambda(logits, output_shape=(2,), name="region_mean")(inp)
    return from_keras(keras.Model(inp, out), preprocessing="unit", labels=["region", "rest"])


def _explanation(model, image, saliency):
    """An explanation of class 0 whose only 'method' has the given map."""
    e = explain(model, image, methods=["vanilla_gradients"], target=0)
    result = e.methods["vanilla_gradients"]
    fake = type(result)(**{**result.__dict__, "map": np.asarray(saliency, np.float32)})
    return type(e)(**{**e.__dict__, "methods": {"vanilla_gradients": fake}})


def _curve(model, image, saliency, metric):
    ev = evaluate(model, image, _explanation(model, image, saliency), metrics=[metric])
    return ev.results["vanilla_gradients"][metric]


def test_deletion_auc_of_the_exact_region_map_in_closed_form(region_model):
    white = np.full((8, 8, 1), 255, np.uint8)
    exact = np.zeros((8, 8))
    exact[REGION] = 1.0
    best = _curve(region_model, white, exact, "deletion")
    # one pixel per step (ceil(64/100)); the region goes first: P falls linearly 1 -> 0 over 16
    # steps and stays 0: AUC = (16 * 1/2) / 100
    assert best.scores["deletion_auc"] == pytest.approx(0.08, abs=1e-4)
    np.testing.assert_allclose(best.curves["deletion"].y[:17], 1 - np.arange(17) / 16, atol=1e-5)
    reversed_ = _curve(region_model, white, 1.0 - exact, "deletion")
    # the region goes last (pixels 48..63): P = 1 for 48 steps, then falls over 16
    assert reversed_.scores["deletion_auc"] == pytest.approx((48 + 8) / 100, abs=1e-4)


def test_constant_map_deletes_and_inserts_in_raster_order(region_model):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (8, 8, 1), dtype=np.uint8)
    x = image[..., 0] / 255.0
    blur = blurred(image)[..., 0] / 255.0
    inside = np.zeros((8, 8), bool)
    inside[REGION] = True
    deletion = _curve(region_model, image, np.zeros((8, 8)), "deletion").curves["deletion"].y
    insertion = _curve(region_model, image, np.ones((8, 8)), "insertion").curves["insertion"].y
    index = np.arange(64).reshape(8, 8)  # a constant map keeps the raster order (stable sort)
    for i in range(101):
        changed = index < min(i, 64)
        want_del = np.where(changed, 0.0, x)[inside].mean()
        want_ins = np.where(changed, x, blur)[inside].mean()
        assert deletion[i] == pytest.approx(want_del, abs=1e-5)
        assert insertion[i] == pytest.approx(want_ins, abs=1e-5)
    assert deletion[-1] == pytest.approx(0.0, abs=1e-5)  # all black
    assert insertion[0] == pytest.approx(blur[inside].mean(), abs=1e-5)


def test_auc_is_the_trapezoid_mean_and_order_is_stable_descending():
    assert auc(np.array([1.0, 0.0])) == 0.5
    assert auc(np.linspace(1, 0, 101)) == pytest.approx(0.5)
    rank = pixel_order(np.array([[0.5, 2.0], [0.5, -1.0]]))
    np.testing.assert_array_equal(rank, [[1, 0], [2, 3]])  # ties keep raster order


def _dense_imputation(img, keep):
    """The same equations, written one pixel at a time and solved densely."""
    h, w, c = img.shape
    removed = [(r, q) for r in range(h) for q in range(w) if not keep[r, q]]
    index = {p: i for i, p in enumerate(removed)}
    a = np.zeros((len(removed), len(removed)))
    b = np.zeros((len(removed), c))
    weights = {(dr, dq): (1 / 6 if dr == 0 or dq == 0 else 1 / 12)
               for dr in (-1, 0, 1) for dq in (-1, 0, 1) if (dr, dq) != (0, 0)}  # fmt: skip
    for (r, q), i in index.items():
        for (dr, dq), wt in weights.items():
            rr, qq = r + dr, q + dq
            if 0 <= rr < h and 0 <= qq < w:
                a[i, i] += wt
                if keep[rr, qq]:
                    b[i] += wt * img[rr, qq]
                else:
                    a[i, index[(rr, qq)]] -= wt
    out = img.astype(np.float64).copy()
    for (r, q), v in zip(removed, np.linalg.solve(a, b), strict=True):
        out[r, q] = v
    return out


def test_road_imputation_matches_a_direct_solve():
    rng = np.random.default_rng(3)
    img = rng.random((6, 7, 3))
    keep = rng.random((6, 7)) > 0.6
    keep[0, 0] = keep[5, 6] = True
    want = _dense_imputation(img, keep)
    np.testing.assert_allclose(impute(img, keep), want, atol=1e-10)
    np.testing.assert_array_equal(impute(img, keep)[keep], img[keep])  # kept pixels untouched
    # the conjugate-gradient fallback (no SciPy) solves the same system
    from saliency_desktop.engine.metrics_road import _conjugate_gradients

    (rows, cols, data, n), b, removed = imputation_system(keep, img)
    x = _conjugate_gradients(rows, cols, data, n, b)
    np.testing.assert_allclose(x, want.reshape(-1, 3)[removed], atol=1e-8)


def test_road_noise_is_seeded_and_small():
    img = np.random.default_rng(0).random((6, 6, 3))
    keep = np.ones((6, 6), bool)
    keep[2:4, 2:4] = False
    a = impute(img, keep, 0.01, np.random.default_rng(5))
    b = impute(img, keep, 0.01, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert 0 < np.abs(a - impute(img, keep)).max() < 0.06


def test_spearman_and_ssim_match_the_references():
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(2)
    a = rng.random((40, 40))
    b = a + 0.3 * rng.random((40, 40))
    b[:5] = 0.5  # ties
    np.testing.assert_allclose(rankdata(b), __import__("scipy").stats.rankdata(b.ravel()))
    assert spearman(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0], abs=1e-12)
    want = structural_similarity(
        a / a.max(), b / b.max(), data_range=1.0, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False,
    )  # fmt: skip
    assert ssim(a, b) == pytest.approx(want, abs=1e-4)
    assert spearman(a, np.zeros_like(a)) == 0.0  # a constant map has no ranking


def test_bad_metric_and_cancel_are_one_clear_error(tiny_model, tiny_image):
    e = explain(tiny_model, tiny_image, methods=["gradcam"])
    with pytest.raises(EngineError, match="Unknown metric nope; the metrics are: deletion"):
        evaluate(tiny_model, tiny_image, e, metrics=["nope"])
    with pytest.raises(EngineError, match="no map for gradient"):
        evaluate(tiny_model, tiny_image, e, methods=["gradient"])
    seen: list[float] = []
    evaluate(tiny_model, tiny_image, e, metrics=["deletion", "insertion", "road"],
             progress=lambda f, m: seen.append(f))  # fmt: skip
    assert all(b >= a - 1e-12 for a, b in zip(seen, seen[1:], strict=False))  # monotonic
    assert seen[-1] == 1.0 and len(seen) > 3
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        evaluate(tiny_model, tiny_image, e, metrics="all", cancel=cancel)


def test_randomization_leaves_the_users_model_bit_identical(tiny_model, tiny_image):
    before = [w.copy() for w in tiny_model.keras_model.get_weights()]
    e = explain(tiny_model, tiny_image, methods=["guided_backprop", "gradcam"], target=1)
    seen: list[float] = []
    ev = evaluate(tiny_model, tiny_image, e, metrics=["randomization", "random_logit"],
                  randomization_steps=3, progress=lambda f, m: seen.append(f))  # fmt: skip
    for b, a in zip(before, tiny_model.keras_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    again = explain(tiny_model, tiny_image, methods=["guided_backprop", "gradcam"], target=1)
    for mid in e.methods:
        np.testing.assert_array_equal(e.methods[mid].map, again.methods[mid].map)
    r = ev.results["gradcam"]["randomization"]
    assert r.curves["spearman"].y[0] == pytest.approx(1.0)  # step 0 is the original map
    assert len(r.curves["spearman"].y) == len(r.extras["layers"]) == 4  # original + 3 steps
    assert r.extras["maps"].shape == (4, 8, 8)
    assert r.extras["layers"][1] == "dense" and r.extras["layers"][-1] == "conv1"
    assert all(b >= a - 1e-12 for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1] == 1.0
    other = ev.results["gradcam"]["random_logit"].extras["other_class"]
    assert other != 1 and 0 <= other < 4


def test_randomization_reuses_compiled_passes(tiny_model, tiny_image):
    """The copy is cloned once per model and its passes traced once: a second run (another
    image) assigns the model's weights back and re-initialises them, which retraces nothing,
    and gives what a fresh copy gives."""
    from saliency_desktop.engine import randomization as rnd

    def run(image):
        e = explain(tiny_model, image, methods=["vanilla_gradients"], target=1)
        ev = evaluate(tiny_model, image, e, metrics=["randomization"], randomization_steps=4)
        return ev.results["vanilla_gradients"]["randomization"]

    other = np.ascontiguousarray(tiny_image[::-1])
    rnd._COPIES.pop(tiny_model, None)
    run(tiny_image)
    copy = rnd._COPIES[tiny_model]
    second = run(other)
    assert rnd._COPIES[tiny_model] is copy  # cloned once
    fns = copy.runtime._fns
    assert fns and all(fn.experimental_get_tracing_count() == 1 for fn in fns.values())
    assert second.extras["seconds"] > 0
    rnd._COPIES.pop(tiny_model)  # a fresh copy: the same curve, so the weights were reset
    fresh = run(other)
    np.testing.assert_allclose(second.extras["maps"], fresh.extras["maps"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(second.curves["spearman"].y, fresh.curves["spearman"].y, atol=1e-6)


def test_guided_backprop_survives_randomisation_better_than_gradcam(dog_model, sample_photo):
    """Adebayo et al. 2018, fig. 2: Guided Backprop stays similar to the original map while the
    model is randomised from the top; Grad-CAM does not. Mean similarity over the cascade."""
    e = explain(dog_model, sample_photo, methods=["guided_backprop", "gradcam"])
    ev = evaluate(dog_model, sample_photo, e, metrics=["randomization"], randomization_steps=6)
    gbp = ev.results["guided_backprop"]["randomization"].curves["spearman"].y[1:]
    cam = ev.results["gradcam"]["randomization"].curves["spearman"].y[1:]
    assert gbp.mean() > cam.mean() + 0.3
    assert (gbp[:-1] > cam[:-1]).all()  # at every step before the first layer goes
