"""Integrated Gradients (Sundararajan, Taly & Yan 2017), with alibi's integration rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import EngineError, JobControl, MethodInfo, ParamInfo

RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
BASELINES = ("black", "white", "zeros", "blur", "noise")


def integration_points(rule: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, weights) on [0, 1] such that sum_i w_i f(alpha_i) ~ integral_0^1 f.

    Gauss-Legendre and the Riemann left/right/middle rules are those of alibi (and Captum).
    The trapezoid rule uses step 1/(n-1) on n points, so its weights sum to 1: alibi and Captum
    use 1/n there, which under-weights the integral by (n-1)/n and breaks completeness.
    """
    if n_steps < 2 and rule != "gausslegendre":
        raise EngineError("Integrated Gradients needs at least 2 steps for a Riemann rule.")
    n = int(n_steps)
    if rule == "gausslegendre":
        nodes, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (nodes + 1.0), 0.5 * w
    if rule == "riemann_left":
        return np.linspace(0.0, 1.0 - 1.0 / n, n), np.full(n, 1.0 / n)
    if rule == "riemann_right":
        return np.linspace(1.0 / n, 1.0, n), np.full(n, 1.0 / n)
    if rule == "riemann_middle":
        return np.linspace(0.5 / n, 1.0 - 0.5 / n, n), np.full(n, 1.0 / n)
    if rule == "riemann_trapezoid":
        w = np.full(n, 1.0 / (n - 1))
        w[0] /= 2.0
        w[-1] /= 2.0
        return np.linspace(0.0, 1.0, n), w
    raise EngineError(f"Unknown integration rule {rule!r}; use one of {', '.join(RULES)}.")


def make_baseline(ctx: PassCache, kind: str, seed: int = 0) -> np.ndarray:
    """The baseline x' in model-input space.

    black/white: an all-0 / all-255 image through the model's preprocessing; zeros: zeros in
    model-input space (alibi's default); blur: the image blurred (Gaussian, sigma = 1/10 of the
    shorter side) then preprocessed; noise: uniform random pixels from a seeded generator.
    """
    raw = ctx.raw  # (H, W, C) uint8, as fed to the preprocessing
    pre = ctx.model.preprocess_array
    if kind == "black":
        return pre(np.zeros_like(raw))
    if kind == "white":
        return pre(np.full_like(raw, 255))
    if kind == "zeros":
        return np.zeros_like(ctx.x)
    if kind == "blur":
        import cv2

        sigma = max(min(raw.shape[:2]) / 10.0, 1.0)
        blurred = cv2.GaussianBlur(raw, (0, 0), sigmaX=sigma).reshape(raw.shape)
        return pre(blurred)
    if kind == "noise":
        rng = np.random.default_rng(seed)
        return pre(rng.integers(0, 256, size=raw.shape, dtype=np.uint8))
    raise EngineError(f"Unknown baseline {kind!r}; use one of {', '.join(BASELINES)}.")


@register
class IntegratedGradients(SaliencyMethod):
    """Sundararajan, Taly & Yan 2017, eq. (1):

    IG_i(x) = (x_i - x'_i) * integral_{a=0}^{1} dS(x' + a (x - x'))/dx_i da,

    approximated by a quadrature rule (eq. (3) is the Riemann form). Completeness (prop. 1):
    sum_i IG_i = S(x) - S(x'); the reported delta is sum_i IG_i - (S(x) - S(x')).
    The map is the sum over channels (signed).
    """

    info = MethodInfo(
        id="integrated_gradients",
        label="Integrated Gradients",
        family="path",
        summary="Accumulates gradients along a straight path from a baseline image to the input; "
        "attributions add up to the score difference.",
        paper="Sundararajan, Taly & Yan 2017, Axiomatic Attribution for Deep Networks",
        params=(
            ParamInfo(
                "n_steps",
                "Steps",
                "int",
                50,
                minimum=1,
                maximum=4096,
                help="Number of points on the path (quadrature nodes).",
            ),
            ParamInfo("rule", "Integration rule", "choice", "gausslegendre", choices=RULES),
            ParamInfo("baseline", "Baseline", "choice", "black", choices=BASELINES),
            ParamInfo("seed", "Noise seed", "int", 0, minimum=0, help="For the noise baseline."),
            ParamInfo(
                "backend",
                "Backend",
                "choice",
                "native",
                choices=("native", "alibi"),
                help="native: this engine's batched passes; alibi: alibi's implementation "
                "(optional extra).",
            ),
        ),
        signed=True,
        order=10,
        first_pass_backward=False,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        return max(params.get("n_steps", 50) / max(batch_size, 1), 1.0) * 2.0

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        alphas, weights = integration_points(params["rule"], params["n_steps"])
        baseline = make_baseline(ctx, params["baseline"], params["seed"]).astype(np.float32)
        span = ctx.shared.get("progress_span", (0.0, 1.0))
        if params["backend"] == "alibi":
            from saliency_desktop.engine.methods.alibi_backend import alibi_integrated_gradients

            job.check()
            attributions = alibi_integrated_gradients(
                ctx, baseline, params["rule"], params["n_steps"]
            )
            _, _, baseline_score = ctx.path_integral(baseline, alphas[:1], weights[:1], job, span)
        else:
            integral, _, baseline_score = ctx.path_integral(baseline, alphas, weights, job, span)
            attributions = ((ctx.x - baseline) * integral).astype(np.float32)
        score = ctx.plain().score
        delta = float(attributions.astype(np.float64).sum() - (score - baseline_score))
        extras = {
            "convergence_delta": delta,
            "score": score,
            "baseline_score": baseline_score,
        }
        return attributions.sum(axis=-1).astype(np.float32), attributions, None, extras
