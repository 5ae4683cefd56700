"""Contrastive maps: explaining S_A - S_B ("why A and not B"), and Grad-CAM's counterfactual."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import EngineError, explain


def _attr(model, image, method, **kw):
    return explain(model, image, methods=[method], **kw).methods[method]


def test_contrastive_gradients_are_the_difference(tiny_model, tiny_image):
    both = _attr(tiny_model, tiny_image, "vanilla_gradients", target=1, contrast=2)
    a = _attr(tiny_model, tiny_image, "vanilla_gradients", target=1)
    b = _attr(tiny_model, tiny_image, "vanilla_gradients", target=2)
    np.testing.assert_allclose(
        both.attributions, a.attributions - b.attributions, rtol=1e-5, atol=1e-7
    )
    assert not np.allclose(both.attributions, a.attributions)


def test_contrastive_ig_is_complete_for_the_difference(tiny_model, tiny_image):
    kw = dict(n_steps=64, baseline="black")
    res = explain(tiny_model, tiny_image, ["integrated_gradients"], target=1, contrast="c", **kw)
    ig = res.methods["integrated_gradients"]
    assert res.contrast == 2 and res.contrast_label == "c"
    a = _attr(tiny_model, tiny_image, "integrated_gradients", target=1, **kw)
    b = _attr(tiny_model, tiny_image, "integrated_gradients", target=2, **kw)
    np.testing.assert_allclose(ig.attributions, a.attributions - b.attributions, atol=1e-6)
    # completeness: sum IG = (S_A - S_B)(x) - (S_A - S_B)(x'), with S from Keras directly
    x = tiny_model.prepare(tiny_image)[1][None]
    base = tiny_model.preprocess_array(np.zeros_like(tiny_image))[None]
    logits = _logits(tiny_model, np.concatenate([x, base]))
    expected = (logits[0, 1] - logits[0, 2]) - (logits[1, 1] - logits[1, 2])
    assert float(ig.attributions.sum()) == pytest.approx(expected, abs=1e-3)
    assert abs(ig.extras["convergence_delta"]) < 1e-3


def _logits(model, x):
    import keras

    dense = model.keras_model.get_layer("dense")
    pre = keras.Model(model.keras_model.input, dense.input)(x)
    w, b = dense.get_weights()
    return np.asarray(pre) @ w + b


def test_cams_explain_the_difference(tiny_model, tiny_image):
    kw = dict(methods=["gradcam", "gradcam_counterfactual"])
    ab = explain(tiny_model, tiny_image, target=1, contrast=2, **kw).methods
    ba = explain(tiny_model, tiny_image, target=2, contrast=1, **kw).methods
    # -(S_A - S_B) = S_B - S_A: the counterfactual of A vs B is Grad-CAM of B vs A
    np.testing.assert_allclose(ab["gradcam_counterfactual"].cam, ba["gradcam"].cam, atol=1e-6)
    assert np.any(ab["gradcam"].cam) or np.any(ba["gradcam"].cam)


def test_counterfactual_is_gradcam_of_negated_gradients(tiny_model, tiny_image):
    from saliency_desktop.engine.methods.cam import GradCam
    from saliency_desktop.engine.methods.counterfactual import GradCamCounterfactual

    rng = np.random.default_rng(1)
    acts, grads = rng.random((3, 3, 5)), rng.normal(size=(3, 3, 5))
    np.testing.assert_array_equal(
        GradCamCounterfactual.channel_weights(acts, grads), GradCam.channel_weights(acts, -grads)
    )
    res = explain(tiny_model, tiny_image, methods=["gradcam", "gradcam_counterfactual"], target=1)
    cam, counter = res.methods["gradcam"].cam, res.methods["gradcam_counterfactual"].cam
    assert not np.any((cam > 1e-6) & (counter > 1e-6))  # ReLU(z) and ReLU(-z) never both > 0


def test_contrast_with_the_target_itself_is_refused(tiny_model, tiny_image):
    with pytest.raises(EngineError, match="target itself"):
        explain(tiny_model, tiny_image, methods=["gradcam"], target=1, contrast="b")
    with pytest.raises(EngineError):
        explain(tiny_model, tiny_image, methods=["gradcam"], target=1, contrast=99)
