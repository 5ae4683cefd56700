"""Guided Integrated Gradients (Kapishnikov et al. 2021), PAIR saliency's algorithm."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from saliency_desktop.engine.methods.gradients import channel_sum
from saliency_desktop.engine.methods.integrated import BASELINES, completeness, make_baseline
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, ParamInfo, path_info, seed_param

EPSILON = 1e-9


def _to_x(alpha: float, x_input: np.ndarray, x_baseline: np.ndarray) -> np.ndarray:
    return x_baseline + (x_input - x_baseline) * alpha


def guided_step(
    x: np.ndarray,
    grad: np.ndarray,
    x_input: np.ndarray,
    x_baseline: np.ndarray,
    step: int,
    steps: int,
    fraction: float,
    max_dist: float,
    l1_total: float,
) -> np.ndarray:
    """One step of PAIR's `guided_ig_impl`: moves x (in place) and returns the attribution added.

    The features with the smallest |gradient| (a `fraction` of them) move toward the input until
    the L1 distance to the input falls to l1_total (1 - (step + 1) / steps); no feature leaves
    the band alpha +- max_dist around the straight line."""
    grad_actual, grad = grad, grad.copy()
    alpha = (step + 1.0) / steps
    alpha_min, alpha_max = max(alpha - max_dist, 0.0), min(alpha + max_dist, 1.0)
    x_min, x_max = _to_x(alpha_min, x_input, x_baseline), _to_x(alpha_max, x_input, x_baseline)
    l1_target = l1_total * (1 - (step + 1) / steps)
    span = x_input - x_baseline
    attr = np.zeros_like(x)
    gamma = np.inf
    while gamma > 1.0:
        x_old = x.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            x_alpha = np.where(span != 0, (x - x_baseline) / span, np.nan)
        x_alpha[np.isnan(x_alpha)] = alpha_max
        behind = x_alpha < alpha_min
        x[behind] = x_min[behind]
        l1_current = np.abs(x - x_input).sum()
        if math.isclose(l1_target, l1_current, rel_tol=EPSILON, abs_tol=EPSILON):
            return attr + (x - x_old) * grad_actual
        grad[x == x_max] = np.inf
        threshold = np.quantile(np.abs(grad), fraction, method="lower")
        s = np.logical_and(np.abs(grad) <= threshold, grad != np.inf)
        l1_s = (np.abs(x - x_max) * s).sum()
        gamma = (l1_current - l1_target) / l1_s if l1_s > 0 else np.inf
        if gamma > 1.0:
            x[s] = x_max[s]
        else:
            x[s] = _to_x(gamma, x_max, x)[s]
        attr += (x - x_old) * grad_actual
    return attr


@register
class GuidedIG(SaliencyMethod):
    """Kapishnikov, Venugopalan, Avci, Wedin, Terry & Birodkar 2021, CVPR, sec. 3 (algorithm 1):
    IG along an adaptive path from the baseline x' to x. At each of `x_steps` steps the features
    with the smallest |dS/dx| (a `fraction` of them) move first, so the path avoids the regions of
    high gradient that make IG noisy; no feature strays more than `max_dist` (in alpha) from the
    straight line. attribution = sum over the path of (x_{k+1} - x_k) * dS/dx(x_k).

    PAIR saliency's `guided_ig_impl` and defaults (200 steps, fraction 0.25, max_dist 0.02),
    with any IG baseline (default black). Completeness: sum ~ S(x) - S(x'); the delta is
    reported as for IG. Sequential: each step needs the gradient at the point the last one
    reached, so the steps cannot be batched.
    """

    info = path_info(
        id="guided_ig",
        label="Guided IG",
        summary="Integrated Gradients on a path that moves the least important pixels first, "
        "avoiding the noise of the straight path.",
        paper="Kapishnikov et al. 2021, Guided Integrated Gradients: an Adaptive Path Method "
        "for Removing Noise",
        params=(
            ParamInfo(
                "x_steps", "Steps", "int", 200, minimum=1, maximum=4096, help="PAIR's x_steps."
            ),
            ParamInfo("fraction", "Fraction", "float", 0.25, minimum=0.001, maximum=1.0),
            ParamInfo("max_dist", "Max distance", "float", 0.02, minimum=0.0, maximum=1.0),
            ParamInfo("baseline", "Baseline", "choice", "black", choices=BASELINES),
            seed_param("the noise baseline"),
        ),
        order=40,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        return float(params.get("x_steps", 200))

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        fn = ctx.runtime.batch(ctx.score)
        x_input = ctx.x.astype(np.float64)
        x_baseline = make_baseline(ctx, params["baseline"], params["seed"]).astype(np.float64)
        x = x_baseline.copy()
        attr = np.zeros_like(x_input)
        l1_total = float(np.abs(x_input - x_baseline).sum())
        steps = params["x_steps"]
        lo, hi = ctx.progress_span
        baseline_score = None
        for step in range(steps if l1_total > 0 else 0):
            job.check()
            s, g = fn(x[None].astype(np.float32), np.int32(ctx.target))
            baseline_score = float(np.asarray(s)[0]) if step == 0 else baseline_score
            grad = np.asarray(g, np.float64)[0]
            attr += guided_step(
                x, grad, x_input, x_baseline, step, steps, params["fraction"],
                params["max_dist"], l1_total,
            )  # fmt: skip
            job.report(lo + (hi - lo) * (step + 1) / steps, "guided IG")
        score = ctx.plain().score
        extras = completeness(score, score if baseline_score is None else baseline_score, attr)
        attributions = attr.astype(np.float32)
        return channel_sum(attributions), attributions, None, extras
