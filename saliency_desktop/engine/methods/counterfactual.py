"""Grad-CAM's counterfactual explanation (Selvaraju et al. 2017, sec. 5)."""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.methods.cam import CamMethod, GradCam
from saliency_desktop.engine.registry import register
from saliency_desktop.engine.types import cam_info


@register
class GradCamCounterfactual(CamMethod):
    """Selvaraju et al. 2017, sec. 5 ("Counterfactual Explanations"), eq. (1)-(2) with the
    gradients negated: alpha_k = (1/Z) sum_ij -dS/dA^k_ij; L = ReLU(sum_k alpha_k A^k).

    The regions that, removed, would make the network more confident in the class: the
    evidence against it.
    """

    info = cam_info(
        id="gradcam_counterfactual",
        label="Grad-CAM counterfactual",
        summary="Grad-CAM with negated gradients: the regions that speak against the class.",
        paper=GradCam.info.paper,
        caveat="Shows evidence against the class; an empty map means no region lowers the score.",
        order=35,  # beside Grad-CAM, whose pass it reuses
        default_on=False,  # a second look at one class: chosen when asked for
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        """No pass of its own: A and dS/dA come from the shared pass (as Grad-CAM's)."""
        return 0.1

    @staticmethod
    def channel_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        return -gradients.mean(axis=(0, 1))
