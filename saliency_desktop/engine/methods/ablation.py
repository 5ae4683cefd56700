"""Ablation-CAM: channel weights from the score drop when each channel is zeroed."""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.methods.cam import resize_bilinear
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, cam_info


def ablation_weights(score: float, ablated: np.ndarray) -> np.ndarray:
    """w_k = (S - y_k) / S. S = 0 (the score exactly zero) is replaced by 1e-12 to keep the
    ranking of the channels instead of dividing by zero."""
    denom = score if score != 0.0 else 1e-12
    return (score - ablated.astype(np.float64)) / denom


@register
class AblationCam(SaliencyMethod):
    """Desai & Ramaswamy 2020, 'Ablation-CAM': y_k = S with channel k of the CAM
    layer's output A set to zero; w_k = (S - y_k) / S; L = ReLU(sum_k w_k A_k).

    Only the layers after A run for each y_k when the layer is a cut vertex of the graph (as
    MobileNetV2's out_relu); when a skip connection crosses it, each y_k is a full forward with
    A substituted, and `extras["head_only"]` is False. Deviation from pytorch-grad-cam: the
    ablated channel is always set to 0, as in the paper (pytorch-grad-cam uses min(A) - 1e7
    when A has negative values).
    """

    info = cam_info(
        id="ablationcam",
        label="Ablation-CAM",
        summary="Weights each feature map by how much the score drops when it is removed: "
        "gradient-free, one pass of the layers after the CAM layer per channel.",
        paper="Desai & Ramaswamy 2020, Ablation-CAM: Visual Explanations for Deep "
        "Convolutional Network via Gradient-free Localization",
        order=100,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        return 2.0  # head-only passes are cheap; the channel count is unknown here

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        acts, _ = ctx.cam_inputs()
        k = acts.shape[-1]

        def keep(start: int, stop: int) -> np.ndarray:  # (m, 1, 1, K): 0 at the ablated channel
            factors = np.ones((stop - start, 1, 1, k), np.float32)
            factors[np.arange(stop - start), 0, 0, np.arange(start, stop)] = 0.0
            return factors

        ablated, cut = ctx.head_scores(keep, k, job, self.info.label)
        weights = ablation_weights(ctx.plain().score, ablated)
        cam = np.maximum(np.tensordot(acts.astype(np.float64), weights, axes=(-1, 0)), 0.0)
        cam = cam.astype(np.float32)
        cam_map = resize_bilinear(cam, ctx.model.info.input_size)
        return cam_map, None, cam, {"layer": ctx.layer, "head_only": cut}
