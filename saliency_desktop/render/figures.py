"""Multi-image figures: the grid of a whole run (a row per image, a column per method).

Each method's column shares one colour scale, the `percentile` of the column's maps pooled
together, so rows can be compared; the column's colorbar sits under its last row. This is the
layout of the comparison figures in the saliency papers (e.g. Sundararajan et al. 2017, fig. 2;
Adebayo et al. 2018, fig. 1).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine.types import Explanation
from saliency_desktop.render import maps
from saliency_desktop.render.export import target_probability
from saliency_desktop.render.panels import (
    DEFAULT_DPI,
    check_colormap,
    draw_colorbar,
    image_axes,
    is_signed,
    method_label,
    method_panel,
    place,
    save_figure,
    wrap_lines,
)

# Grid layout, in inches.
_CELL_W = 1.5
_CELL_MAX_H = 2.2
_GAP = 0.05
_ROW_LABEL_W = 0.42
_MARGIN = 0.1
_CB_GAP = 0.06
_CB_H = 0.08
_TICKS_H = 0.22
_HEADER_PT, _ROW_PT, _TICK_PT = 8.0, 7.0, 6.0
_BAND_GAP = 0.25  # between the bands of a grid with more methods than columns
GRID_IMAGE_SIDE = 640  # a grid row keeps its photo at most this many pixels a side


def grid_row(explanation: Explanation, keep_attributions: bool = False) -> Explanation:
    """A copy small enough to keep for a grid row: the photo at most `GRID_IMAGE_SIDE` px a side
    (area-averaged), no CAM arrays, and attributions only when `keep_attributions` (for RGB
    gradient panels)."""
    e = explanation
    h, w = e.image.shape[:2]
    scale = min(1.0, GRID_IMAGE_SIDE / max(h, w))
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    methods = {
        k: replace(r, cam=None, attributions=r.attributions if keep_attributions else None)
        for k, r in e.methods.items()
    }
    return replace(e, image=maps.resize_array(e.image, size), methods=methods)


def column_scales(
    explanations: Sequence[Explanation], method_ids: Sequence[str], percentile: float
) -> dict[str, float]:
    """One scale per method: the percentile over the method's maps of every row, pooled."""
    scales = {}
    for mid in method_ids:
        pooled = np.concatenate(
            [e.methods[mid].map.ravel() for e in explanations if mid in e.methods]
        )
        scales[mid] = maps.scale_of(pooled, is_signed(mid), percentile)
    return scales


def _row_label(name: str, e: Explanation) -> str:
    p = target_probability(e)
    prob = f" ({p:.2f})" if p is not None else ""
    return f"{name}\n{e.target_label}{prob}"


def bands(method_ids: Sequence[str], max_columns: int) -> list[list[str]]:
    """The method columns split into as few bands as `max_columns` allows, balanced: 16
    methods at 8 per band are two bands of 8, 9 methods are 5 + 4."""
    mids = list(method_ids)
    n = max(1, math.ceil(len(mids) / max(max_columns, 1)))
    per = math.ceil(len(mids) / n) if mids else 0
    return [mids[i : i + per] for i in range(0, len(mids), per)] if mids else [[]]


def grid_figure(
    explanations: Sequence[Explanation],
    names: Sequence[str] | None = None,
    method_ids: Sequence[str] | None = None,
    cmap: str | None = None,
    opacity: float = maps.DEFAULT_OPACITY,
    percentile: float = maps.DEFAULT_PERCENTILE,
    *,
    signed_cmap: str | None = None,
    rgb_gradients: bool = False,
    max_columns: int = 8,
) -> Any:
    """The grid as a `matplotlib.figure.Figure` (not saved).

    `names` label the rows (default: "image 1", ...); `method_ids` default to the methods of
    the first explanation, in its order. More than `max_columns` methods wrap into bands
    stacked one above the other, each with the original images, row labels and colorbars, so
    the figure stays legible at page width with 15+ methods.
    """
    from matplotlib.figure import Figure

    if not explanations:
        raise ValueError("A grid needs at least one explanation.")
    check_colormap(cmap)
    check_colormap(signed_cmap)
    names = (
        list(names) if names is not None else [f"image {i + 1}" for i in range(len(explanations))]
    )
    mids = list(method_ids) if method_ids is not None else list(explanations[0].methods)
    groups = bands(mids, max_columns)
    aspects = [e.image.shape[0] / e.image.shape[1] for e in explanations]
    cw = min(_CELL_W, _CELL_MAX_H / max(aspects))
    heights = [cw * a for a in aspects]
    titles = ["Original image"] + [method_label(m) for m in mids]
    header_h = max(len(_header(t, cw).split("\n")) for t in titles) * _HEADER_PT * 1.3 / 72
    header_h += 0.08
    ncols = 1 + max(len(g) for g in groups)
    width = _MARGIN + _ROW_LABEL_W + ncols * cw + (ncols - 1) * _GAP + _MARGIN
    band_h = header_h + sum(heights) + (len(heights) - 1) * _GAP + _CB_GAP + _CB_H + _TICKS_H
    height = _MARGIN + len(groups) * band_h + (len(groups) - 1) * _BAND_GAP + _MARGIN / 2
    fig = Figure(figsize=(width, height), facecolor="white")
    grid = _Grid(fig, (width, height), cw, heights, header_h)
    style = (cmap, signed_cmap, opacity, percentile, rgb_gradients)
    scales = column_scales(explanations, mids, percentile)
    top = _MARGIN
    for group in groups:
        grid.band(top, explanations, names, group, scales, style)
        top += band_h + _BAND_GAP
    return fig


def _header(title: str, cw: float) -> str:
    return "\n".join(wrap_lines([title], cw * 1.1, _HEADER_PT)[:2])


@dataclass(frozen=True)
class _Grid:
    """The geometry shared by the bands of one grid figure."""

    fig: Any
    size: tuple[float, float]
    cw: float
    heights: list[float]
    header_h: float

    def band(
        self,
        top: float,
        explanations: Sequence[Explanation],
        names: Sequence[str],
        mids: Sequence[str],
        scales: dict[str, float],
        style: tuple[Any, ...],
    ) -> None:
        """One band at `top` inches: headers, a row per image, a colorbar under each column."""
        cmap, signed_cmap, opacity, percentile, rgb_gradients = style
        fig, size, cw = self.fig, self.size, self.cw
        x0 = _MARGIN + _ROW_LABEL_W
        for col, title in enumerate(["Original image"] + [method_label(m) for m in mids]):
            x = x0 + col * (cw + _GAP)
            fig.text((x + cw / 2) / size[0], 1 - (top + self.header_h - 0.04) / size[1],
                     _header(title, cw), ha="center", va="bottom", fontsize=_HEADER_PT)  # fmt: skip
        y = top + self.header_h
        last_panels: dict[str, Any] = {}
        for e, name, h in zip(explanations, names, self.heights, strict=True):
            ax = place(fig, size, x0, y, cw, h)
            image_axes(ax, e.image)
            ax.set_ylabel(_row_label(name, e), fontsize=_ROW_PT, labelpad=3)
            for col, mid in enumerate(mids, start=1):
                ax = place(fig, size, x0 + col * (cw + _GAP), y, cw, h)
                if mid not in e.methods:
                    ax.set_axis_off()
                    ax.text(0.5, 0.5, "n/a", ha="center", va="center", fontsize=_ROW_PT)
                    continue
                panel = method_panel(e.image, e.methods[mid], cmap, signed_cmap, opacity,
                                     percentile, scale=scales[mid],
                                     rgb_gradients=rgb_gradients)  # fmt: skip
                image_axes(ax, panel.rgb)
                if panel.cmap is not None or mid not in last_panels:
                    last_panels[mid] = panel  # the column's colorbar: any row with a scale
            y += h + _GAP
        y += _CB_GAP - _GAP
        for col, mid in enumerate(mids, start=1):
            if mid in last_panels:
                cax = place(fig, size, x0 + col * (cw + _GAP) + 0.08 * cw, y, 0.84 * cw, _CB_H)
                draw_colorbar(fig, cax, last_panels[mid], fontsize=_TICK_PT)


def render_grid(
    explanations: Sequence[Explanation],
    path_base: str | os.PathLike[str],
    names: Sequence[str] | None = None,
    formats: Sequence[str] = ("png",),
    dpi: int = DEFAULT_DPI,
    cmap: str | None = None,
    opacity: float = maps.DEFAULT_OPACITY,
    percentile: float = maps.DEFAULT_PERCENTILE,
    force: bool = False,
    *,
    method_ids: Sequence[str] | None = None,
    signed_cmap: str | None = None,
    rgb_gradients: bool = False,
    max_columns: int = 8,
) -> list[Path]:
    """Write the grid as `<path_base>.<fmt>` for each format; returns the paths."""

    def draw() -> Any:
        return grid_figure(explanations, names, method_ids, cmap, opacity, percentile,
                           signed_cmap=signed_cmap, rgb_gradients=rgb_gradients,
                           max_columns=max_columns)  # fmt: skip

    return save_figure(draw, path_base, formats, dpi, force)
