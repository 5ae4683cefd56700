"""The methods against hand computations on tiny models with set weights."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import explain
from saliency_desktop.engine.methods.integrated import integration_points
from saliency_desktop.engine.models import from_keras


def _mlp(keras, w1, b1, w2, b2, w3, b3, cap=None):
    """2x2x1 image -> Flatten -> Dense(relu) -> ReLU(cap) block -> Dense (linear scores)."""
    inp = keras.Input((2, 2, 1))
    x = keras.layers.Flatten()(inp)
    x = keras.layers.Dense(w1.shape[1], activation="relu", name="d1")(x)
    x = keras.layers.Dense(w2.shape[1], name="d2")(x)
    x = keras.layers.ReLU(max_value=cap, name="r2")(x)
    out = keras.layers.Dense(w3.shape[1], name="d3")(x)
    model = keras.Model(inp, out)
    model.get_layer("d1").set_weights([w1, b1])
    model.get_layer("d2").set_weights([w2, b2])
    model.get_layer("d3").set_weights([w3, b3])
    return model


def _hand_backprop(x, w1, b1, w2, b2, w3, target, rule, cap=None):
    """The three backward rules, written out layer by layer with numpy."""
    z1 = x @ w1 + b1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ w2 + b2
    g = w3[:, target].copy()  # dS/dh2

    def through(grad, z, capped):
        active = z > 0
        if capped is not None:
            active &= z < capped
        if rule == "plain":
            return grad * active
        if rule == "deconv":
            return np.maximum(grad, 0)
        return grad * active * (grad > 0)  # guided

    g = through(g, z2, cap) @ w2.T
    g = through(g, z1, None) @ w1.T
    return g


@pytest.mark.parametrize("cap", [None, 6.0])
def test_guided_and_deconv_rules_match_hand_computation(keras, cap):
    rng = np.random.default_rng(2)  # chosen so that every case below occurs
    w1, b1 = rng.normal(size=(4, 5)), rng.normal(size=5) * 0.5
    w2, b2 = rng.normal(size=(5, 6)) * 3, rng.normal(size=6)
    w3, b3 = rng.normal(size=(6, 3)), rng.normal(size=3)
    model = from_keras(_mlp(keras, w1, b1, w2, b2, w3, b3, cap), preprocessing="unit")
    image = np.array([[[10], [200]], [[90], [3]]], np.uint8)
    x = image.reshape(-1).astype(np.float64) / 255.0
    z1 = x @ w1 + b1
    z2 = np.maximum(z1, 0) @ w2 + b2
    # the test exercises inactive units in both layers, active ones, and units above the cap
    assert (z1 < 0).any() and (z1 > 0).any() and (z2 < 0).any()
    assert (z2 > 6).any() and ((z2 > 0) & (z2 < 6)).any()
    target = 1
    res = explain(
        model, image, methods=["vanilla_gradients", "guided_backprop", "deconvnet"], target=target
    )
    for mid, rule in [
        ("vanilla_gradients", "plain"),
        ("guided_backprop", "guided"),
        ("deconvnet", "deconv"),
    ]:
        expected = _hand_backprop(x, w1, b1, w2, b2, w3, target, rule, cap).reshape(2, 2, 1)
        got = res.methods[mid].attributions
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4, err_msg=mid)
        np.testing.assert_allclose(
            res.methods[mid].map, np.abs(expected)[..., 0], rtol=1e-4, atol=1e-4
        )
    # the rules differ on this network, so the test can tell them apart
    assert not np.allclose(
        res.methods["guided_backprop"].attributions, res.methods["deconvnet"].attributions
    )


def _cam_model(keras, conv_w, dense_w, dense_b):
    """4x4x1 -> Conv1x1 (2 channels, linear) -> MaxPool 2 -> [A: 2x2x2] -> GAP -> Dense(2)."""
    inp = keras.Input((4, 4, 1))
    a = keras.layers.Conv2D(2, 1, use_bias=False, name="conv")(inp)
    a = keras.layers.MaxPooling2D(2, name="pool")(a)
    x = keras.layers.GlobalAveragePooling2D()(a)
    out = keras.layers.Dense(2, activation="softmax", name="dense")(x)
    model = keras.Model(inp, out)
    model.get_layer("conv").set_weights([conv_w])
    model.get_layer("dense").set_weights([dense_w, dense_b])
    return model


def test_gradcam_and_gradcam_pp_on_set_weights(keras):
    import tensorflow as tf

    conv_w = np.array([1.0, -0.5], np.float32).reshape(1, 1, 1, 2)
    dense_w = np.array([[0.8, -0.3], [-0.6, 0.9]], np.float32)
    dense_b = np.zeros(2, np.float32)
    model = from_keras(_cam_model(keras, conv_w, dense_w, dense_b), preprocessing="raw")
    assert model.info.default_layer == "pool"
    assert model.info.final_activation == "softmax"
    image = np.arange(16, dtype=np.uint8).reshape(4, 4, 1) * 13
    res = explain(model, image, methods=["gradcam", "gradcam_plus_plus"], target=0)

    x = image[..., 0].astype(np.float64)
    conv = np.stack([x * 1.0, x * -0.5], axis=-1)
    a = conv.reshape(2, 2, 2, 2, 2).max(axis=(1, 3))  # 2x2 max pool -> (2, 2, 2)
    # S = logit_0 = mean_ij(A) . W[:, 0]  =>  dS/dA_ij^k = W[k, 0] / 4 everywhere
    g = np.broadcast_to(dense_w[:, 0] / 4.0, a.shape)
    w_gradcam = g.mean(axis=(0, 1))
    cam = np.maximum((a * w_gradcam).sum(-1), 0)
    np.testing.assert_allclose(res.methods["gradcam"].cam, cam, rtol=1e-5, atol=1e-6)
    resized = tf.image.resize(cam[None, ..., None].astype(np.float32), (4, 4), "bilinear")
    np.testing.assert_allclose(
        res.methods["gradcam"].map, resized.numpy()[0, ..., 0], rtol=1e-5, atol=1e-6
    )

    alpha = g**2 / (2 * g**2 + a.sum(axis=(0, 1)) * g**3)
    w_pp = (alpha * np.maximum(g, 0)).sum(axis=(0, 1))
    cam_pp = np.maximum((a * w_pp).sum(-1), 0)
    np.testing.assert_allclose(res.methods["gradcam_plus_plus"].cam, cam_pp, rtol=1e-5, atol=1e-6)
    assert res.layer == "pool"


def test_gradcam_pp_weights_do_not_overflow_on_huge_scores():
    from saliency_desktop.engine.methods.cam import GradCamPlusPlus

    a = np.full((2, 2, 3), 1e3)
    g = np.full(
        (2, 2, 3), 50.0
    )  # exp(S) would overflow for S ~ 1e5; the closed form never forms it
    g[..., 2] = 0.0  # zero gradient: alpha is 0, not NaN
    w = GradCamPlusPlus.channel_weights(a, g)
    assert np.isfinite(w).all() and w[2] == 0.0


def _smooth_model(keras):
    """A smooth non-linear model (softplus, tanh): IG must be complete up to quadrature error."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="softplus")(inp)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(8, activation="tanh")(x)
    out = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inp, out)


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid", "riemann_middle"])
def test_integrated_gradients_completeness(keras, tiny_image, rule):
    model = from_keras(_smooth_model(keras), preprocessing="unit")
    res = explain(
        model,
        tiny_image,
        methods=["integrated_gradients"],
        n_steps=128,
        rule=rule,
        baseline="black",
    )
    m = res.methods["integrated_gradients"]
    diff = m.extras["score"] - m.extras["baseline_score"]
    assert abs(diff) > 1e-3
    assert abs(m.attributions.sum() - diff) <= 0.01 * abs(diff)
    assert abs(m.extras["convergence_delta"]) <= 0.01 * abs(diff)
    np.testing.assert_allclose(m.map, m.attributions.sum(-1), rtol=1e-6, atol=1e-6)


def test_integrated_gradients_is_exact_on_a_linear_model(keras, tiny_image):
    keras.utils.set_random_seed(2)
    inp = keras.Input((8, 8, 3))
    out = keras.layers.Dense(2)(keras.layers.Flatten()(inp))
    lin = keras.Model(inp, out)
    model = from_keras(lin, preprocessing="unit")
    res = explain(
        model,
        tiny_image,
        methods=["integrated_gradients"],
        n_steps=2,
        rule="riemann_left",
        baseline="zeros",
        target=1,
    )
    w = lin.layers[-1].get_weights()[0][:, 1].reshape(8, 8, 3)
    x = tiny_image / 255.0
    np.testing.assert_allclose(
        res.methods["integrated_gradients"].attributions, x * w, rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize(
    "rule",
    ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"],
)
def test_integration_rules_integrate(rule):
    alphas, weights = integration_points(rule, 64)
    assert len(alphas) == 64 and np.isclose(weights.sum(), 1.0)
    assert alphas.min() >= 0 and alphas.max() <= 1
    tol = 1e-10 if rule == "gausslegendre" else 2e-2
    assert abs((weights * alphas**3).sum() - 0.25) < tol


def test_gauss_legendre_matches_alibi_nodes():
    alphas, weights = integration_points("gausslegendre", 5)
    nodes, w = np.polynomial.legendre.leggauss(5)
    np.testing.assert_allclose(alphas, (nodes + 1) / 2)
    np.testing.assert_allclose(weights, w / 2)


def test_probability_score_differs_from_logit(tiny_model, tiny_image):
    logit = explain(tiny_model, tiny_image, methods=["vanilla_gradients"], target=2)
    prob = explain(
        tiny_model, tiny_image, methods=["vanilla_gradients"], target=2, score="probability"
    )
    a, b = (
        logit.methods["vanilla_gradients"].attributions,
        prob.methods["vanilla_gradients"].attributions,
    )
    assert not np.allclose(a, b)
    # d softmax_t / dx = p_t * (dz_t/dx - sum_j p_j dz_j/dx): check against per-class logit grads
    probs = np.zeros(4)
    for p in logit.top_k:
        probs[p.index] = p.probability
    grads = [
        explain(tiny_model, tiny_image, methods=["vanilla_gradients"], target=j)
        .methods["vanilla_gradients"]
        .attributions
        for j in range(4)
    ]
    expected = probs[2] * (grads[2] - sum(probs[j] * grads[j] for j in range(4)))
    np.testing.assert_allclose(b, expected, rtol=1e-3, atol=1e-6)
