"""RISE (Petsiuk, Das & Saenko 2018): randomised input sampling for explanation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from saliency_desktop.engine.methods.integrated import make_baseline
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, ParamInfo, perturbation_info, seed_param


@dataclass(frozen=True)
class RiseMasks:
    """N masks drawn once from a seed (binary s x s grids and shifts); mask i is the same
    whatever batch it is built in, so a map does not depend on the batch size."""

    grids: np.ndarray  # (N, s, s) float32 in {0, 1}
    shifts: np.ndarray  # (N, 2) int: (dy, dx) in [0, cell)
    size: tuple[int, int]  # (H, W)

    @classmethod
    def draw(cls, n: int, cells: int, p: float, size: tuple[int, int], seed: int) -> RiseMasks:
        rng = np.random.default_rng(seed)
        grids = (rng.random((n, cells, cells)) < p).astype(np.float32)
        cell = [math.ceil(d / cells) for d in size]
        shifts = np.stack([rng.integers(0, c, n) for c in cell], axis=1)
        return cls(grids, shifts, size)

    def build(self, start: int, stop: int) -> np.ndarray:
        """(m, H, W) float32: grid i upsampled bilinearly (half-pixel) to (s+1) * cell and
        cropped at its shift (Petsiuk et al. 2018, mask generation)."""
        import cv2

        h, w = self.size
        cells = self.grids.shape[1]
        up_h, up_w = ((cells + 1) * math.ceil(d / cells) for d in self.size)
        out = np.empty((stop - start, h, w), np.float32)
        for i in range(start, stop):
            up = cv2.resize(self.grids[i], (up_w, up_h), interpolation=cv2.INTER_LINEAR)
            dy, dx = self.shifts[i]
            out[i - start] = up[dy : dy + h, dx : dx + w]
        return out


@register
class Rise(SaliencyMethod):
    """Petsiuk, Das & Saenko 2018, 'RISE': N random binary s x s grids (each cell
    kept with probability p), upsampled bilinearly to (s+1) * ceil(H/s) and shifted by up to
    one cell; x_i = black + M_i (x - black) in pixel space ("black": pixel 0 preprocessed);
    saliency = sum_i P(target | x_i) M_i / (N p), P the softmax probability.

    Seeded (`seed`), so a map is reproducible. As the paper's code, except that the upsampling
    is OpenCV's half-pixel bilinear (the paper's code uses skimage's resize).
    """

    info = perturbation_info(
        id="rise",
        label="RISE",
        summary="Averages thousands of random masks, each weighted by the class probability "
        "of the image seen through it: model-agnostic, one forward pass per mask.",
        paper="Petsiuk, Das & Saenko 2018, RISE: Randomized Input Sampling for Explanation of "
        "Black-box Models",
        params=(
            ParamInfo(
                "n_masks",
                "Masks",
                "int",
                4000,
                minimum=1,
                maximum=100000,
                help="Number of random masks (forward passes).",
                quick=64,  # 4,000 masks would dominate a quick run
            ),
            ParamInfo(
                "cells",
                "Grid cells",
                "int",
                8,
                minimum=1,
                maximum=64,
                help="s: each mask is an s x s grid before upsampling.",
            ),
            ParamInfo(
                "p_keep",
                "Keep probability",
                "float",
                0.5,
                minimum=0.01,
                maximum=1.0,
                help="p: the probability that a grid cell is kept.",
            ),
            seed_param("the random masks"),
        ),
        order=20,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        return max(params.get("n_masks", 4000) / max(2 * batch_size, 1), 1.0)

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        n, p = params["n_masks"], params["p_keep"]
        size = ctx.model.info.input_size
        masks = RiseMasks.draw(n, params["cells"], p, size, params["seed"])
        black = make_baseline(ctx, "black").astype(np.float32)
        diff = ctx.x.astype(np.float32) - black

        def make_batch(start: int, stop: int) -> np.ndarray:
            return black[None] + masks.build(start, stop)[..., None] * diff[None]

        _, probs = ctx.forward_scores(make_batch, n, job, self.info.label)
        saliency = np.zeros(size)
        step = 256
        for start in range(0, n, step):  # the masks again, a few at a time: bounded memory
            stop = min(start + step, n)
            saliency += np.tensordot(probs[start:stop], masks.build(start, stop), axes=(0, 0))
        return (saliency / (n * p)).astype(np.float32), None, None, {"n_masks": n}
