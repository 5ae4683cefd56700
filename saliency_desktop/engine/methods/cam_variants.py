"""Gradient CAM variants: HiResCAM, XGrad-CAM, Layer-CAM (one or several layers), and the
class-agnostic Eigen-CAM.

All take A (the CAM layer's output, (h, w, K)) and G = dS/dA from the pass Grad-CAM uses, so
they add no pass of their own (Layer-CAM on several layers adds one, capturing them all). Each
returns `cam` at the layer's resolution and `map` resized to the input as Grad-CAM does
(bilinear, half-pixel centres).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.methods.cam import CamMethod, resize_bilinear
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import EngineError, JobControl, ParamInfo, cam_info

CLASS_AGNOSTIC = "class-agnostic: the same map for every target class"
LAYERCAM_GAMMA = 2.0  # Jiang et al. 2021, sec. III-C: the scale of the tanh before fusion


def hirescam_image(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Draelos & Carin 2020: ReLU(sum_k G_k * A_k), element-wise (no averaging)."""
    return np.maximum((gradients * activations).sum(axis=-1), 0.0)


def layercam_image(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Jiang et al. 2021: ReLU(sum_k ReLU(G_k) * A_k)."""
    return np.maximum((np.maximum(gradients, 0.0) * activations).sum(axis=-1), 0.0)


def eigencam_image(activations: np.ndarray) -> np.ndarray:
    """Muhammad & Yeasin 2020: the projection of A on its first principal component.

    A is reshaped to (h*w, K) (rows = positions, columns = channels), the columns are centred,
    v_1 is the first right singular vector and the map is ReLU(A_c v_1). The sign of a singular
    vector is arbitrary; it is chosen so the projection correlates positively with sum_k A_k.
    A_c v_1 is computed from the smaller Gram matrix (A_c A_c^T = U S^2 U^T gives A_c v_1 =
    s_1 u_1; A_c^T A_c gives v_1), with OpenCV's symmetric eigensolver: LAPACK's SVD through a
    multi-threaded BLAS took 100x longer on a busy 2-core machine.
    """
    import cv2

    h, w, k = activations.shape
    a = activations.reshape(h * w, k).astype(np.float64)
    centred = a - a.mean(axis=0, keepdims=True)
    if not np.any(centred):
        return np.zeros((h, w))
    if h * w <= k:
        _, values, vectors = cv2.eigen(cv2.mulTransposed(centred, False))
        projection = np.sqrt(max(float(values[0, 0]), 0.0)) * vectors[0]
    else:
        _, _, vectors = cv2.eigen(cv2.mulTransposed(centred, True))
        projection = centred @ vectors[0]
    total = a.sum(axis=1)
    if np.dot(projection, total - total.mean()) < 0:
        projection = -projection
    return np.maximum(projection, 0.0).reshape(h, w)


class _ImageCam(SaliencyMethod):
    """A CAM defined position by position from A and G (`cam_image`), ReLU'd and resized."""

    @staticmethod
    def cam_image(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        acts, grads = ctx.cam_inputs()
        cam = self.cam_image(acts.astype(np.float64), grads.astype(np.float64))
        cam = cam.astype(np.float32)
        return resize_bilinear(cam, ctx.model.info.input_size), None, cam, {"layer": ctx.layer}


@register
class HiResCam(_ImageCam):
    """Draelos & Carin 2020, 'Use HiResCAM instead of Grad-CAM':
    L = ReLU(sum_k dS/dA^k (*) A^k), the element-wise product instead of Grad-CAM's averaged
    gradient; for a model ending in global average pooling and one dense layer it is exactly
    the contribution of each position to S. Same as pytorch-grad-cam's HiResCAM.
    """

    info = cam_info(
        id="hirescam",
        label="HiResCAM",
        summary="Grad-CAM without averaging the gradients: each position's activations times "
        "its own gradients, so the map shows where the score actually comes from.",
        paper="Draelos & Carin 2020, Use HiResCAM instead of Grad-CAM for faithful "
        "explanations of convolutional neural networks",
        order=40,
    )

    cam_image = staticmethod(hirescam_image)


@register
class XGradCam(CamMethod):
    """Fu et al. 2020, 'Axiom-based Grad-CAM':
    w_k = sum_ij (A^k_ij / (sum_ab A^k_ab + 1e-7)) * dS/dA^k_ij;  L = ReLU(sum_k w_k A^k).
    The epsilon is pytorch-grad-cam's (the paper has none).
    """

    info = cam_info(
        id="xgradcam",
        label="XGrad-CAM",
        summary="Grad-CAM with gradients weighted by the normalised activations, chosen to "
        "satisfy the sensitivity and conservation axioms.",
        paper="Fu et al. 2020, Axiom-based Grad-CAM: Towards Accurate Visualization and "
        "Explanation of CNNs",
        order=50,
    )

    @staticmethod
    def channel_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        sums = activations.sum(axis=(0, 1))
        return (gradients * activations).sum(axis=(0, 1)) / (sums + 1e-7)


def fuse_layer_cams(maps: list[np.ndarray], gamma: float = LAYERCAM_GAMMA) -> np.ndarray:
    """Jiang et al. 2021, sec. III-C: each layer's map M (at input size) scaled to
    tanh(gamma * M / max M), then the element-wise maximum over layers. The paper scales the
    shallow layers only; here every layer is scaled, so all are on one [0, tanh(gamma)] scale
    and the order of the layers does not matter. A map that is all zero stays zero."""
    scaled = []
    for m in maps:
        top = float(m.max())
        scaled.append(np.tanh(gamma * m / top) if top > 0 else np.zeros_like(m))
    return np.max(scaled, axis=0)


@register
class LayerCam(SaliencyMethod):
    """Jiang et al. 2021, 'LayerCAM': L = ReLU(sum_k ReLU(dS/dA^k) (*) A^k),
    each position weighted by its own positive gradient (tf-keras-vis and pytorch-grad-cam
    alike). With several layers (`layers`), their maps are fused as in sec. III-C (see
    `fuse_layer_cams`); pytorch-grad-cam instead min-max normalises each layer and averages.
    """

    info = cam_info(
        id="layercam",
        label="Layer-CAM",
        summary="Each position's activations weighted by its positive gradients: reliable on "
        "shallow layers too, and several layers can be fused.",
        paper="Jiang et al. 2021, LayerCAM: Exploring Hierarchical Class Activation Maps for "
        "Localization",
        params=(
            ParamInfo(
                "layers",
                "Layers",
                "layer",
                "",
                help="Comma-separated CAM layers to fuse (paths or last names); empty: the "
                "CAM layer of the request.",
            ),
        ),
        order=60,
    )

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        layers = _resolve_layers(ctx, str(params.get("layers", "")))
        cams = [
            layercam_image(a.astype(np.float64), g.astype(np.float64)).astype(np.float32)
            for a, g in ctx.layers_inputs(layers)
        ]
        size = ctx.model.info.input_size
        extras: dict[str, Any] = {"layer": ctx.layer}
        if len(layers) == 1:
            if layers != (ctx.layer,):
                extras["layers"] = list(layers)
            return resize_bilinear(cams[0], size), None, cams[0], extras
        fused = fuse_layer_cams([resize_bilinear(c, size) for c in cams])
        # `cam` is the map of the deepest layer listed, at its own resolution
        deepest = max(range(len(layers)), key=lambda i: _depth(ctx, layers[i]))
        extras.update(layers=list(layers), fusion="tanh-max")
        return fused.astype(np.float32), None, cams[deepest], extras


def _depth(ctx: PassCache, path: str) -> int:
    return [i.path for i in ctx.model.info.layers].index(path)


def _resolve_layers(ctx: PassCache, text: str) -> tuple[str, ...]:
    """The request's layer when `text` is empty; else each comma-separated name resolved as the
    CAM layer is (a path, or a last name that is unique)."""
    from saliency_desktop.engine.explainer import resolve_layer

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        if ctx.layer is None:
            raise EngineError("This model has no 4-D feature-map layer for the CAM methods.")
        return (ctx.layer,)
    resolved = [resolve_layer(ctx.model, n) for n in names]
    return tuple(dict.fromkeys(p for p in resolved if p is not None))


@register
class EigenCam(SaliencyMethod):
    """Muhammad & Yeasin 2020, 'Eigen-CAM': the first principal component of the
    layer's activations, projected (see `eigencam_image`). Gradient-free and class-agnostic.

    Deviation: pytorch-grad-cam leaves the SVD's sign arbitrary (its maps can come out
    inverted); here the sign is fixed so the map correlates positively with sum_k A^k.
    """

    info = cam_info(
        id="eigencam",
        label="Eigen-CAM",
        summary="The first principal component of the layer's feature maps. Class-agnostic: "
        "the same map whatever the target class.",
        paper="Muhammad & Yeasin 2020, Eigen-CAM: Class Activation Map using Principal Components",
        caveat="Class-agnostic: it shows what the layer responds to most, not why the model "
        "chose the target class; the map is the same for every class.",
        order=70,
        class_agnostic=True,
    )

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        acts, _ = ctx.cam_inputs()
        cam = eigencam_image(acts).astype(np.float32)
        extras = {"layer": ctx.layer, "note": CLASS_AGNOSTIC}  # the report's caption
        return resize_bilinear(cam, ctx.model.info.input_size), None, cam, extras
