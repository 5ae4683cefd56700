"""The on-device path pass (`Runtime.path`): IG's points, gradients and weighted sums made inside
one compiled program, checked against the per-point gradients of the batch pass."""

from __future__ import annotations

import numpy as np

from saliency_desktop.engine.backends import jax_backend


def test_path_pass_equals_weighted_per_point_gradients(tiny_model, tiny_image):
    raw, x = tiny_model.prepare(tiny_image)
    baseline = np.zeros_like(x)
    alphas = np.array([0.1, 0.5, 0.9, 0.0], np.float32)
    weights = np.array([[0.2, 0.3, 0.5, 0.0], [1.0, 0.0, -1.0, 2.0]], np.float32)
    target = np.int32(2)
    path = tiny_model.runtime.path("logit")
    scores, sums = path(x[None], baseline[None], alphas, weights, target)
    points = baseline + alphas[:, None, None, None] * (x - baseline)
    s_ref, g_ref = tiny_model.runtime.batch("logit")(points, target)
    assert scores.shape == (4,) and sums.shape == (2, *x.shape)
    np.testing.assert_allclose(scores, s_ref, rtol=1e-5, atol=1e-6)
    expected = np.tensordot(weights.astype(np.float64), np.asarray(g_ref, np.float64), axes=1)
    np.testing.assert_allclose(sums, expected, rtol=1e-4, atol=1e-6)
    assert abs(scores[-1] - s_ref[-1]) < 1e-6  # alpha 0 is the baseline itself


def test_path_pass_takes_the_score_and_contrast_as_given(tiny_model, tiny_image):
    _, x = tiny_model.prepare(tiny_image)
    args = (x[None], np.zeros_like(x)[None], np.ones(1, np.float32), np.ones((1, 1), np.float32))
    logit, _ = tiny_model.runtime.path("logit")(*args, np.int32(1))
    prob, _ = tiny_model.runtime.path("probability")(*args, np.int32(1))
    versus, _ = tiny_model.runtime.path("logit vs 3")(*args, np.int32(1))
    logit3, _ = tiny_model.runtime.path("logit")(*args, np.int32(3))
    assert 0.0 < prob[0] < 1.0 and prob[0] != logit[0]
    np.testing.assert_allclose(versus, logit - logit3, rtol=1e-5, atol=1e-6)


def test_jax_pads_path_points_to_few_sizes():
    """At most 1/8 of the rows padded (IG-50 plus its baseline: 56, not 64), few sizes."""
    sizes = {jax_backend.pad_to(n) for n in range(1, 1025)}
    assert jax_backend.pad_to(51) == 56 and jax_backend.pad_to(64) == 64
    assert all(n <= jax_backend.pad_to(n) <= n + max(7, n // 8) for n in range(1, 1025))
    assert len(sizes) <= 16 * 7  # at most 16 programs per doubling
