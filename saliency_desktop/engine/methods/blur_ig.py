"""Blur Integrated Gradients (Xu, Venugopalan, Sundararajan 2020), as PAIR saliency computes it."""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.batched import batched_gradients
from saliency_desktop.engine.methods.integrated import completeness
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import JobControl, ParamInfo, path_info

TRUNCATE = 4.0  # kernel radius in sigmas, as scipy.ndimage.gaussian_filter


def gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n) matrix B with B @ v = v blurred along its axis by a Gaussian of std `sigma`.

    The kernel and the zero padding are scipy.ndimage.gaussian_filter's (mode "constant",
    truncate 4): radius int(4 sigma + 0.5), weights exp(-t^2 / (2 sigma^2)) normalised."""
    if sigma == 0:
        return np.eye(n)
    radius = int(TRUNCATE * sigma + 0.5)
    t = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * t**2 / sigma**2)
    kernel /= kernel.sum()
    d = np.arange(n)[None, :] - np.arange(n)[:, None]  # j - i
    return np.where(np.abs(d) <= radius, kernel[np.clip(d + radius, 0, 2 * radius)], 0.0)


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, C) image blurred over H and W (PAIR's blur_ig.gaussian_blur), as two products
    with banded matrices: exact for any sigma, and fast for the large ones Blur IG uses."""
    if sigma == 0:
        return image.astype(np.float64)
    h, w, _ = image.shape
    rows = np.tensordot(gaussian_matrix(h, sigma), image.astype(np.float64), axes=(1, 0))
    return np.einsum("vw,hwc->hvc", gaussian_matrix(w, sigma), rows, optimize=True)


def blur_sigmas(max_sigma: float, steps: int, spacing: str) -> np.ndarray:
    """sigma_0 = 0, ..., sigma_steps = max_sigma: linear, or PAIR's sqrt option."""
    i = np.arange(steps + 1, dtype=np.float64)
    sigmas = i * max_sigma / steps
    return np.sqrt(sigmas) if spacing == "sqrt" else sigmas


@register
class BlurIG(SaliencyMethod):
    """Xu, Venugopalan & Sundararajan 2020, CVPR, eq. (3): IG along the path of ever stronger
    Gaussian blur, gamma(sigma) = G(x, sigma), from x (sigma 0) to G(x, max_sigma):

    BlurIG_i(x) = - sum_{k=0}^{steps-1} (sigma_{k+1} - sigma_k) dG_i/dsigma(sigma_k)
                  * dS/dx_i(G(x, sigma_k)),

    dG/dsigma ~ (G(x, sigma_k + grad_step) - G(x, sigma_k)) / grad_step, exactly as PAIR
    saliency's `BlurIG.GetMask` (defaults max_sigma 50, 100 steps, grad_step 0.01, linear
    sigmas; blur with zero padding). Completeness: sum_i BlurIG_i ~ S(x) - S(G(x, max_sigma));
    the delta is reported as for IG. The map is the sum over channels (signed).
    """

    info = path_info(
        id="blur_ig",
        label="Blur IG",
        summary="Integrates gradients along a path of ever stronger blur, from the image to a "
        "fully blurred copy: no baseline image to choose.",
        paper="Xu, Venugopalan & Sundararajan 2020, Attribution in Scale and Space",
        params=(
            ParamInfo("max_sigma", "Max sigma", "float", 50.0, minimum=0.1, maximum=500.0),
            ParamInfo("steps", "Steps", "int", 100, minimum=1, maximum=4096, help="PAIR's steps."),
            ParamInfo("grad_step", "Gradient step", "float", 0.01, minimum=1e-4, maximum=1.0),
            ParamInfo("spacing", "Sigma spacing", "choice", "linear", choices=("linear", "sqrt")),
        ),
        order=30,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        return max((params.get("steps", 100) + 1) / max(batch_size, 1), 1.0) * 2.0

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        x, steps, step = ctx.x, params["steps"], params["grad_step"]
        sigmas = blur_sigmas(params["max_sigma"], steps, params["spacing"])
        directions: dict[int, np.ndarray] = {}
        total = np.zeros(x.shape, np.float64)

        def make_batch(start: int, stop: int) -> np.ndarray:
            points = []
            for k in range(start, stop):
                point = gaussian_blur(x, sigmas[k])
                if k < steps:  # the last point, G(x, max_sigma), is there for its score
                    ahead = gaussian_blur(x, sigmas[k] + step)
                    directions[k] = (sigmas[k + 1] - sigmas[k]) * (ahead - point) / step
                points.append(point)
            return np.stack(points)

        def consume(start: int, stop: int, points: np.ndarray, grads: np.ndarray) -> None:
            for k in range(start, min(stop, steps)):
                total[...] -= directions.pop(k) * grads[k - start]

        scores = batched_gradients(ctx, make_batch, steps + 1, job, "blur IG", consume)
        attributions = total.astype(np.float32)
        return (
            attributions.sum(axis=-1),
            attributions,
            None,
            completeness(scores[0], scores[-1], attributions),
        )
