"""The noise tunnel over a gradient method: SmoothGrad, SmoothGrad-squared and VarGrad.

One wrapper (as Captum's `NoiseTunnel`), three ids so that the aggregations can be compared side
by side; the parameter `of` picks the base method. The noise is N(0, sigma^2) from a
counter-based generator (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"; the
"lowbias32" hash, Wellons 2018, and Box-Muller: `engine/noise.py`), drawn on the device inside
the compiled pass `Runtime.noise_tunnel`; the same seed gives the same noise on every backend.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import numpy as np

from saliency_desktop.engine.methods.gradient_x_input import GradientXInput
from saliency_desktop.engine.methods.gradients import (
    DeconvNet,
    GuidedBackprop,
    VanillaGradients,
    channel_max_abs,
)
from saliency_desktop.engine.methods.integrated import (
    IntegratedGradients,
    integration_points,
    make_baseline,
)
from saliency_desktop.engine.noise import gaussian_numpy, seed_word
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import (
    JobControl,
    MethodInfo,
    ParamInfo,
    gradient_info,
    seed_param,
)

BASE_METHODS = (VanillaGradients, GuidedBackprop, DeconvNet, GradientXInput, IntegratedGradients)
BASES = tuple(m.info.id for m in BASE_METHODS)
RULES = {m.info.id: m.info.relu_rule for m in BASE_METHODS if m.info.relu_rule}
PATH_BASE = IntegratedGradients.info.id  # integrated along the path from black (ig_steps)
TIMES_INPUT = {GradientXInput.info.id, PATH_BASE}  # gradient times (x - black), map: channel sum
PARAMS = (
    ParamInfo("of", "Base method", "choice", BASES[0], choices=BASES),
    ParamInfo(
        "noise",
        "Noise level",
        "float",
        0.15,
        minimum=0.0,
        maximum=1.0,
        help="sigma of the Gaussian noise, as a fraction of max(x) - min(x).",
    ),
    ParamInfo(
        "nt_samples",
        "Samples",
        "int",
        50,
        minimum=1,
        maximum=10000,
        help="Noisy copies (Captum's nt_samples).",
    ),
    seed_param("the noise"),
    ParamInfo(
        "ig_steps",
        "IG steps",
        "int",
        32,
        minimum=1,
        maximum=1024,
        help="Gauss-Legendre steps per sample when the base is Integrated Gradients.",
    ),
)


def sample_noise(shape: tuple[int, ...], sigma: float, seed: int, i: int) -> np.ndarray:
    """Noise of sample i, computed on the host: sigma times `noise.gaussian_numpy`, the same
    numbers the noise tunnel's pass draws on the device (up to float32 rounding)."""
    return (np.float32(sigma) * gaussian_numpy(shape, seed, i)).astype(np.float32)


def noise_tunnel_moments(
    ctx: PassCache, params: dict[str, Any], job: JobControl
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, mean of squares) over n noisy copies of the base method's attributions (H, W, C).

    Each copy is x_i = x + sigma z_i, z_i ~ N(0, 1) from the counter-based generator of
    `engine/noise.py` (seed, i), sigma = noise (max x - min x). The copies (and, for IG, their
    Gauss-Legendre path points, a sample's points consecutive) go through the compiled pass
    `Runtime.noise_tunnel` in batches under the memory budget: it draws the noise on the
    device and returns only each batch's sum of a and of (a - batch mean)^2, merged here in
    float64 (the mean of squares is then m2 / n + mean^2: no float32 cancellation for VarGrad).
    """
    x, base, n = ctx.x, params["of"], params["nt_samples"]
    sigma = float(params["noise"]) * float(x.max() - x.min())
    black = make_baseline(ctx, "black").astype(np.float32)[None]
    steps = params["ig_steps"] if base == PATH_BASE else 1
    alphas, weights = integration_points("gausslegendre", steps) if steps > 1 else ([1.0], [1.0])
    alphas, weights = np.asarray(alphas, np.float32), np.asarray(weights, np.float32)
    fn = ctx.runtime.noise_tunnel(ctx.score, RULES.get(base), base in TIMES_INPUT, steps > 1)
    mean = np.zeros(x.shape, np.float64)
    m2 = np.zeros(x.shape, np.float64)  # sum of squared deviations from the mean
    carry, done = np.zeros_like(black), 0
    noise, target, lo, hi = (sigma, seed_word(params["seed"])), ctx.target, *ctx.progress_span
    start, end = 0, n * steps

    def call(k: np.ndarray, carry: np.ndarray) -> Any:
        j = k % steps
        points = ((k // steps).astype(np.int32), alphas[j], weights[j],
                  (j == steps - 1).astype(np.float32))  # fmt: skip
        return fn(ctx.x[None], black, carry, points, noise, target), int(points[3].sum())

    if not ctx.model.batch_measured:  # a trial batch sizes the batches; its sums are not used,
        trial = np.arange(min(ctx.point_batch(), end))  # so reruns are bit-identical
        ctx.measured(partial(call, trial, carry), len(trial))
    while start < end:
        job.check()
        k = np.arange(start, min(start + ctx.point_batch(), end))
        (total, dev_sq, carry, _), count = call(k, carry)
        if count:  # Chan, Golub & LeVeque 1979: merge (count, mean, m2) of the batch
            delta = np.asarray(total, np.float64) / count - mean
            mean += delta * (count / (done + count))
            m2 += np.asarray(dev_sq, np.float64) + delta * delta * (done * count / (done + count))
            done += count
        carry = np.asarray(carry, np.float32)
        start += len(k)
        job.report(lo + (hi - lo) * start / end, "noise tunnel")
    return mean, m2 / n + mean * mean


class _NoiseTunnel(SaliencyMethod):
    """Aggregates the base method's attributions over noisy copies (see `aggregate`)."""

    aggregation: ClassVar[str]

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        steps = params.get("ig_steps", 32) if params.get("of") == PATH_BASE else 1
        return max(params.get("nt_samples", 50) * steps / max(batch_size, 1), 1.0) * 2.0

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        mean, mean_sq = noise_tunnel_moments(ctx, params, job)
        if self.aggregation == "mean":
            attributions = mean
        elif self.aggregation == "mean_sq":
            attributions = mean_sq
        else:
            attributions = np.maximum(mean_sq - mean * mean, 0.0)
        attributions = attributions.astype(np.float32)
        if params["of"] in TIMES_INPUT:
            heat = attributions.sum(axis=-1)  # the base method's own map: channel sum
        else:
            heat = channel_max_abs(attributions)  # Simonyan's map, as the base method
        sigma = float(params["noise"]) * float(ctx.x.max() - ctx.x.min())
        return heat.astype(np.float32), attributions, None, {"sigma": sigma}


def noise_tunnel_info(**fields: Any) -> MethodInfo:
    """A noise tunnel: a gradient method over noisy copies, in passes of its own, with `PARAMS`;
    `fields` are the rest of its `MethodInfo`."""
    return gradient_info(params=PARAMS, first_pass_backward=False, **fields)


@register
class SmoothGrad(_NoiseTunnel):
    """Smilkov, Thorat, Kim, Viegas & Wattenberg 2017, eq. (3):
    M^(x) = (1/n) sum_{i=1..n} M(x + N(0, sigma^2)), with M the base method's attributions
    (Captum's NoiseTunnel "smoothgrad"); sigma = noise (max x - min x), sec. 3.2."""

    aggregation = "mean"
    info = noise_tunnel_info(
        id="smoothgrad",
        label="SmoothGrad",
        summary="Averages a gradient method's attributions over noisy copies of the image.",
        paper="Smilkov et al. 2017, SmoothGrad: removing noise by adding noise",
        signed=True,
        order=50,
    )


@register
class SmoothGradSquared(_NoiseTunnel):
    """Smilkov et al. 2017, eq. (3) with squared attributions: (1/n) sum_i M(x + N(0, sigma^2))^2
    (PAIR saliency's GetSmoothedMask(magnitude=True); Captum's "smoothgrad_sq")."""

    aggregation = "mean_sq"
    info = noise_tunnel_info(
        id="smoothgrad_squared",
        label="SmoothGrad squared",
        summary="Averages the squares of a gradient method's attributions over noisy copies.",
        paper=SmoothGrad.info.paper,
        order=51,
        default_on=False,
    )


@register
class VarGrad(_NoiseTunnel):
    """Adebayo, Gilmer, Goodfellow & Kim 2018 (arXiv:1810.03307), sec. 2.1:
    V(x) = Var_i M(x + N(0, sigma^2)) = mean of squares - square of mean (population variance,
    as Captum's "vargrad")."""

    aggregation = "var"
    info = noise_tunnel_info(
        id="vargrad",
        label="VarGrad",
        summary="The variance of a gradient method's attributions over noisy copies.",
        paper="Adebayo et al. 2018, Local Explanation Methods for Deep Neural Networks Lack "
        "Sensitivity to Parameter Values",
        order=52,
        default_on=False,
    )
