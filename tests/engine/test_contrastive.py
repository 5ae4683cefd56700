"""Contrastive maps: explaining S_A - S_B ("why A and not B"), and Grad-CAM's counterfactual."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import EngineError, explain, get_method, method_ids


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


# Methods whose output is linear in the score S (same seed, same samples, fixed steps), so the
# map of S_A - S_B is the map of A minus the map of B; the array compared for each.
LINEAR = {
    "vanilla_gradients": "attributions",
    "gradient_x_input": "attributions",
    "integrated_gradients": "attributions",
    "smoothgrad": "attributions",
    "expected_gradients": "attributions",
    "blur_ig": "attributions",
    "occlusion": "map",
    "rise": "map",
}
FIXED = {"integrated_gradients": {"n_steps": 8}, "smoothgrad": {"nt_samples": 4}}


@pytest.mark.parametrize("method", method_ids())
def test_every_method_explains_a_contrast_or_refuses_it(method, tiny_model, tiny_image):
    kw = dict(methods=[method], params={k: v for k, v in FIXED.items() if k == method})
    if get_method(method).info.class_agnostic:
        with pytest.raises(EngineError, match="class-agnostic"):
            explain(tiny_model, tiny_image, target=1, contrast=2, **kw)
        everything = explain(tiny_model, tiny_image, methods="all", target=1, contrast=2)
        assert method in everything.skipped and method not in everything.methods
        return
    res = explain(tiny_model, tiny_image, target=1, contrast=2, **kw)
    again = explain(tiny_model, tiny_image, target=1, contrast=2, **kw)
    m = res.methods[method]
    assert res.contrast == 2 and res.contrast_label == "c" and res.target == 1
    assert m.map.shape == (8, 8) and np.isfinite(m.map).all()
    np.testing.assert_array_equal(m.map, again.methods[method].map)  # deterministic
    if method in LINEAR:
        field = LINEAR[method]
        a = getattr(explain(tiny_model, tiny_image, target=1, **kw).methods[method], field)
        b = getattr(explain(tiny_model, tiny_image, target=2, **kw).methods[method], field)
        np.testing.assert_allclose(getattr(m, field), a - b, rtol=1e-4, atol=1e-6)
        assert not np.allclose(getattr(m, field), a)


def test_contrast_adds_no_trace(tiny_model, tiny_image):
    """The contrast class is a tensor argument of the compiled passes: no retrace per class."""
    explain(tiny_model, tiny_image, methods=["vanilla_gradients", "gradcam"], target=1)
    before = tiny_model.runtime.tracing_count()
    for b in (0, 2, 3):
        explain(tiny_model, tiny_image, ["vanilla_gradients", "gradcam"], target=1, contrast=b)
    assert tiny_model.runtime.tracing_count() == before


def test_metrics_refuse_a_contrastive_explanation(tiny_model, tiny_image):
    from saliency_desktop.engine.metrics import evaluate

    e = explain(tiny_model, tiny_image, methods=["gradcam"], target=1, contrast=2)
    with pytest.raises(EngineError, match="b vs c"):
        evaluate(tiny_model, tiny_image, e, metrics=["deletion"])
