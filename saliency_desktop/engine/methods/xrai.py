"""XRAI (Kapishnikov et al. 2019): regions ranked by their density of IG attribution."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from saliency_desktop.engine.methods._segments import xrai_masks
from saliency_desktop.engine.methods.integrated import ig_attributions, make_baseline
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, ParamInfo, path_info


class _Coverage:
    """For every mask: how many of its pixels, and how much attribution, lie outside the
    region covered so far; updated incrementally as pixels get covered (a mask-pixel incidence
    list sorted by pixel), so each step of XRAI costs the pixels it adds, not all the masks."""

    def __init__(self, masks: list[np.ndarray], attr: np.ndarray) -> None:
        flat = [np.flatnonzero(m) for m in masks]
        self.mask_of = np.repeat(np.arange(len(masks)), [len(f) for f in flat])
        pixels = np.concatenate(flat) if flat else np.zeros(0, np.intp)
        order = np.argsort(pixels, kind="stable")
        self.mask_of, pixels = self.mask_of[order], pixels[order]
        self.start = np.searchsorted(pixels, np.arange(attr.size + 1))
        self.attr = attr.ravel().astype(np.float64)
        self.count = np.bincount(self.mask_of, minlength=len(masks)).astype(np.int64)
        self.total = np.bincount(self.mask_of, weights=self.attr[pixels], minlength=len(masks))

    def cover(self, new_pixels: np.ndarray) -> None:
        lo, hi = self.start[new_pixels], self.start[new_pixels + 1]
        counts = hi - lo
        index = np.repeat(hi - counts.cumsum(), counts) + np.arange(counts.sum())
        owners = self.mask_of[index]
        weights = np.repeat(self.attr[new_pixels], counts)
        self.count -= np.bincount(owners, minlength=len(self.count))
        self.total -= np.bincount(owners, weights=weights, minlength=len(self.count))


def xrai_full(
    attr: np.ndarray, masks: list[np.ndarray], area_threshold: float = 1.0, min_pixel_diff: int = 50
) -> np.ndarray:
    """PAIR saliency's `XRAI._xrai` (the "full" algorithm) with the gain `_gain_density`.

    Greedy: repeatedly add the mask whose not-yet-covered pixels have the highest mean
    attribution (masks adding fewer than `min_pixel_diff` pixels are dropped), and give those
    pixels that mean, until `area_threshold` of the image is covered or no mask is left; the
    rest gets its own mean. Same choices as PAIR (ties go to the lower mask index; near-ties
    are settled with PAIR's own float32 mean)."""
    attr = np.asarray(attr)
    out = np.full(attr.shape, -np.inf)
    covered = np.zeros(attr.shape, bool)
    cov = _Coverage(masks, attr)
    alive = np.ones(len(masks), bool)
    while covered.mean() <= area_threshold:
        alive &= cov.count >= min_pixel_diff
        if not alive.any():
            break
        with np.errstate(invalid="ignore", divide="ignore"):
            gain = np.where(alive, cov.total / np.maximum(cov.count, 1), -np.inf)
        best = int(np.argmax(gain))
        near = np.flatnonzero(gain >= gain[best] - 1e-5 * (abs(gain[best]) + 1e-12))
        exact = [attr[masks[j] & ~covered].mean() for j in near]
        best = int(near[int(np.argmax(exact))])
        added = masks[best] & ~covered
        out[added] = attr[added].mean()
        cov.cover(np.flatnonzero(added.ravel()))
        covered |= added
        alive[best] = False
    rest = out == -np.inf
    if rest.any():
        out[rest] = attr[rest].mean()
    return out


@register
class Xrai(SaliencyMethod):
    """Kapishnikov, Bolukbasi, Viegas & Terry 2019, ICCV, sec. 3 (algorithm 1): over-segment the
    image (Felzenszwalb-Huttenlocher at scales 50...1200, segments dilated by 5 px), then grow
    the salient region greedily by the segment with the highest attribution density
    (mean of the not-yet-covered pixels), each region scored by that density.

    PAIR saliency's "full" algorithm and defaults (area threshold 1.0, min_pixel_diff 50). The
    base attribution is the mean of this engine's Integrated Gradients for the black and the
    white baselines (IG's defaults: Gauss-Legendre, auto steps to the 5 % tolerance), reduced
    by max over channels.
    The map ranks regions (higher = more salient): thresholding it at its top 5/10/20 % of
    pixels gives XRAI's top regions.
    """

    info = path_info(
        id="xrai",
        label="XRAI",
        summary="Ranks image regions (from an over-segmentation) by how much Integrated "
        "Gradients attribution they hold per pixel.",
        paper="Kapishnikov et al. 2019, XRAI: Better Attributions Through Regions",
        params=(
            ParamInfo("area_threshold", "Area threshold", "float", 1.0, minimum=0.0, maximum=1.0),
            ParamInfo("min_pixel_diff", "Min pixel diff", "int", 50, minimum=1, maximum=100000),
        ),
        has_attributions=False,
        order=50,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        return 2 * max(160 / max(batch_size, 1), 1.0) * 2.0 + 20.0  # two auto IG runs

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        lo, hi = ctx.progress_span
        ig = {"n_steps": "auto", "rule": "gausslegendre", "tolerance": 0.05}  # IG's defaults
        attrs, deltas = [], []
        for i, kind in enumerate(("black", "white")):
            span = (lo + (hi - lo) * 0.4 * i, lo + (hi - lo) * 0.4 * (i + 1))
            a, extras = ig_attributions(ctx, make_baseline(ctx, kind), ig, job, span)
            attrs.append(a)
            deltas.append(extras)
        attr = np.mean(attrs, axis=0).max(axis=-1)
        job.check()
        job.report(lo + (hi - lo) * 0.8, "XRAI segments")
        start = time.perf_counter()
        masks = xrai_masks(ctx.x)
        job.check()
        heat = xrai_full(attr, masks, params["area_threshold"], params["min_pixel_diff"])
        extras = {
            "ig_steps": [d["steps"] for d in deltas],
            "ig_relative_delta": [d["relative_delta"] for d in deltas],
            "n_segments": len(masks),
            "segment_seconds": time.perf_counter() - start,
        }
        return heat.astype(np.float32), None, None, extras
