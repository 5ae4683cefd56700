"""The parts every figure is made of, shared by the report, the grid and the other figures.

A method's panel (its heatmap blended over the original image by `maps.overlay`, the same
pixels the app's canvas shows, or its RGB gradient image), a horizontal colorbar in the map's
raw units (percentile-clipped: the end labels read "≥" / "≤"; signed maps are centred on zero),
axes placed in inches, wrapped text, and `save_figure`: each format written atomically.

matplotlib is used through `matplotlib.figure.Figure` only, never pyplot: no global figure
state, so a worker thread can render while the app's main thread draws. Text stays text in
vector formats (`svg.fonttype = none`, `pdf.fonttype = 42`).
"""

from __future__ import annotations

import math
import os
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine.types import MethodResult
from saliency_desktop.render import maps
from saliency_desktop.render.export import atomic_file, refuse_existing

FORMATS = ("png", "pdf", "svg")
DEFAULT_DPI = 300
_RC = {"svg.fonttype": "none", "pdf.fonttype": 42, "svg.hashsalt": "saliency-desktop"}
_SAVE_LOCK = threading.Lock()  # rc_context changes global rcParams while a figure is saved

TICK_PT = 7.0  # colorbar tick labels (and the report's small print)


@dataclass(frozen=True)
class Panel:
    """What one method's panel shows: a picture and, for heatmaps, its colour scale."""

    rgb: np.ndarray  # (H0, W0, 3) uint8 at the original image's resolution
    cmap: str | None  # None for RGB gradient images (no colorbar)
    signed: bool
    scale: float  # the raw value drawn at full colour
    note: str = ""  # shown instead of a colorbar


def check_colormap(name: str | None) -> None:
    """Raise ValueError (a user-ready message) for a colormap matplotlib does not know."""
    import matplotlib

    if name is not None and name not in matplotlib.colormaps:
        raise ValueError(
            f"Unknown colormap {name!r}; try one of {', '.join(maps.colormap_names())}."
        )


def method_label(method_id: str) -> str:
    from saliency_desktop.render.export import method_info

    info = method_info(method_id)
    return info.label if info else method_id


def is_signed(method_id: str) -> bool:
    from saliency_desktop.render.export import method_info

    info = method_info(method_id)
    return bool(info and info.signed)


def method_panel(
    image: np.ndarray,
    result: MethodResult,
    cmap: str | None = None,
    signed_cmap: str | None = None,
    opacity: float = maps.DEFAULT_OPACITY,
    percentile: float = maps.DEFAULT_PERCENTILE,
    scale: float | None = None,
    rgb_gradients: bool = False,
) -> Panel:
    """The panel for one method: its overlay on `image`, or its RGB gradient image."""
    from saliency_desktop.render.export import method_info

    info = method_info(result.method)
    gradient_image = bool(info and info.gradient_image)
    if rgb_gradients and gradient_image and result.attributions is not None:
        rgb = maps.gradient_image(result.attributions, percentile)
        big = maps.resize_array(rgb, image.shape[:2])
        return Panel(big, None, True, 1.0, "gradient image (grey = 0)")
    signed = is_signed(result.method)
    name = (signed_cmap or maps.DEFAULT_SIGNED_CMAP) if signed else (cmap or maps.DEFAULT_CMAP)
    s = scale if scale is not None else maps.scale_of(result.map, signed, percentile)
    rgb = maps.overlay(image, result.map, signed, name, opacity, percentile, s)
    if not np.any(result.map):
        return Panel(rgb, None, signed, s, "zero everywhere")
    return Panel(rgb, name, signed, s)


def tick_labels(ticks: Sequence[float], scale: float) -> list[str]:
    """Tick texts in one style for the whole bar: 0, 0.47, 0.93 / 4.5, 9 / 2.0e-3, 4.0e-3."""
    if 1e-2 <= scale < 1e4:
        decimals = max(0, 1 - math.floor(math.log10(scale)))
        return ["0" if t == 0 else f"{t:.{decimals}f}" for t in ticks]
    out = []
    for t in ticks:
        mantissa, exponent = f"{t:.1e}".split("e")
        out.append("0" if t == 0 else f"{mantissa}e{int(exponent)}")
    return out


def draw_colorbar(fig: Any, cax: Any, panel: Panel, fontsize: float = TICK_PT) -> None:
    """A horizontal colorbar in the panel's raw units; saturated ends are marked ≥ / ≤."""
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    s = panel.scale
    if panel.cmap is None:
        cax.set_axis_off()
        cax.text(
            0.5,
            0.0,
            panel.note,
            ha="center",
            va="top",
            fontsize=fontsize,
            transform=cax.transAxes,
            color="0.25",
        )
        return
    lo = -s if panel.signed else 0.0
    mappable = ScalarMappable(Normalize(lo, s), matplotlib.colormaps[panel.cmap])
    cb = fig.colorbar(mappable, cax=cax, orientation="horizontal")
    ticks = [-s, 0.0, s] if panel.signed else [0.0, s / 2, s]
    labels = tick_labels(ticks, s)
    labels[-1] = "≥" + labels[-1]
    if panel.signed:
        labels[0] = "≤" + labels[0]
    cb.set_ticks(ticks, labels=labels)
    texts = cb.ax.get_xticklabels()
    texts[0].set_horizontalalignment("left")  # keep the end labels inside the bar's width
    texts[-1].set_horizontalalignment("right")
    cb.ax.tick_params(labelsize=fontsize, length=2, pad=1.5, width=0.5)
    cb.outline.set_linewidth(0.5)


def place(fig: Any, size: tuple[float, float], x: float, top: float, w: float, h: float) -> Any:
    """An axes at (x, top) inches from the figure's top-left corner, w x h inches."""
    fw, fh = size
    return fig.add_axes((x / fw, (fh - top - h) / fh, w / fw, h / fh))


def image_axes(ax: Any, rgb: np.ndarray, size: tuple[int, int] | None = None) -> None:
    """`rgb` on `ax` in the pixel coordinates of an image of `size` (height, width), its own
    by default (a shrunk copy keeps the original's coordinates, e.g. for the boxes)."""
    h, w = size or rgb.shape[:2]
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)
    ax.imshow(rgb, interpolation="antialiased", aspect="auto", extent=extent)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)


def wrap_lines(lines: Sequence[str], width_in: float, fontsize: float) -> list[str]:
    chars = max(int(width_in / (0.52 * fontsize / 72.0)), 20)
    return [w for line in lines for w in (textwrap.wrap(line, chars) or [""])]


def save_figure(
    fig: Any,
    path_base: str | os.PathLike[str],
    formats: Sequence[str] = ("png",),
    dpi: int = DEFAULT_DPI,
    force: bool = False,
) -> list[Path]:
    """`<path_base>.<fmt>` for each format, each written atomically; returns the paths.

    `fig` is a matplotlib figure, or a function that draws one: it is called only once no
    output is in the way (`OutputExistsError` before anything is drawn)."""
    import matplotlib

    from saliency_desktop import __version__

    base = Path(path_base)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"Unknown format(s) {', '.join(unknown)}; use {', '.join(FORMATS)}.")
    paths = [base.with_name(f"{base.name}.{fmt}") for fmt in formats]
    refuse_existing(paths, force)
    if callable(fig):
        fig = fig()
    for fmt, path in zip(formats, paths, strict=True):
        metadata = {"Creator": f"saliency-desktop {__version__}"}
        if fmt == "pdf":
            metadata["CreationDate"] = None  # type: ignore[assignment]  # reproducible files
        elif fmt == "svg":
            metadata["Date"] = None  # type: ignore[assignment]
        with _SAVE_LOCK, matplotlib.rc_context(_RC), atomic_file(path, "wb", force) as f:
            fig.savefig(f, format=fmt, dpi=dpi, facecolor="white", metadata=metadata)
    return paths
