"""Felzenszwalb-Huttenlocher segmentation and XRAI's region masks, without SciPy/scikit-image.

XRAI (PAIR saliency) segments with scikit-image's `felzenszwalb`; the app's bundle leaves SciPy
and scikit-image out, so this module re-implements the same algorithm (numpy + OpenCV): the same
smoothing, edge costs (8-connectivity), edge order (numpy's argsort of the same costs), merge
rule (float32 inner costs, as the Cython code) and small-segment post-processing.
"""

from __future__ import annotations

from array import array

import numpy as np

SCALES = (50, 100, 150, 250, 500, 1200)  # PAIR's _FELZENSZWALB_SCALE_VALUES
SIGMA = 0.8  # _FELZENSZWALB_SIGMA_VALUES
RESIZE = (224, 224)  # _FELZENSZWALB_IM_RESIZE
MIN_SEGMENT_SIZE = 150  # _FELZENSZWALB_MIN_SEGMENT_SIZE
DILATION_RADIUS = 5


def smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing over H and W as scipy.ndimage.gaussian_filter (mode "reflect",
    truncate 4), in float64."""
    import cv2

    radius = int(4.0 * sigma + 0.5)
    t = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * t**2 / sigma**2)
    kernel /= kernel.sum()
    img = image.astype(np.float64)
    out = np.empty_like(img)
    for c in range(img.shape[2]):
        out[..., c] = cv2.sepFilter2D(
            img[..., c], cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT
        )
    return out


def _edges(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(edges (E, 2), costs (E,)) of the 8-connected grid, sorted by cost as scikit-image."""
    h, w = image.shape[:2]
    ids = np.arange(h * w, dtype=np.intp).reshape(h, w)

    def cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sqrt(np.sum((a - b) * (a - b), axis=-1)).ravel()

    costs = np.hstack(
        [
            cost(image[:, 1:], image[:, : w - 1]),
            cost(image[1:, :], image[: h - 1, :]),
            cost(image[1:, 1:], image[: h - 1, : w - 1]),
            cost(image[1:, : w - 1], image[: h - 1, 1:]),
        ]
    ).astype(float)
    edges = np.vstack(
        [
            np.c_[ids[:, 1:].ravel(), ids[:, : w - 1].ravel()],
            np.c_[ids[1:, :].ravel(), ids[: h - 1, :].ravel()],
            np.c_[ids[1:, 1:].ravel(), ids[: h - 1, : w - 1].ravel()],
            np.c_[ids[: h - 1, 1:].ravel(), ids[1:, : w - 1].ravel()],
        ]
    )
    order = np.argsort(costs)
    return edges[order], costs[order]


def felzenszwalb(
    image: np.ndarray, scale: float, sigma: float = SIGMA, min_size: int = MIN_SEGMENT_SIZE
) -> np.ndarray:
    """Felzenszwalb & Huttenlocher 2004, IJCV, sec. 4 (algorithm 1): (H, W) integer labels.

    Edges are taken in increasing weight; an edge joins its two components C0, C1 when
    w < min(Int(C0) + k/|C0|, Int(C1) + k/|C1|), k = scale / 255 (scikit-image's convention);
    then components under `min_size` pixels are merged along the remaining edges in order."""
    return felzenszwalb_scales(image, (scale,), sigma, min_size)[0]


def felzenszwalb_scales(
    image: np.ndarray,
    scales: tuple[float, ...],
    sigma: float = SIGMA,
    min_size: int = MIN_SEGMENT_SIZE,
) -> list[np.ndarray]:
    """`felzenszwalb` at several scales, sharing the smoothing and the sorted edges."""
    smoothed = smooth(image, sigma)
    h, w = smoothed.shape[:2]
    edges, costs = _edges(smoothed)
    pairs = list(zip(edges[:, 0].tolist(), edges[:, 1].tolist(), costs.tolist(), strict=True))
    return [_segment(pairs, edges, h * w, float(k) / 255.0, min_size).reshape(h, w) for k in scales]


def _roots(parent: list[int]) -> np.ndarray:
    flat = np.asarray(parent)
    while True:
        nxt = flat[flat]
        if (nxt == flat).all():
            return flat
        flat = nxt


def _segment(
    pairs: list[tuple[int, int, float]], edges: np.ndarray, n: int, k: float, min_size: int
) -> np.ndarray:
    parent = list(range(n))
    size = [1] * n
    inner = [0.0] * n
    f32 = array("f", [k])  # the Cython code keeps Int(C) + k/|C| in a C float
    thr = [f32[0]] * n  # the threshold of each root, recomputed only when it merges
    for a, b, c in pairs:
        while parent[a] != a:  # find with path halving
            parent[a] = a = parent[parent[a]]
        while parent[b] != b:
            parent[b] = b = parent[parent[b]]
        if a == b or c >= thr[a] or c >= thr[b]:
            continue
        if b < a:
            a, b = b, a
        parent[b] = a
        size[a] += size[b]
        inner[a] = c
        f32[0] = c + k / size[a]
        thr[a] = f32[0]
    roots = _roots(parent)
    sizes = np.asarray(size)
    small = np.flatnonzero(
        (sizes[roots[edges[:, 0]]] < min_size) | (sizes[roots[edges[:, 1]]] < min_size)
    )
    for e in small.tolist():
        a, b = pairs[e][0], pairs[e][1]
        while parent[a] != a:
            parent[a] = a = parent[parent[a]]
        while parent[b] != b:
            parent[b] = b = parent[parent[b]]
        if a != b and (size[a] < min_size or size[b] < min_size):
            if b < a:
                a, b = b, a
            parent[b] = a
            size[a] += size[b]
    return np.unique(_roots(parent), return_inverse=True)[1]


def normalise(image: np.ndarray) -> np.ndarray:
    """Values to [-1, 1] (min-max) and size to 224 x 224 (bicubic), as PAIR's _normalize_image."""
    import cv2

    im = image.astype(np.float64)
    im = (im - im.min()) / max(float(im.max() - im.min()), 1e-12) * 2.0 - 1.0
    if im.shape[:2] != RESIZE:
        im = cv2.resize(im, RESIZE[::-1], interpolation=cv2.INTER_CUBIC).reshape(*RESIZE, -1)
    return im


def disk(radius: int) -> np.ndarray:
    """scikit-image's disk: x^2 + y^2 <= r^2."""
    t = np.arange(-radius, radius + 1)
    return ((t[:, None] ** 2 + t[None, :] ** 2) <= radius**2).astype(np.uint8)


def xrai_masks(image: np.ndarray) -> list[np.ndarray]:
    """PAIR's _get_segments_felzenszwalb: one boolean mask per segment of each scale, dilated by
    a disk of radius 5, at the image's size."""
    import cv2

    h, w = image.shape[:2]
    im = normalise(image)
    footprint = disk(DILATION_RADIUS)
    masks = []
    for seg in felzenszwalb_scales(im, SCALES):
        if seg.shape != (h, w):
            seg = cv2.resize(seg.astype(np.int32), (w, h), interpolation=cv2.INTER_NEAREST_EXACT)
        for label in range(int(seg.min()), int(seg.max()) + 1):
            mask = (seg == label).astype(np.uint8)
            masks.append(cv2.dilate(mask, footprint).astype(bool))
    return masks
