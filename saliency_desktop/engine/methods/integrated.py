"""Integrated Gradients (Sundararajan, Taly & Yan 2017), with alibi's integration rules.

`n_steps="auto"` (the default) grows the number of steps until the completeness gap meets the
tolerance; see `converged_integral`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.batched import path_integrals
from saliency_desktop.engine.methods.gradients import channel_sum
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import (
    EngineError,
    JobControl,
    ParamInfo,
    path_info,
    seed_param,
)

AUTO_CAP = 1024  # most gradient evaluations n_steps='auto' spends
PANEL = 16  # nodes per panel of the adaptive rule

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


def _panel_points(
    rule: str, panels: list[tuple[float, float]], splits: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """The nodes of `rule` (PANEL points) on each panel [a, b], then the split points.

    Returns (alphas (n,), weights (len(panels), n)): row j integrates over panel j only; the
    split points have zero weight (their scores S are what is wanted)."""
    nodes, w = integration_points(rule, PANEL)
    alphas = [a + (b - a) * nodes for a, b in panels] + [np.asarray(splits, np.float64)]
    weights = np.zeros((len(panels), PANEL * len(panels) + len(splits)))
    for j, (a, b) in enumerate(panels):
        weights[j, j * PANEL : (j + 1) * PANEL] = (b - a) * w
    return np.concatenate(alphas), weights


def converged_integral(
    ctx: PassCache,
    baseline: np.ndarray,
    rule: str,
    tolerance: float,
    job: JobControl,
    span: tuple[float, float],
    cap: int = AUTO_CAP,
) -> tuple[np.ndarray, float, int]:
    """(integral of dS/dx along the path, S(x'), gradient evaluations) for n_steps='auto'.

    Adaptive composite quadrature: [0, 1] is cut into panels, each integrated with PANEL nodes
    of `rule`. Completeness holds on every panel, integral_a^b dS/dalpha = S(b) - S(a), so each
    panel's own gap e = (x - x') . I_panel - (S(b) - S(a)) is known; the panels with the largest
    |e| are halved (their nodes are discarded; the split point's S comes from one more point)
    until delta = sum e meets |delta| <= tolerance |S(x) - S(x')|, or no halving fits in `cap`
    evaluations.
    ReLU networks make dS/dalpha piecewise constant with most of its jumps near the baseline,
    where uniform rules (any order) converge as 1/n; halving where the gap is puts the nodes there.
    """
    score = ctx.plain().score
    diff = (ctx.x - baseline).astype(np.float64)
    lo, hi = span
    per_batch = max(1, ctx.model.batch_size // (2 * PANEL + 1))
    known = {1.0: score}  # alpha -> S
    done: list[tuple[float, float, np.ndarray, float]] = []  # (a, b, integral, its gap)
    todo, splits, used = [(0.0, 0.5), (0.5, 1.0)], [0.0, 0.5], 0
    while True:
        alphas, weights = _panel_points(rule, todo, splits)
        sub = (lo + (hi - lo) * used / cap, lo + (hi - lo) * min((used + len(alphas)) / cap, 1))
        integrals, scores = path_integrals(ctx, baseline, alphas, weights, job, sub)
        used += len(alphas)
        known.update(zip(splits, scores[len(alphas) - len(splits) :].tolist(), strict=True))
        for (a, b), i in zip(todo, integrals, strict=True):
            gap = float((diff * i).sum()) - (known[b] - known[a])
            done.append((a, b, i.astype(np.float32), gap))
        delta = sum(p[3] for p in done)
        room = (cap - used) // (2 * PANEL + 1)  # panels that can still be halved
        if abs(delta) <= max(tolerance * abs(score - known[0.0]), 1e-6) or room < 1:
            break
        worst = sorted(range(len(done)), key=lambda j: -abs(done[j][3]))[: min(per_batch, room)]
        todo, splits = [], []
        for j in worst:
            a, b = done[j][:2]
            todo += [(a, (a + b) / 2), ((a + b) / 2, b)]
            splits.append((a + b) / 2)
        done = [p for j, p in enumerate(done) if j not in worst]
    integral = np.sum([p[2] for p in done], axis=0, dtype=np.float64).astype(np.float32)
    return integral, known[0.0], used


@register
class IntegratedGradients(SaliencyMethod):
    """Sundararajan, Taly & Yan 2017, eq. (1):

    IG_i(x) = (x_i - x'_i) * integral_{a=0}^{1} dS(x' + a (x - x'))/dx_i da,

    approximated by a quadrature rule (eq. (3) is the Riemann form). Completeness (prop. 1):
    sum_i IG_i = S(x) - S(x'); the reported delta is sum_i IG_i - (S(x) - S(x')).
    The map is the sum over channels (signed).
    """

    info = path_info(
        id="integrated_gradients",
        label="Integrated Gradients",
        summary="Accumulates gradients along a straight path from a baseline image to the input; "
        "attributions add up to the score difference.",
        paper="Sundararajan, Taly & Yan 2017, Axiomatic Attribution for Deep Networks",
        params=(
            ParamInfo(
                "n_steps",
                "Steps",
                "int_or_auto",
                "auto",
                minimum=1,
                maximum=4096,
                help="Number of points on the path (quadrature nodes); auto: grown until "
                "|delta| <= tolerance x |S(x) - S(x')| (at most 1024).",
                option="--ig-steps",
                quick=16,  # enough to prove the path method runs
            ),
            ParamInfo(
                "tolerance",
                "Tolerance",
                "float",
                0.05,
                minimum=1e-4,
                maximum=1.0,
                help="For auto steps: the largest |delta| / |S(x) - S(x')| accepted.",
            ),
            ParamInfo(
                "rule",
                "Integration rule",
                "choice",
                "gausslegendre",
                choices=RULES,
                option="--ig-method",
            ),
            ParamInfo(
                "baseline", "Baseline", "choice", "black", choices=BASELINES, option="--baseline"
            ),
            seed_param("the noise baseline"),
            ParamInfo(
                "backend",
                "Backend",
                "choice",
                "native",
                choices=("native", "alibi"),
                help="native: this engine's batched passes; alibi: alibi's implementation "
                "(optional extra).",
                option="--ig-backend",
            ),
        ),
        order=10,
        default_on=True,  # the path method chosen by default
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        steps = params.get("n_steps", "auto")
        steps = 160 if steps == "auto" else steps  # a typical auto count on a photo
        return max(steps / max(batch_size, 1), 1.0) * 2.0

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        baseline = make_baseline(ctx, params["baseline"], params["seed"]).astype(np.float32)
        attributions, extras = ig_attributions(ctx, baseline, params, job, ctx.progress_span)
        return channel_sum(attributions).astype(np.float32), attributions, None, extras


def ig_attributions(
    ctx: PassCache,
    baseline: np.ndarray,
    params: dict[str, Any],
    job: JobControl,
    span: tuple[float, float],
) -> tuple[np.ndarray, dict[str, Any]]:
    """IG attributions (H, W, C) from `baseline` with params n_steps, rule, tolerance, backend,
    and the extras: steps used, the completeness delta and |delta| / |S(x) - S(x')|."""
    rule, n_steps = params["rule"], params["n_steps"]
    if params.get("backend", "native") == "alibi":
        from saliency_desktop.engine.methods.alibi_backend import (
            INSTALL_HINT,
            alibi_integrated_gradients,
        )

        job.check()
        try:
            import alibi.explainers  # noqa: F401
        except ImportError:
            raise EngineError(INSTALL_HINT) from None
        if n_steps == "auto":
            raise EngineError(
                "Integrated Gradients: the alibi backend takes a fixed number of steps "
                "(n_steps), not auto."
            )
        attributions = alibi_integrated_gradients(ctx, baseline, rule, n_steps)
        alphas, weights = integration_points(rule, n_steps)
        _, _, baseline_score = ctx.path_integral(baseline, alphas[:1], weights[:1], job, span)
    else:
        if n_steps == "auto":
            integral, baseline_score, n_steps = converged_integral(
                ctx, baseline, rule, params["tolerance"], job, span
            )
        else:
            alphas, weights = integration_points(rule, n_steps)
            integral, _, baseline_score = ctx.path_integral(baseline, alphas, weights, job, span)
        attributions = ((ctx.x - baseline) * integral).astype(np.float32)
    extras = completeness(ctx.plain().score, baseline_score, attributions)
    return attributions, {**extras, "steps": int(n_steps)}


def completeness(score: float, end_score: float, attributions: np.ndarray) -> dict[str, Any]:
    """The completeness check of a path method: delta = sum(attributions) - (S(x) - S(end))."""
    score, end_score = float(score), float(end_score)
    delta = float(attributions.astype(np.float64).sum() - (score - end_score))
    gap = abs(score - end_score)
    return {
        "convergence_delta": delta,
        "relative_delta": abs(delta) / gap if gap > 0 else None,
        "score": score,
        "baseline_score": end_score,
    }
