"""Find the face in a photo, for face models (trained on tight face crops, e.g. the emotions
model): the app explains the crop and draws the map back on the whole photo at its place.

The detector is a cascade shipped inside an installed package, never a download: OpenCV's Haar
cascade (`cv2.data.haarcascades`, OpenCV 4) when this OpenCV has `CascadeClassifier`, otherwise
the OpenCV LBP frontal-face cascade that scikit-image ships (`skimage.data`). Viola & Jones 2001,
Rapid Object Detection using a Boosted Cascade of Simple Features; Liao et al. 2007 (LBP).
No Qt, no TensorFlow.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

import numpy as np

MAX_SIDE = 640  # detection runs on a copy this size at most (fast; faces are not tiny)
MARGIN = 0.25  # the crop adds this much of the face's size on each side (hair, chin)
UNAVAILABLE = "no face detector is installed (OpenCV 4 with its Haar cascades, or scikit-image)"


class Box(NamedTuple):
    """A rectangle in image pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int


@cache
def _detector() -> tuple[str, Any] | None:
    try:
        import cv2

        path = getattr(getattr(cv2, "data", None), "haarcascades", "")
        path = f"{path}haarcascade_frontalface_default.xml" if path else ""
        if hasattr(cv2, "CascadeClassifier") and path:
            classifier = cv2.CascadeClassifier(path)
            if not classifier.empty():
                return "opencv", classifier
    except ImportError:
        pass
    try:
        from skimage import data
        from skimage.feature import Cascade
    except ImportError:
        return None
    return "skimage", Cascade(data.lbp_frontal_face_cascade_filename())


def available() -> str:
    """ "" when a detector is installed, else the reason there is none."""
    return "" if _detector() is not None else UNAVAILABLE


def _faces(gray: np.ndarray) -> list[Box]:
    found = _detector()
    if found is None:
        return []
    kind, det = found
    side = min(gray.shape) // 8
    if kind == "opencv":
        rects = det.detectMultiScale(gray, 1.1, 5, minSize=(side, side))
        return [Box(*map(int, r)) for r in rects]
    big = (max(gray.shape),) * 2
    hits = det.detect_multi_scale(
        img=gray, scale_factor=1.2, step_ratio=1, min_size=(side, side), max_size=big
    )
    return [Box(int(d["c"]), int(d["r"]), int(d["width"]), int(d["height"])) for d in hits]


def detect_face(rgb: np.ndarray) -> Box | None:
    """The largest face in an RGB uint8 image, widened by MARGIN and made square, clipped to
    the image (None when no face is found or no detector is installed)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    gray = rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if scale < 1.0:  # area-averaged: no aliasing on a large photo
        import cv2

        size = (max(round(w * scale), 1), max(round(h * scale), 1))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    faces = _faces(np.clip(gray, 0, 255).astype(np.uint8))
    if not faces:
        return None
    f = max(faces, key=lambda b: b.w * b.h)
    side = max(f.w, f.h) * (1 + 2 * MARGIN) / scale
    cx, cy = (f.x + f.w / 2) / scale, (f.y + f.h / 2) / scale
    side = min(side, w, h)
    x0 = int(round(min(max(cx - side / 2, 0), w - side)))
    y0 = int(round(min(max(cy - side / 2, 0), h - side)))
    return Box(x0, y0, int(side), int(side))


def crop(rgb: np.ndarray, box: Box) -> np.ndarray:
    return np.ascontiguousarray(rgb[box.y : box.y + box.h, box.x : box.x + box.w])
