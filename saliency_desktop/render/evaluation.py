"""The evaluation figure: which map can I trust?

Sections (each only when its metrics were computed):

1. deletion and insertion curves (Petsiuk et al. 2018, fig. 4): P against the fraction of
   pixels changed, the mean over images per method, with its 95 % interval when there are
   several images; the legend gives the mean AUC;
2. one bar chart per score (mean over images and its 95 % t-interval), the better direction
   in the title;
3. the randomisation test (Adebayo et al. 2018, fig. 2 and 4): the similarity to the original
   map as layers are randomised from the output down, and the maps of the first image at each
   step (|map| normalised to its maximum, as in the paper).

matplotlib's `Figure` only (no pyplot): safe in a worker thread. Shared by the CLI and the app.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine.metric_types import SCORES
from saliency_desktop.render.evaluation_rows import (
    Row,
    curve_x,
    mean_interval,
    method_order,
    stacked_curves,
)
from saliency_desktop.render.panels import DEFAULT_DPI, method_label, save_figure

_PT = 8.0
_WIDTH = 11.0
MANY = 10  # more methods than this: one column of panels per family (`evaluation_many`)


def method_colours(methods: Sequence[str]) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(methods) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(methods)}


def line_style(i: int) -> str:
    """Solid for the first 20 methods (tab20's colours), dashed when the colours repeat."""
    return "-" if i < 20 else "--"


def _legend(ax: Any, n: int) -> None:
    """Inside the axes for a few methods; for many (15+) the caller gives the legend an axes of
    its own below (`legend_below`)."""
    if n <= 10:
        ax.legend(fontsize=_PT - 1.5, frameon=False, loc="best")


def legend_below(holder: Any, ax: Any, ncol: int = 3) -> None:
    """ax's legend at the bottom of `holder`, an axes without axis lines sized for it (the
    spare height at its top keeps it clear of the panel's tick labels)."""
    holder.axis("off")
    holder.legend(*ax.get_legend_handles_labels(), fontsize=_PT - 1.5, frameon=False, ncol=ncol,
                  loc="lower center", borderaxespad=0.0)  # fmt: skip


def _band(ax: Any, x: np.ndarray, ys: np.ndarray, colour: Any) -> None:
    """The 95 % interval of the mean curve, drawn from 3 images on (2 give a t-interval
    12.7 standard errors wide, which hides the curves)."""
    if len(ys) >= 3:
        half = np.array([mean_interval(col)[1] for col in ys.T])
        mean = ys.mean(axis=0)
        ax.fill_between(x, mean - half, mean + half, color=colour, alpha=0.15, lw=0)


def draw_curves(ax: Any, rows: Sequence[Row], metric: str, colours: dict[str, Any]) -> None:
    """Mean P curve per method (and its 95 % band), the mean AUC in the legend."""
    for i, (mid, colour) in enumerate(colours.items()):
        ys = stacked_curves(rows, mid, metric, metric)
        if ys is None:
            continue
        x = curve_x(rows, mid, metric, metric)
        mean = ys.mean(axis=0)
        aucs = [ev.scores(mid)[f"{metric}_auc"] for _, ev, _ in rows if mid in ev.results]
        label = f"{method_label(mid)} ({np.mean(aucs):.3f})"
        ax.plot(x, mean, color=colour, lw=1.3, ls=line_style(i), label=label)
        _band(ax, x, ys, colour)
    better = "lower" if metric == "deletion" else "higher"
    ax.set_title(f"{metric.capitalize()} (AUC in legend; {better} is better)", fontsize=_PT + 1)
    what = "blacked out" if metric == "deletion" else "restored from the blur"
    ax.set_xlabel(f"fraction of pixels {what}, most salient first", fontsize=_PT)
    ax.set_ylabel("P(target)", fontsize=_PT)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.tick_params(labelsize=_PT - 1)
    ax.grid(alpha=0.3, lw=0.5)
    _legend(ax, len(colours))


def draw_score_bars(ax: Any, rows: Sequence[Row], score: str, methods: Sequence[str],
                    colours: dict[str, Any]) -> None:  # fmt: skip
    """Horizontal bars: the mean score per method and its 95 % interval over images."""
    label, better, _ = SCORES[score]
    stats = [mean_interval([ev.scores(m).get(score, np.nan) for _, ev, _ in rows]) for m in methods]
    y = np.arange(len(methods))
    means = np.array([s[0] for s in stats])
    halves = np.array([s[1] for s in stats])
    ax.barh(y, np.nan_to_num(means), xerr=halves, color=[colours[m] for m in methods],
            error_kw={"lw": 0.8, "capsize": 2}, height=0.7)  # fmt: skip
    for yi, mean in zip(y, means, strict=True):
        if np.isfinite(mean):
            ax.text(mean, yi, f" {mean:.2f}", va="center", ha="left" if mean >= 0 else "right",
                    fontsize=_PT - 2)  # fmt: skip
    ax.set_yticks(y, [method_label(m) for m in methods], fontsize=_PT - 1.5)
    ax.invert_yaxis()
    ax.axvline(0, color="0.3", lw=0.6)
    ax.set_title(f"{label} {'↓' if better == 'lower' else '↑'}", fontsize=_PT)
    ax.tick_params(axis="x", labelsize=_PT - 1.5)
    ax.grid(axis="x", alpha=0.3, lw=0.5)


def draw_similarity(ax: Any, rows: Sequence[Row], name: str, colours: dict[str, Any]) -> None:
    """Similarity to the original map as layers are randomised (cascading, output first)."""
    layers: list[str] = []
    for i, (mid, colour) in enumerate(colours.items()):
        ys = stacked_curves(rows, mid, "randomization", name)
        if ys is None:
            continue
        for _, ev, _ in rows:
            if "randomization" in ev.results.get(mid, {}):
                layers = ev.results[mid]["randomization"].extras["layers"]
                break
        mean = ys.mean(axis=0)
        x = np.arange(len(mean))
        ax.plot(x, mean, marker="o", ls=line_style(i), color=colour, ms=3, lw=1.2,
                label=method_label(mid))  # fmt: skip
        _band(ax, x, ys, colour)
    ax.set_xticks(np.arange(len(layers)), layers, rotation=35, ha="right", fontsize=_PT - 1.5)
    if name == "spearman":
        ax.axhline(0.5, color="0.4", lw=0.7, ls="--")  # the sanity threshold (trust_text)
    what = "Spearman rank correlation of |map|" if name == "spearman" else "SSIM of the maps"
    ax.set_title(f"Randomisation: {what} (lower = depends on the model)", fontsize=_PT + 1)
    ax.set_xlabel("randomised from the output layer down to", fontsize=_PT)
    ax.set_ylim(-0.1 if name == "spearman" else 0, 1.05)
    ax.tick_params(axis="y", labelsize=_PT - 1)
    ax.grid(alpha=0.3, lw=0.5)


def draw_randomised_maps(sub: Any, row: Row, methods: Sequence[str]) -> None:
    """Rows of maps (one per method) as layers are randomised, as Adebayo et al. fig. 2."""
    name, ev, _ = row
    shown = [m for m in methods if "randomization" in ev.results.get(m, {})]
    if not shown:
        return
    layers = ev.results[shown[0]]["randomization"].extras["layers"]
    axes = sub.subplots(len(shown), len(layers), squeeze=False, gridspec_kw={"wspace": 0.04,
                        "hspace": 0.06})  # fmt: skip
    for i, mid in enumerate(shown):
        stack = np.abs(ev.results[mid]["randomization"].extras["maps"])
        for j, ax in enumerate(axes[i]):
            top = float(np.percentile(stack[j], 99))
            ax.imshow(stack[j] / top if top > 0 else stack[j], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(layers[j], fontsize=_PT - 1.5, rotation=30, ha="left", loc="left")
            if j == 0:
                ax.set_ylabel(method_label(mid), fontsize=_PT - 1.5, rotation=0, ha="right",
                              va="center")  # fmt: skip
    sub.suptitle(
        f"{name}: maps as layers are randomised (|map|, each clipped at its 99th percentile)",
        fontsize=_PT + 1,
    )


def evaluation_figure(rows: Sequence[Row], title: str | None = None) -> Any:
    """The evaluation figure as a `matplotlib.figure.Figure` (not saved)."""

    methods = method_order(rows)
    metrics = list(dict.fromkeys(m for _, ev, _ in rows for m in ev.metrics))
    if len(methods) > MANY:
        return _many_figure(rows, methods, metrics, title)
    colours = method_colours(methods)
    pixel = [m for m in ("deletion", "insertion") if m in metrics]
    scores = [s for s in SCORES if any(s in ev.scores(m) for _, ev, _ in rows for m in methods)]
    ncols = 4
    score_rows = -(-len(scores) // ncols)
    bar_h = 0.6 + 0.17 * len(methods)
    many = len(methods) > 10  # then legends get rows of their own, below the panels

    def legend_rows(ncol: int) -> float:
        return 0.5 + 0.2 * -(-len(methods) // ncol) if many else 0.0

    legend_h = legend_rows(6)
    heights = {
        "curves": 3.4 + legend_rows(2) if pixel else 0.0,
        "bars": score_rows * bar_h,
        "similarity": 3.4 + legend_h if "randomization" in metrics else 0.0,
        "maps": (0.9 + 1.25 * len(methods)) if "randomization" in metrics else 0.0,
    }
    fig, stacked = _stacked(rows, title, heights, 0.5)
    for key, sub in stacked:
        if key == "curves":
            grid = sub.subplots(1 + many, len(pixel), squeeze=False,
                                height_ratios=[3.4, legend_rows(2)][: 1 + many])  # fmt: skip
            for col, metric in enumerate(pixel):
                draw_curves(grid[0, col], rows, metric, colours)
                if many:  # two columns: the labels carry their AUC
                    legend_below(grid[1, col], grid[0, col], ncol=2)
        elif key == "bars":
            axes = sub.subplots(score_rows, ncols, squeeze=False)
            for ax, score in zip(axes.ravel(), scores, strict=False):
                draw_score_bars(ax, rows, score, methods, colours)
            for ax in axes.ravel()[len(scores) :]:
                ax.set_visible(False)
            sub.suptitle("Scores per method (↓ lower is better, ↑ higher is better; bars: mean, "
                         "whiskers: 95 % interval over images)", fontsize=_PT + 1)  # fmt: skip
        elif key == "similarity":
            layout = [["spearman", "ssim"], ["legend", "legend"]][: 1 + many]
            axes = sub.subplot_mosaic(layout, height_ratios=[3.4, legend_h][: 1 + many])
            draw_similarity(axes["spearman"], rows, "spearman", colours)
            draw_similarity(axes["ssim"], rows, "ssim", colours)
            _legend(axes["ssim"], len(colours))
            if many:  # one legend across the width, under both panels
                legend_below(axes["legend"], axes["ssim"], ncol=6)
        else:
            draw_randomised_maps(sub, rows[0], methods)
    return fig


def _stacked(
    rows: Sequence[Row], title: str | None, heights: dict[str, float], top: float
) -> tuple[Any, list[tuple[str, Any]]]:
    """(figure, [(part, subfigure)]): the parts of non-zero height stacked in one titled figure."""
    from matplotlib.figure import Figure

    parts = [k for k, h in heights.items() if h > 0]
    fig = Figure(figsize=(_WIDTH, sum(heights[k] for k in parts) + top), layout="constrained",
                 facecolor="white")  # fmt: skip
    fig.suptitle(_title(rows, title), fontsize=_PT + 3)
    subs = fig.subfigures(len(parts), 1, height_ratios=[heights[k] for k in parts], squeeze=False)
    return fig, list(zip(parts, subs[:, 0], strict=True))


def _title(rows: Sequence[Row], title: str | None) -> str:
    n = len(rows)
    head = title or f"Which map can I trust? {n} image{'s' if n != 1 else ''}"
    return f"{head}; mean and 95 % interval over images"


def _many_figure(
    rows: Sequence[Row], methods: list[str], metrics: list[str], title: str | None
) -> Any:
    """More than `MANY` methods: panels per family (see `evaluation_many`)."""

    from saliency_desktop.render import evaluation_many as many

    longest = max(len(g) for g in many.families(methods).values())
    kinds = [m for m in ("deletion", "insertion", "randomization") if m in metrics]
    n_scores = sum(any(s in ev.scores(m) for _, ev, _ in rows for m in methods) for s in SCORES)
    layers = len(many._layers(rows, methods))
    per_block = -(-len(methods) // max(1, min(3, 12 // max(layers, 1))))
    heights = {
        "curves": 2.1 * len(kinds) + 0.6 + 0.13 * longest if kinds else 0.0,
        "bars": -(-n_scores // 5) * (0.45 + 0.135 * len(methods)) + 0.3 if n_scores else 0.0,
        "maps": 0.5 + 0.72 * per_block if "randomization" in metrics else 0.0,
    }
    fig, stacked = _stacked(rows, title, heights, 0.4)
    for key, sub in stacked:
        if key == "curves":
            many.draw_family_curves(sub, rows, methods, metrics)
        elif key == "bars":
            many.draw_score_table(sub, rows, methods)
        else:
            many.draw_map_blocks(sub, rows[0], methods)
    return fig


def render_evaluation(
    rows: Sequence[Row],
    path_base: str | os.PathLike[str],
    formats: Sequence[str] = ("png",),
    dpi: int = DEFAULT_DPI,
    force: bool = False,
    title: str | None = None,
) -> list[Path]:
    """Write `<path_base>.<fmt>` for each format (atomic, no overwrite unless `force`)."""
    return save_figure(evaluation_figure(rows, title), Path(path_base), formats, dpi, force)


def figure_rgba(fig: Any, dpi: float) -> np.ndarray:
    """The figure drawn to an (H, W, 4) uint8 array (Agg), e.g. for a QImage in the app."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()
