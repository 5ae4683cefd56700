"""What each compare tile says: its subtitle (time, layer, steps, IG's gap), its note (a map
that is zero everywhere, a method that did not run) and its colour scale (a small legend)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage, QPixmap

from saliency_desktop.engine.types import MethodInfo, MethodResult
from saliency_desktop.render import maps

SHARED_PASS_S = 0.005  # a CAM method that reuses another's pass takes (almost) no time
DELTA_WARN = 0.05  # IG's completeness gap above 5 % of S(x) - S(x') deserves a warning
ZERO_NOTE = "zero everywhere: no positive evidence for this class"
CANCELLED = "cancelled: press F5 to run again"
COMPUTING = "computing\u2026"


@dataclass
class Legend:
    """A tile's colour scale: the colormap strip and its end and middle labels."""

    strip: QImage
    labels: tuple[str, str, str]


@dataclass
class Tile:
    key: str  # "" for the original, else the method id
    title: str
    subtitle: str
    base: QPixmap
    heat: QPixmap | None = None
    note: str = ""  # written over the picture (a zero map, a cancelled or skipped method)
    legend: Legend | None = None
    warn: bool = False  # the subtitle carries a warning (drawn in a warning colour)
    crop: tuple[float, float, float, float] | None = None  # the map's part (x, y, w, h) of 1


def short(value: float) -> str:
    return "0" if value == 0 else f"{value:.2g}"


def scale_labels(signed: bool, scale: float) -> tuple[str, str, str]:
    """The labels of a colour scale in the map's raw units (as the report's colorbars)."""
    if signed:
        return f"\u2264\u2212{short(scale)}", "0", f"\u2265{short(scale)}"
    return "0", short(scale / 2), f"\u2265{short(scale)}"


def colormap_strip(cmap: str, signed: bool, width: int = 256) -> QImage:
    """The colormap as the renderer applies it, low to high, one pixel tall."""
    from saliency_desktop.ui.images import rgb_to_qimage

    values = np.linspace(-1.0 if signed else 0.0, 1.0, width, dtype=np.float32)[None, :]
    return rgb_to_qimage(maps.colorize(values, cmap, signed))


def legend(cmap: str, signed: bool, scale: float) -> Legend:
    return Legend(colormap_strip(cmap, signed), scale_labels(signed, scale))


def delta_text(result: MethodResult) -> tuple[str, bool]:
    """IG's completeness gap relative to S(x) - S(x'), and whether it is large (> 5 %)."""
    delta = result.extras.get("convergence_delta")
    if not isinstance(delta, int | float):
        return "", False
    relative = result.extras.get("relative_delta")  # |delta| / |S(x) - S(x')|, from the engine
    if isinstance(relative, int | float):
        text = f"\u03b4 {float(relative):.1%} of S(x)\u2212S(x\u2032)"
        return (f"\u26a0 {text}", True) if relative > DELTA_WARN else (text, False)
    score, base = result.extras.get("score"), result.extras.get("baseline_score")
    if isinstance(score, int | float) and isinstance(base, int | float) and score != base:
        rel = abs(float(delta)) / abs(float(score) - float(base))
        text = f"\u03b4 {rel:.1%} of S(x)\u2212S(x\u2032)"
        if rel > DELTA_WARN:
            return f"\u26a0 {text}", True
        return text, False
    return f"\u03b4 {float(delta):.2g}", False


def subtitle(result: MethodResult, info: MethodInfo | None) -> tuple[str, bool]:
    shared = result.extras.get("shared_pass")
    if shared or (info is not None and info.needs_layer and result.seconds < SHARED_PASS_S):
        parts = ["shared pass"]
    else:
        parts = [f"{result.seconds:.2f} s"]
    if result.params.get("layer"):
        parts.append(str(result.params["layer"]).rsplit("/", 1)[-1])
    steps = result.extras.get("steps", result.params.get("n_steps"))  # steps used, for auto
    if steps is not None:
        parts.append(f"{steps} steps")
    delta, warn = delta_text(result)
    if delta:  # first: on a narrow tile the elided end is the time, not the gap
        parts.insert(0, delta)
    return " \u00b7 ".join(parts), warn


def note(result: MethodResult) -> str:
    """What to write over the map: a map that is exactly zero, or the engine's own note."""
    if not np.any(result.map):
        return ZERO_NOTE
    text = result.extras.get("note")
    return str(text) if text else ""
