"""Class activation maps: Grad-CAM, Grad-CAM++ and Guided Grad-CAM.

The base class does the shared work (activations A and gradients dS/dA of one layer, the
weighted sum, ReLU and resizing to the input); each method only defines `channel_weights`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from saliency_desktop.engine.methods.gradients import channel_max_abs, rerouted_info, rule_note
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, cam_info


def resize_bilinear(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Half-pixel-centre bilinear resize to (height, width), as tf.image.resize and Pillow do."""
    import cv2

    h, w = size
    return cv2.resize(cam.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


class CamMethod(SaliencyMethod):
    """cam = ReLU(sum_k w_k A^k) at the layer's resolution; map = cam resized to the input."""

    @staticmethod
    @abstractmethod
    def channel_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        """(K,) weights from A and dS/dA, both (h, w, K)."""

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        acts, grads = ctx.cam_inputs()
        weights = self.channel_weights(acts.astype(np.float64), grads.astype(np.float64))
        cam = np.maximum(np.tensordot(acts.astype(np.float64), weights, axes=(-1, 0)), 0.0)
        cam = cam.astype(np.float32)
        cam_map = resize_bilinear(cam, ctx.model.info.input_size)
        return cam_map, None, cam, {"layer": ctx.layer}


@register
class GradCam(CamMethod):
    """Selvaraju et al. 2017, eq. (1)-(2): alpha_k = (1/Z) sum_ij dS/dA^k_ij;
    L = ReLU(sum_k alpha_k A^k)."""

    info = cam_info(
        id="gradcam",
        label="Grad-CAM",
        summary="Weights a layer's feature maps by their average gradient: a coarse map of the "
        "regions that raise the class score.",
        paper="Selvaraju et al. 2017, Grad-CAM: Visual Explanations from Deep Networks",
        order=10,
    )

    @staticmethod
    def channel_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        return gradients.mean(axis=(0, 1))


@register
class GradCamPlusPlus(CamMethod):
    """Chattopadhay et al. 2018, eq. (19) with Y = exp(S) (closed form, eq. 18-19):

    alpha^kc_ij = g^2 / (2 g^2 + sum_ab A^k_ab g^3),  w^c_k = sum_ij alpha^kc_ij ReLU(g),
    where g = dS/dA^k_ij. With Y = exp(S) every derivative of Y carries the same factor exp(S),
    which cancels in alpha and is a positive constant in w; it is dropped, so exp(S) is never
    evaluated and cannot overflow. Where the denominator is 0, alpha is 0 (as pytorch-grad-cam).
    """

    info = cam_info(
        id="gradcam_plus_plus",
        label="Grad-CAM++",
        summary="Grad-CAM with pixel-wise weights of positive gradients; better for several "
        "instances of a class.",
        paper="Chattopadhay et al. 2018, Grad-CAM++: Improved Visual Explanations",
        order=20,
    )

    @staticmethod
    def channel_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        g2 = gradients**2
        g3 = gradients**3
        sum_a = activations.sum(axis=(0, 1))
        denom = 2.0 * g2 + sum_a[None, None, :] * g3
        safe = np.where(denom != 0.0, denom, 1.0)
        alpha = np.where(denom != 0.0, g2 / safe, 0.0)
        return (alpha * np.maximum(gradients, 0.0)).sum(axis=(0, 1))


@register
class GuidedGradCam(SaliencyMethod):
    """Selvaraju et al. 2017, sec. 3.1: Guided Backpropagation * Grad-CAM (upsampled), pointwise.

    Reuses the guided pass and the Grad-CAM pass: no pass of its own.
    """

    info = rerouted_info(
        "guided",
        id="guided_gradcam",
        label="Guided Grad-CAM",
        family="cam",  # beside the CAMs, but attributions (a guided gradient), no cam of its own
        summary="Guided Backpropagation masked by the Grad-CAM map: fine detail, class-specific.",
        paper=GradCam.info.paper,
        needs_layer=True,
        order=30,
    )

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        if "gradcam" not in ctx.shared:
            ctx.shared["gradcam"] = GradCam().compute(ctx, {}, job)
        cam_map = ctx.shared["gradcam"][0]
        attributions = (ctx.rerouted_gradients("guided") * cam_map[..., None]).astype(np.float32)
        extras = {"layer": ctx.layer, **rule_note(ctx)}
        return channel_max_abs(attributions), attributions, None, extras
