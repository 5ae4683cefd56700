"""Weakly supervised localization from a saliency map, and its scores against ground truth.

* `map_box`: the Grad-CAM paper's box (Selvaraju et al. 2017, sec. 4.1): threshold the map at
  15 % of its maximum, take the bounding box of the largest connected component (OpenCV,
  8-connectivity) of the map resized to the original image. Coordinates (x0, y0, x1, y1) are
  inclusive, in original-image pixels.
* `iou` and `pointing_hit`: intersection over union, and the pointing game (Zhang et al. 2016,
  "Top-down Neural Attention by Excitation Backprop"): a hit when the map's maximum lies within
  15 px of a ground-truth box, as TorchRay's `PointingGame(tolerance=15)`.
* `load_annotations`: ground-truth boxes from a Pascal VOC XML file (or a folder of them) or a
  COCO JSON file, size-limited, with DTDs and entities refused (no defusedxml needed).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine.types import EngineError

Box = tuple[int, int, int, int]  # x0, y0, x1, y1, inclusive
DEFAULT_THRESHOLD = 0.15
DEFAULT_TOLERANCE = 15
MAX_XML_BYTES = 1 << 20
MAX_JSON_BYTES = 256 << 20
MAX_XML_FILES = 100_000


@dataclass(frozen=True)
class GroundTruth:
    """One annotated object: its class name and box (inclusive, 0-based original pixels)."""

    label: str
    box: Box


def resize_to(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The map resized (bilinear, half-pixel centres) to (height, width)."""
    import cv2

    h, w = size
    return cv2.resize(np.asarray(heat, np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def map_box(
    heat: np.ndarray, size: tuple[int, int], threshold: float = DEFAULT_THRESHOLD
) -> Box | None:
    """The box of the largest component where the resized map >= threshold * its max.

    `size` is the original image's (height, width). None when the map has no positive value.
    """
    import cv2

    if not 0.0 < threshold <= 1.0:
        raise EngineError(f"The box threshold must be in (0, 1], not {threshold}.")
    big = resize_to(heat, size)
    peak = float(big.max()) if big.size else 0.0
    if not np.isfinite(peak) or peak <= 0.0:
        return None
    mask = (big >= threshold * peak).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))  # stable: the first of equal areas
    x, y, w, h = (int(v) for v in stats[best, :4])
    return (x, y, x + w - 1, y + h - 1)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two inclusive pixel boxes."""
    ix = min(a[2], b[2]) - max(a[0], b[0]) + 1
    iy = min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(ix, 0) * max(iy, 0)

    def area(r: Box) -> int:
        return (r[2] - r[0] + 1) * (r[3] - r[1] + 1)

    return inter / float(area(a) + area(b) - inter)


def map_peak(heat: np.ndarray, size: tuple[int, int]) -> tuple[int, int]:
    """(x, y) of the resized map's maximum (the first one in row-major order)."""
    big = resize_to(heat, size)
    y, x = np.unravel_index(int(np.argmax(big)), big.shape)
    return int(x), int(y)


def pointing_hit(
    point: tuple[int, int], boxes: Sequence[Box], tolerance: float = DEFAULT_TOLERANCE
) -> bool:
    """True when `point` (x, y) lies within `tolerance` px (Euclidean) of one of `boxes`."""
    x, y = point
    for x0, y0, x1, y1 in boxes:
        dx = max(x0 - x, 0, x - x1)
        dy = max(y0 - y, 0, y - y1)
        if math.hypot(dx, dy) <= tolerance:
            return True
    return False


def score_map(
    heat: np.ndarray,
    size: tuple[int, int],
    truth: Sequence[GroundTruth],
    threshold: float = DEFAULT_THRESHOLD,
    label: str | None = None,
) -> dict[str, Any]:
    """{"box", "iou", "pointing_hit", "peak"} of one map against one image's ground truth.

    When `label` names a class present in `truth`, only its boxes count (else all do); the IoU
    is the best over those boxes, 0 when the map gives no box.
    """
    same = [g for g in truth if label is not None and g.label.lower() == label.lower()]
    boxes = [g.box for g in (same or truth)]
    box = map_box(heat, size, threshold)
    peak = map_peak(heat, size)
    best = max((iou(box, b) for b in boxes), default=0.0) if box is not None else 0.0
    return {
        "box": None if box is None else list(box),
        "iou": float(best),
        "pointing_hit": bool(boxes) and pointing_hit(peak, boxes),
        "peak": list(peak),
    }


def _read_limited(path: Path, limit: int) -> str:
    try:
        size = path.stat().st_size
        if size > limit:
            raise EngineError(f"{path}: {size} bytes is larger than the {limit}-byte limit.")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise EngineError(f"{path}: not UTF-8 text.") from None
    except OSError as exc:
        raise EngineError(f"{path}: cannot read it ({exc.strerror or exc}).") from None


def _number(text: str | None, path: Path, what: str) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise EngineError(f"{path}: {what} is not a number ({text!r}).") from None
    if not math.isfinite(value):
        raise EngineError(f"{path}: {what} is not finite.")
    return value


def parse_voc(path: Path) -> tuple[str, list[GroundTruth]]:
    """(filename, objects) of one Pascal VOC XML file (1-based inclusive corners -> 0-based)."""
    text = _read_limited(path, MAX_XML_BYTES)
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise EngineError(f"{path}: DTDs and entities are not accepted in annotations.")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise EngineError(f"{path}: not well-formed XML ({exc}).") from None
    if root.tag != "annotation":
        raise EngineError(f"{path}: not a Pascal VOC annotation (root <{root.tag}>).")
    objects = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            raise EngineError(f"{path}: an <object> has no <bndbox>.")
        c = [_number(bb.findtext(k), path, k) for k in ("xmin", "ymin", "xmax", "ymax")]
        box = (
            int(round(c[0])) - 1,
            int(round(c[1])) - 1,
            int(round(c[2])) - 1,
            int(round(c[3])) - 1,
        )
        objects.append(GroundTruth((obj.findtext("name") or "").strip(), _checked(box, path)))
    return (root.findtext("filename") or path.with_suffix("").name).strip(), objects


def _checked(box: Box, path: Path) -> Box:
    if box[2] < box[0] or box[3] < box[1]:
        raise EngineError(f"{path}: a box has its far corner before its near one: {box}.")
    return box


def parse_coco(path: Path) -> dict[str, list[GroundTruth]]:
    """{file_name: objects} of a COCO JSON file; [x, y, w, h] -> inclusive pixel corners."""
    try:
        data = json.loads(_read_limited(path, MAX_JSON_BYTES))
        names = {int(c["id"]): str(c.get("name", c["id"])) for c in data.get("categories", [])}
        files = {int(i["id"]): str(i["file_name"]) for i in data["images"]}
        out: dict[str, list[GroundTruth]] = {name: [] for name in files.values()}
        for a in data.get("annotations", []):
            x, y, w, h = (_number(str(v), path, "bbox") for v in a["bbox"])
            box = (round(x), round(y), round(x + w) - 1, round(y + h) - 1)
            label = names.get(int(a.get("category_id", -1)), "")
            out[files[int(a["image_id"])]].append(GroundTruth(label, _checked(box, path)))
    except json.JSONDecodeError as exc:
        raise EngineError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EngineError(
            f"{path}: not a COCO annotation file ({exc!r} missing or wrong)."
        ) from None
    return out


def load_annotations(path: str | Path) -> dict[str, list[GroundTruth]]:
    """Ground truth by image file name, from a VOC .xml, a folder of them, or a COCO .json."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.xml"))
        if not files:
            raise EngineError(f"{p}: no Pascal VOC .xml file in this folder.")
        if len(files) > MAX_XML_FILES:
            raise EngineError(f"{p}: more than {MAX_XML_FILES} annotation files.")
        return dict(parse_voc(f) for f in files)
    if p.suffix.lower() == ".xml":
        return dict([parse_voc(p)])
    if p.suffix.lower() == ".json":
        return parse_coco(p)
    raise EngineError(f"{p}: annotations must be a Pascal VOC .xml (or a folder) or a COCO .json.")


def truth_for(
    annotations: dict[str, list[GroundTruth]], image: str | Path
) -> list[GroundTruth] | None:
    """The image's ground truth, matched by file name, then by stem; None when not annotated."""
    p = Path(image)
    if p.name in annotations:
        return annotations[p.name]
    stems = {Path(k).stem: v for k, v in annotations.items()}
    return stems.get(p.stem)
