"""HiResCAM, XGrad-CAM, Layer-CAM, Eigen-CAM: hand-computed cases on a two-channel toy layer,
and the variants on a feature-map-less model (on the nested and the grayscale embedded models:
tests/engine/test_embedded_models.py, in its run of every method)."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_desktop.engine import EngineError, explain
from saliency_desktop.engine.methods.cam import GradCam
from saliency_desktop.engine.methods.cam_variants import (
    XGradCam,
    eigencam_image,
    fuse_layer_cams,
    hirescam_image,
    layercam_image,
)

# A two-channel 2x2 layer: A[..., k] and G[..., k] = dS/dA[..., k]
A = np.stack([[[1.0, 2.0], [3.0, 0.0]], [[1.0, 1.0], [1.0, 2.0]]], axis=-1)
G = np.stack([[[1.0, 1.0], [0.0, 2.0]], [[-1.0, 0.0], [2.0, -1.0]]], axis=-1)
GRADIENT_CAMS = ("hirescam", "xgradcam", "layercam", "eigencam")


def test_hirescam_by_hand():
    # (0,0): 1*1 - 1*1 = 0; (0,1): 1*2 + 0 = 2; (1,0): 0 + 2*1 = 2; (1,1): 0 - 2 -> ReLU 0
    np.testing.assert_allclose(hirescam_image(A, G), [[0, 2], [2, 0]])


def test_layercam_by_hand():
    # negative gradients dropped first: (0,0): 1*1 + 0*1 = 1; (1,1): 2*0 + 0*2 = 0
    np.testing.assert_allclose(layercam_image(A, G), [[1, 2], [2, 0]])


def test_xgradcam_by_hand():
    # w_0 = (1 + 2 + 0 + 0) / 6 = 0.5; w_1 = (-1 + 0 + 2 - 2) / 5 = -0.2
    w = XGradCam.channel_weights(A, G)
    np.testing.assert_allclose(w, [3 / (6 + 1e-7), -1 / (5 + 1e-7)])
    cam = np.maximum(np.tensordot(A, w, axes=(-1, 0)), 0)
    np.testing.assert_allclose(cam, [[0.3, 0.8], [1.3, 0.0]], atol=1e-6)
    # and it is not Grad-CAM: mean gradients (1, 0) would give A_0 itself
    np.testing.assert_allclose(GradCam.channel_weights(A, G), [1.0, 0.0])


def test_eigencam_by_hand_and_its_sign():
    a0 = np.array([[1.0, 2.0], [3.0, 0.0]])
    acts = np.stack([a0, 2 * a0], axis=-1)  # rank one: v_1 = (1, 2) / sqrt(5)
    centred = a0 - a0.mean()  # [[-0.5, 0.5], [1.5, -1.5]]
    expected = np.maximum(centred * np.sqrt(5), 0)  # projection (1*c + 2*2c) / sqrt(5)
    np.testing.assert_allclose(eigencam_image(acts), expected, atol=1e-12)
    # the sign follows sum_k A_k, never the SVD's arbitrary choice: flipping the activation
    # pattern moves the map to the other positions
    flipped = np.stack([3 - a0, 2 * (3 - a0)], axis=-1)
    np.testing.assert_allclose(eigencam_image(flipped), np.maximum(-centred * np.sqrt(5), 0))
    assert not np.any(eigencam_image(np.ones((2, 2, 3))))  # no variance: an empty map


def test_layer_fusion_by_hand():
    m1 = np.array([[0.0, 1.0], [2.0, 4.0]])
    m2 = np.array([[4.0, 0.0], [0.0, 0.0]])
    fused = fuse_layer_cams([m1, m2])
    np.testing.assert_allclose(fused, np.tanh([[2.0, 0.5], [1.0, 2.0]]))
    assert not np.any(fuse_layer_cams([np.zeros((2, 2))]))


def test_variants_on_the_tiny_model_use_the_shared_pass(tiny_model, tiny_image):
    res = explain(tiny_model, tiny_image, methods=["gradcam", *GRADIENT_CAMS], target=2)
    acts_grads = res.methods["gradcam"].cam
    for mid in GRADIENT_CAMS:
        m = res.methods[mid]
        assert m.cam.shape == acts_grads.shape and (m.cam >= 0).all() and m.map.shape == (8, 8)
        assert m.params["layer"] == "act3"


def test_eigencam_is_class_agnostic(tiny_model, tiny_image):
    maps = [
        explain(tiny_model, tiny_image, methods=["eigencam"], target=t).methods["eigencam"].map
        for t in (0, 3)
    ]
    np.testing.assert_array_equal(maps[0], maps[1])
    res = explain(tiny_model, tiny_image, methods=["eigencam"])
    assert "class-agnostic" in res.methods["eigencam"].extras["note"]  # the report's caption


def test_layercam_fuses_several_layers_in_one_pass(tiny_model, tiny_image):
    alone = {
        layer: explain(tiny_model, tiny_image, methods=["layercam"], target=1, layer=layer)
        .methods["layercam"]
        .map
        for layer in ("conv1", "act3")
    }
    fused = explain(
        tiny_model,
        tiny_image,
        methods=["layercam"],
        target=1,
        params={"layercam": {"layers": "conv1, act3"}},
    ).methods["layercam"]
    np.testing.assert_allclose(
        fused.map, fuse_layer_cams([alone["conv1"], alone["act3"]]), rtol=1e-5, atol=1e-6
    )
    assert fused.extras["layers"] == ["conv1", "act3"] and fused.cam.shape == (4, 4)
    one = explain(
        tiny_model, tiny_image, methods=["layercam"], target=1,
        params={"layercam": {"layers": "conv1"}},
    ).methods["layercam"]  # fmt: skip
    np.testing.assert_allclose(one.map, alone["conv1"], rtol=1e-5, atol=1e-7)  # no fusion
    with pytest.raises(EngineError, match="not an eligible CAM layer"):
        explain(tiny_model, tiny_image, methods=["layercam"], params={"layercam": {"layers": "x"}})


def test_layers_parameter_on_the_command_line():
    from saliency_desktop.batch import method_param

    assert method_param("layercam.layers=conv1,act3") == ("layercam", "layers", "conv1,act3")


def test_no_feature_map_layer_makes_every_cam_unavailable(keras, tiny_image):
    from saliency_desktop.engine.models import from_keras

    inp = keras.Input((8, 8, 3))
    out = keras.layers.Dense(3)(keras.layers.Flatten()(inp))
    model = from_keras(keras.Model(inp, out), preprocessing="unit")
    for mid in (*GRADIENT_CAMS, "scorecam", "faster_scorecam", "ablationcam"):
        assert "4-D feature-map" in model.info.unavailable[mid]
        with pytest.raises(EngineError, match="not available for this model"):
            explain(model, tiny_image, methods=[mid])
    assert "occlusion" not in model.info.unavailable and "rise" not in model.info.unavailable


@pytest.mark.parametrize("shape", [(5, 5, 64), (12, 10, 6)])  # positions < and > channels
def test_eigencam_is_the_first_principal_component(shape):
    rng = np.random.default_rng(5)
    acts = rng.random(shape) * rng.random(shape[-1])  # channels of different scales
    c = acts.reshape(-1, shape[-1])
    c = c - c.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    projection = c @ vt[0]
    if np.dot(projection, acts.reshape(-1, shape[-1]).sum(axis=1)) < 0:
        projection = -projection
    expected = np.maximum(projection, 0).reshape(shape[:2])
    np.testing.assert_allclose(eigencam_image(acts), expected, rtol=1e-6, atol=1e-9)
