"""Similarity of two saliency maps: Spearman rank correlation and SSIM (numpy + OpenCV only).

Used by the model-parameter randomisation test (Adebayo et al. 2018, sec. 3) and the random
logit test (Sixt et al. 2020): both compare |map| before and after a change.
"""

from __future__ import annotations

import numpy as np


def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of the flattened values, ties given their average rank (as scipy's)."""
    flat = np.asarray(values, np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    sorted_values = flat[order]
    # start of each run of equal values, and the average rank of the run
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    run = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    ends = np.r_[first[1:], flat.size]
    average = (first + ends + 1) / 2.0  # mean of ranks first+1 .. ends
    ranks = np.empty(flat.size)
    ranks[order] = average[run]
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of |a| and |b| (Adebayo et al. 2018, sec. 3).

    A constant map has no ranking to agree with: its correlation is taken as 0.
    """
    ra, rb = rankdata(np.abs(a)), rankdata(np.abs(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return 0.0 if denom == 0.0 else float((ra * rb).sum() / denom)


def normalise(saliency: np.ndarray) -> np.ndarray:
    """|map| / max |map| in [0, 1] (all zeros stays zeros), as Adebayo et al. compare maps."""
    a = np.abs(np.asarray(saliency, np.float64))
    top = float(a.max()) if a.size else 0.0
    return a / top if top > 0 else a


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004, eq. 13) of the normalised maps, data range 1.

    Gaussian window of sigma 1.5 (11x11), K1 = 0.01, K2 = 0.03, population covariances,
    borders excluded as in scikit-image (`gaussian_weights=True, use_sample_covariance=False`).
    """
    import cv2

    x, y = normalise(a), normalise(b)
    c1, c2 = 0.01**2, 0.03**2

    def blur(img: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    pad = 5  # (win_size - 1) // 2 of an 11-pixel window
    inner = s[pad:-pad, pad:-pad] if min(s.shape) > 2 * pad else s
    return float(inner.mean())
