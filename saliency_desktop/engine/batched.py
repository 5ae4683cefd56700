"""Batched gradient passes for the sampling and path methods (noise tunnel, Expected Gradients,
Blur IG, adaptive IG): gradients at many inputs built on demand, in batches under the memory
budget, with progress and cancel between batches. Functions over a `PassCache` (kept apart from
passes.py, whose single-image passes they reuse)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_desktop.engine.types import JobControl

if TYPE_CHECKING:
    from saliency_desktop.engine.passes import PassCache


def path_integrals(
    ctx: PassCache,
    baseline: np.ndarray,
    alphas: np.ndarray,
    weights: np.ndarray,
    job: JobControl,
    progress_span: tuple[float, float] = (0.0, 1.0),
    label: str = "integrated gradients",
) -> tuple[np.ndarray, np.ndarray]:
    """Several weighted sums of dS/dx over one set of path points, in bounded batches.

    `weights` is (k, n): row j gives sum_i weights[j, i] dS/dx(x' + alphas_i (x - x')).
    Returns (integrals (k, H, W, C) float64, S at each of the n points). Used by the adaptive
    IG, whose panels share batches; the points and sums are made on the device (`Runtime.path`).
    """
    fn = ctx.runtime.path(ctx.score)
    size = ctx.model.batch_size
    x, base = ctx.x[None].astype(np.float32), baseline[None].astype(np.float32)
    integrals = np.zeros((len(weights), *ctx.x.shape), np.float64)
    scores: list[np.ndarray] = []
    lo, hi = progress_span
    n = len(alphas)
    for start in range(0, n, size):
        job.check()
        a = alphas[start : start + size]
        s, sums = fn(x, base, a, weights[:, start : start + size], np.int32(ctx.target))
        scores.append(np.asarray(s, np.float64))
        integrals += sums
        job.report(lo + (hi - lo) * min(start + size, n) / max(n, 1), label)
    return integrals, np.concatenate(scores) if scores else np.zeros(0)


def batched_gradients(
    ctx: PassCache,
    make_batch: Any,
    n: int,
    job: JobControl,
    label: str,
    consume: Any,
) -> np.ndarray:
    """dS/dx at n inputs built on demand by `make_batch(start, stop)` -> (m, H, W, C).

    Each batch's gradients go to `consume(start, stop, points, gradients)` as they come, so
    memory is bounded by the batch size; progress is reported (over
    `ctx.progress_span`) and cancel checked between batches. Returns S at the n inputs.
    """
    fn = ctx.runtime.batch(ctx.score)
    size = ctx.model.batch_size
    lo, hi = ctx.progress_span
    scores: list[np.ndarray] = []
    for start in range(0, n, size):
        job.check()
        stop = min(start + size, n)
        points = np.asarray(make_batch(start, stop), np.float32)
        s, g = fn(points, np.int32(ctx.target))
        scores.append(np.asarray(s, np.float64))
        consume(start, stop, points, np.asarray(g))
        job.report(lo + (hi - lo) * stop / n, label)
    return np.concatenate(scores) if scores else np.zeros(0)
