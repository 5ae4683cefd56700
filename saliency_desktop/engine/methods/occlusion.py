"""Occlusion (Zeiler & Fergus 2014): the score drop when a sliding window is filled."""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.methods.integrated import BASELINES, make_baseline
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, ParamInfo, perturbation_info


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """Start offsets of a window sliding along `length` with `stride`, the last one flush with
    the end so every pixel is covered (Captum stops at the last whole stride instead)."""
    window = min(window, length)
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


def windows(size: tuple[int, int], window: int, stride: int) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right) of every window position, row by row."""
    h, w = size
    wh, ww = min(window, h), min(window, w)
    return [
        (top, left, top + wh, left + ww)
        for top in window_starts(h, window, stride)
        for left in window_starts(w, window, stride)
    ]


@register
class Occlusion(SaliencyMethod):
    """Zeiler & Fergus 2014 (occlusion sensitivity), as Captum's sliding-window Occlusion.

    For each position of a window (16x16 px at model input size, stride 8, all channels),
    d = S(x) - S(x with the window filled with the fill image); a pixel's attribution is the
    mean of d over the windows that cover it. Signed: positive where hiding the pixels lowers
    the score.

    Deviation from Captum: when the stride does not divide the image, a last window flush with
    the border is added, so every pixel is covered. The fill images are IG's baselines.
    """

    info = perturbation_info(
        id="occlusion",
        label="Occlusion",
        summary="Slides a window filled with black over the image and records how much the "
        "score drops where it covers: model-agnostic, one forward pass per window.",
        paper="Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks",
        params=(
            ParamInfo(
                "window", "Window (px)", "int", 16, minimum=1, maximum=4096, help="Side, px."
            ),
            ParamInfo("stride", "Stride (px)", "int", 8, minimum=1, maximum=4096, help="Step, px."),
            ParamInfo(
                "fill",
                "Fill",
                "choice",
                "black",
                choices=BASELINES,
                help="What fills the window (the Integrated Gradients baselines).",
            ),
        ),
        signed=True,
        order=10,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        stride = max(int(params.get("stride", 8)), 1)
        n = (224 // stride) ** 2  # typical input size; the model's is unknown here
        return max(n / max(2 * batch_size, 1), 1.0)

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        fill = make_baseline(ctx, params["fill"]).astype(np.float32)
        boxes = windows(ctx.model.info.input_size, params["window"], params["stride"])
        x = ctx.x.astype(np.float32)

        def make_batch(start: int, stop: int) -> np.ndarray:
            batch = np.repeat(x[None], stop - start, axis=0)
            for i, (top, left, bottom, right) in enumerate(boxes[start:stop]):
                batch[i, top:bottom, left:right] = fill[top:bottom, left:right]
            return batch

        scores, _ = ctx.forward_scores(make_batch, len(boxes), job, self.info.label)
        drop = ctx.plain().score - scores
        total = np.zeros(x.shape[:2])
        count = np.zeros(x.shape[:2])
        for d, (top, left, bottom, right) in zip(drop, boxes, strict=True):
            total[top:bottom, left:right] += d
            count[top:bottom, left:right] += 1
        heat = (total / np.maximum(count, 1)).astype(np.float32)
        return heat, None, None, {"windows": len(boxes)}
