"""Gradient x Input (Shrikumar et al. 2016), relative to the black baseline of IG."""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.methods.gradients import channel_sum
from saliency_desktop.engine.methods.integrated import make_baseline
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, gradient_info


@register
class GradientXInput(SaliencyMethod):
    """Shrikumar, Greenside, Shcherbina & Kundaje 2016 (arXiv:1605.01713), sec. 2:
    R_i = (x_i - x'_i) * dS/dx_i(x), with x' the black image preprocessed (IG's baseline).

    Taken relative to the same baseline as Integrated Gradients, it is IG with one step (the
    right Riemann sum at alpha = 1; Ancona et al. 2018, sec. 3). The map is the sum over
    channels (signed), as for IG. It reuses the plain gradient of the first pass.
    """

    info = gradient_info(
        id="gradient_x_input",
        label="Gradient x Input",
        summary="The gradient times the input's difference from a black image: "
        "Integrated Gradients with one step.",
        paper="Shrikumar et al. 2016, Not Just a Black Box: Learning Important Features "
        "Through Propagating Activation Differences",
        signed=True,
        plain_gradient=True,
        order=40,
    )

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        black = make_baseline(ctx, "black")
        attributions = ((ctx.x - black) * ctx.gradients()).astype(np.float32)
        return channel_sum(attributions), attributions, None, {}
