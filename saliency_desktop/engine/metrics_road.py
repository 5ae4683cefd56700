"""ROAD: RemOve And Debias (Rong, Leemann, Borisov, Kasneci & Kasneci 2022, ICML).

Pixels are removed by *noisy linear imputation* (sec. 4 of the paper; the reference code of
Leemann, as in pytorch-grad-cam's `metrics/road.py` and Quantus' `noisy_linear_imputation`):
each removed pixel is the weighted mean of its 8 neighbours (1/6 for the 4 direct ones, 1/12 for
the diagonals, weights of neighbours outside the image dropped), a sparse linear system solved
for all removed pixels at once, channel by channel; then Gaussian noise (sigma 0.01 of the [0, 1]
pixel range) is added to the imputed pixels. The imputed value leaks no information about the
removed pixel's own value, which is the debiasing.

MoRF removes the most relevant 10, 20, ... 90 % of the pixels (order of `map`, descending),
LeRF the least relevant; P is the target's probability on each imputed image.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

PERCENTS = tuple(range(10, 100, 10))
NOISE = 0.01  # of the [0, 1] pixel range, as the reference implementation on [0, 1] images
NEIGHBOURS = (
    ((1, 1), 1 / 12),
    ((0, 1), 1 / 6),
    ((-1, 1), 1 / 12),
    ((1, -1), 1 / 12),
    ((0, -1), 1 / 6),
    ((-1, -1), 1 / 12),
    ((1, 0), 1 / 6),
    ((-1, 0), 1 / 6),
)


System = tuple[np.ndarray, np.ndarray, np.ndarray, int]  # COO rows, cols, values; size n


def imputation_system(mask: np.ndarray, img: np.ndarray) -> tuple[System, np.ndarray, np.ndarray]:
    """(A, b, removed): A (n, n) as COO triplets, right-hand side b (n, C), removed indices.

    `mask` (H, W) is True where a pixel is kept; `img` (H, W, C). Row i says: the removed pixel
    i times the sum of its in-image neighbour weights equals the weighted sum of its neighbours.
    """
    h, w = mask.shape
    keep = mask.ravel()
    flat = img.reshape(h * w, -1).astype(np.float64)
    removed = np.flatnonzero(~keep)
    var = np.full(h * w, -1)
    var[removed] = np.arange(removed.size)
    rows0, cols0 = np.divmod(removed, w)
    diag = np.zeros(removed.size)
    b = np.zeros((removed.size, flat.shape[1]))
    ri: list[np.ndarray] = []
    ci: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for (dr, dc), weight in NEIGHBOURS:
        r, c = rows0 + dr, cols0 + dc
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        eq = np.flatnonzero(inside)
        nb = r[inside] * w + c[inside]
        diag[eq] += weight
        known = keep[nb]
        b[eq[known]] += weight * flat[nb[known]]
        ri.append(eq[~known])
        ci.append(var[nb[~known]])
        vals.append(np.full(int((~known).sum()), -weight))
    ri.append(np.arange(removed.size))
    ci.append(np.arange(removed.size))
    vals.append(diag)
    rows, cols, data = np.concatenate(ri), np.concatenate(ci), np.concatenate(vals)
    return (rows, cols, data, removed.size), b, removed


def _solve(system: System, b: np.ndarray) -> np.ndarray:
    """Solve the (symmetric, diagonally dominant) system: SciPy's sparse LU when installed,
    else conjugate gradients in numpy (to 1e-10 relative residual)."""
    rows, cols, data, n = system
    try:
        from scipy.sparse import csc_matrix
        from scipy.sparse.linalg import spsolve
    except ImportError:
        return _conjugate_gradients(rows, cols, data, n, b)
    a = csc_matrix((data, (rows, cols)), shape=(n, n))
    return np.asarray(spsolve(a, b)).reshape(n, -1)


def _conjugate_gradients(
    rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int, b: np.ndarray
) -> np.ndarray:
    def matvec(v: np.ndarray) -> np.ndarray:
        out = np.zeros_like(v)
        np.add.at(out, rows, data[:, None] * v[cols])
        return out

    x = np.zeros_like(b)
    r = b - matvec(x)
    p = r.copy()
    rs = (r * r).sum(axis=0)
    tol = 1e-20 * max(float((b * b).sum()), 1e-30)
    for _ in range(10 * n + 10):
        if float(rs.sum()) <= tol:
            break
        ap = matvec(p)
        alpha = rs / np.maximum((p * ap).sum(axis=0), 1e-300)
        x += alpha * p
        r -= alpha * ap
        new = (r * r).sum(axis=0)
        p = r + (new / np.maximum(rs, 1e-300)) * p
        rs = new
    return x


def impute(
    img: np.ndarray, keep: np.ndarray, noise: float = 0.0, rng: np.random.Generator | None = None
) -> np.ndarray:
    """`img` (H, W, C) with the pixels where `keep` is False linearly imputed (+ noise)."""
    out = img.astype(np.float64).copy()
    if keep.all():
        return out
    system, b, removed = imputation_system(keep, img)
    values = _solve(system, b)
    if noise > 0:
        rng = rng or np.random.default_rng(0)
        values = values + noise * rng.standard_normal(values.shape)
    flat = out.reshape(-1, out.shape[-1])
    flat[removed] = values
    return out


def road_inputs(
    raw: np.ndarray, rank: np.ndarray, preprocess: Callable[[np.ndarray], np.ndarray], seed: int
) -> list[np.ndarray]:
    """The 18 model inputs: MoRF at 10..90 % removed, then LeRF likewise (preprocessed)."""
    h, w = rank.shape
    pixels = raw.astype(np.float64) / 255.0  # impute on [0, 1]; noise is relative to this range
    rng = np.random.default_rng(seed)
    inputs = []
    for most_first in (True, False):
        for pct in PERCENTS:
            k = int(round(h * w * pct / 100))
            removed = rank < k if most_first else rank >= h * w - k
            filled = impute(pixels, ~removed, NOISE, rng)
            inputs.append(preprocess(filled * 255.0))
    return inputs
