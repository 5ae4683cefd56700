"""The per-image report figure, shared by the command line and the app.

The original image, then one panel per method (`panels.method_panel`): the method's name above,
its colorbar below and under it the method's caption (IG: steps, rule, baseline and the
completeness delta relative to S(x) - S(x'); guided/deconv: what the rule re-routed). The title
names the model, the target label and its probability, and a line lists the methods the model
could not run, with the reason.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine.types import Explanation, MethodResult
from saliency_desktop.render import maps
from saliency_desktop.render.export import target_probability
from saliency_desktop.render.labels import display_label
from saliency_desktop.render.panels import (
    DEFAULT_DPI,
    TICK_PT,
    Panel,
    check_colormap,
    draw_colorbar,
    image_axes,
    method_label,
    method_panel,
    place,
    save_figure,
    wrap_lines,
)

# Report layout, in inches.
_PANEL_W = 2.4  # panel width (the image's height follows its aspect ratio)
_PANEL_MAX_H = 3.2
_MARGIN = 0.15
_COL_GAP = 0.18
_ROW_GAP = 0.12
_TITLE_H = 0.28  # method name above each panel
_CB_GAP = 0.05
_CB_H = 0.1
_TICKS_H = 0.24  # colorbar tick labels
_TITLE_PT, _SUPTITLE_PT, _SUB_PT = 9.5, 11.0, 8.5


def target_text(label: str, index: int) -> str:
    """ "dog (class 1)", or "class 2" when the label is only the index (no labels file)."""
    plain = f"class {index}"
    return plain if label.strip() == plain else f"{label} (class {index})"


def method_caption(result: MethodResult) -> str:
    """The settings and notes a reader needs beside the map (empty when there are none).

    Integrated Gradients: steps, rule, baseline, and the completeness delta
    sum(IG) - (S(x) - S(x')) absolute and relative to S(x) - S(x'); any method: `extras["note"]`.
    """
    parts: list[str] = []
    x = result.extras
    if "convergence_delta" in x:
        p = result.params
        parts.append(f"{p.get('n_steps')} steps, {p.get('rule')}, {p.get('baseline')} baseline")
        delta = float(x["convergence_delta"])
        text = f"Δ\u00a0=\u00a0{delta:.3g}"  # no break inside "Δ = value"
        if "score" in x and "baseline_score" in x:
            span = float(x["score"]) - float(x["baseline_score"])
            if span != 0.0 and math.isfinite(span):
                text += f" ({100 * delta / abs(span):.2g}% of S(x)−S(x′) = {span:.3g})"
        parts.append(text)
    note = str(x.get("note", "")).strip()
    if note:
        parts.append(note)
    return "; ".join(parts)


def skipped_line(explanation: Explanation) -> str:
    """ "Not available: Guided Backpropagation, DeconvNet (reason)", grouped by reason."""
    if not explanation.skipped:
        return ""
    by_reason: dict[str, list[str]] = {}
    for mid, reason in explanation.skipped.items():
        by_reason.setdefault(reason, []).append(method_label(mid))
    groups = [f"{', '.join(names)} ({reason})" for reason, names in by_reason.items()]
    return "Not available: " + "; ".join(groups)


def report_title(explanation: Explanation, title: str | None = None) -> tuple[str, str]:
    e = explanation
    p = target_probability(e)
    prob = f"p = {p:.3f}" if p is not None else "p not in top-k"
    target = target_text(display_label(e.target_label), e.target)
    score = e.score
    first = f"{title}  ·  {e.model.label}" if title else e.model.label
    if e.contrast_label is not None:  # a contrastive explanation: S_A - S_B
        a, b = display_label(e.target_label), display_label(e.contrast_label)
        first += f"  ·  {a} vs {b}"
        score = f"{e.score}({a}) − {e.score}({b}, class {e.contrast})"
    second = f"target: {target}, {prob}  ·  score: {score}"
    if e.layer:
        second += f"  ·  CAM layer: {e.layer}"
    return first, second


def report_figure(
    explanation: Explanation,
    cmap: str | None = None,
    opacity: float = maps.DEFAULT_OPACITY,
    percentile: float = maps.DEFAULT_PERCENTILE,
    *,
    signed_cmap: str | None = None,
    rgb_gradients: bool = False,
    title: str | None = None,
    max_columns: int = 4,
    dpi: int = DEFAULT_DPI,
) -> Any:
    """The report as a `matplotlib.figure.Figure` (not saved).

    The photo and its overlays are drawn at the panel's size in pixels at `dpi` (never larger
    than the photo): a 12-megapixel photo is shrunk once (area-averaged) instead of blending
    every map at full resolution (26 full-size overlays took 1.4 GB).
    """
    from matplotlib.figure import Figure

    check_colormap(cmap)
    check_colormap(signed_cmap)
    e = explanation
    image = e.image
    n = 1 + len(e.methods)
    ncols = min(n, max_columns)
    nrows = math.ceil(n / ncols)
    aspect = image.shape[0] / image.shape[1]
    pw = min(_PANEL_W, _PANEL_MAX_H / aspect)
    ih = pw * aspect
    shown = _shrunk(image, math.ceil(pw * dpi))
    panels = [
        (
            method_label(mid),
            method_panel(
                shown, r, cmap, signed_cmap, opacity, percentile, rgb_gradients=rgb_gradients
            ),
        )
        for mid, r in e.methods.items()
    ]
    captions = [wrap_lines([method_caption(r)], pw, TICK_PT) for r in e.methods.values()]
    captions = [c if any(c) else [] for c in captions]
    caption_h = max((len(c) for c in captions), default=0) * TICK_PT / 72.0 * 1.3
    cell_h = _TITLE_H + ih + _CB_GAP + _CB_H + _TICKS_H + caption_h
    width = 2 * _MARGIN + ncols * pw + (ncols - 1) * _COL_GAP
    first, second = report_title(e, title)
    lines = [(t, _SUPTITLE_PT, "bold") for t in wrap_lines([first], width, _SUPTITLE_PT)]
    lines += [(t, _SUB_PT, "normal") for t in wrap_lines([second], width, _SUB_PT)]
    skipped = skipped_line(e)
    lines += [(t, TICK_PT, "normal") for t in wrap_lines([skipped], width, TICK_PT) if skipped]
    top = 0.1 + sum(pt / 72.0 * 1.35 for _, pt, _ in lines) + 0.06
    height = top + nrows * cell_h + (nrows - 1) * _ROW_GAP + 0.06
    fig = Figure(figsize=(width, height), facecolor="white")
    y = 0.1
    for text, pt, weight in lines:
        fig.text(0.5, 1 - y / height, text, ha="center", va="top", fontsize=pt, fontweight=weight)
        y += pt / 72.0 * 1.35
    cells: list[tuple[str, np.ndarray, Panel | None]] = [("Original image", shown, None)]
    cells += [(label, panel.rgb, panel) for label, panel in panels]
    boxes = [None] + [r.extras.get("box") for r in e.methods.values()]
    size = (width, height)
    for i, caption in enumerate(captions, start=1):
        row, col = divmod(i, ncols)
        y = top + row * (cell_h + _ROW_GAP) + _TITLE_H + ih + _CB_GAP + _CB_H + _TICKS_H
        x = _MARGIN + col * (pw + _COL_GAP) + pw / 2
        for k, text in enumerate(caption):
            y_k = y + k * TICK_PT / 72.0 * 1.3
            fig.text(x / width, 1 - y_k / height, text, ha="center", va="top",
                     fontsize=TICK_PT, color="0.25")  # fmt: skip
    for i, (label, rgb, panel) in enumerate(cells):
        row, col = divmod(i, ncols)
        x = _MARGIN + col * (pw + _COL_GAP)
        y0 = top + row * (cell_h + _ROW_GAP)
        ax = place(fig, size, x, y0 + _TITLE_H, pw, ih)
        image_axes(ax, rgb, image.shape[:2])
        ax.set_title(label, fontsize=_TITLE_PT, pad=4)
        if boxes[i] is not None:  # the localization box (`explain --boxes`)
            maps.draw_box(ax, boxes[i])
        if panel is not None:
            cax = place(fig, size, x + 0.1 * pw, y0 + _TITLE_H + ih + _CB_GAP, 0.8 * pw, _CB_H)
            draw_colorbar(fig, cax, panel)
        else:
            h0, w0 = image.shape[:2]
            h, w = e.input.shape[:2]
            ax.text(
                0.5,
                -0.04,
                f"{w0}×{h0} px (model input {w}×{h})",
                transform=ax.transAxes,
                ha="center",
                va="top",
                fontsize=TICK_PT,
                color="0.25",
            )
    return fig


def _shrunk(image: np.ndarray, width: int) -> np.ndarray:
    """`image` at most `width` pixels wide (aspect kept), area-averaged; never enlarged."""
    h, w = image.shape[:2]
    if w <= width:
        return image
    return maps.resize_array(image, (max(1, round(h * width / w)), width))


def render_report(
    explanation: Explanation,
    path_base: str | os.PathLike[str],
    formats: Sequence[str] = ("png",),
    dpi: int = DEFAULT_DPI,
    cmap: str | None = None,
    opacity: float = maps.DEFAULT_OPACITY,
    percentile: float = maps.DEFAULT_PERCENTILE,
    force: bool = False,
    *,
    signed_cmap: str | None = None,
    rgb_gradients: bool = False,
    title: str | None = None,
) -> list[Path]:
    """Write `<path_base>.<fmt>` for each of `formats` (png, pdf, svg); returns the paths.

    `cmap` colours unsigned maps (default inferno), `signed_cmap` signed ones (default RdBu_r,
    centred on zero). `rgb_gradients` shows Guided Backprop, DeconvNet and Guided Grad-CAM as
    RGB gradient images instead of overlays. Raises `OutputExistsError` before drawing anything
    when a file exists and `force` is false.
    """

    def draw() -> Any:
        return report_figure(explanation, cmap, opacity, percentile, signed_cmap=signed_cmap,
                             rgb_gradients=rgb_gradients, title=title, dpi=dpi)  # fmt: skip

    return save_figure(draw, path_base, formats, dpi, force)
