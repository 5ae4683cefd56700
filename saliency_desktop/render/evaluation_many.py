"""The evaluation figure for many methods (more than 10): one column of panels per family.

Twenty-five curves in one panel cannot be told apart, and ten bar charts that each repeat 25
method names waste the page. So, with many methods:

1. curves in small multiples, one column per method family (gradients, CAMs, perturbation,
   path methods): deletion, insertion and the randomisation cascade (Spearman rank
   correlation of |map|), each a mean over images with its 95 % band from 3 images on; one
   legend per family below its column (at most ~11 lines, so the colours stay apart);
2. the scores as bars that share one column of method names, grouped by family (one colour
   per family), mean and 95 % t-interval over images;
3. the maps of the first image as layers are randomised, in side-by-side blocks of methods.

The SSIM curve of the cascade is left out here (its final value is among the bars).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from saliency_desktop.engine.metric_types import SCORES
from saliency_desktop.render.evaluation_rows import curve_x, mean_interval, stacked_curves
from saliency_desktop.render.panels import method_label

_PT = 8.0
FAMILY_TITLES = {"gradients": "Gradients", "cam": "CAMs", "perturbation": "Perturbation",
                 "path": "Path methods"}  # fmt: skip
FAMILY_COLOURS = {"gradients": "#1f77b4", "cam": "#d62728", "perturbation": "#2ca02c",
                  "path": "#9467bd"}  # fmt: skip
PRIMARY = ("deletion_auc", "insertion_auc", "road_gap", "randomization_mean", "randomization",
           "random_logit")  # fmt: skip


def families(methods: Sequence[str]) -> dict[str, list[str]]:
    """Methods by family, in the order the families first appear ("other" for unknown ids)."""
    from saliency_desktop.render.export import method_info

    out: dict[str, list[str]] = {}
    for mid in methods:
        info = method_info(mid)
        out.setdefault(str(info.family) if info else "other", []).append(mid)
    return out


def family_colours(group: Sequence[str]) -> dict[str, tuple[Any, str]]:
    """(colour, line style) per method of one family: tab10, dashed once the colours repeat."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {m: (cmap(i % 10), "-" if i < 10 else "--") for i, m in enumerate(group)}


# 95 % bands around the mean curves from this many images on: with fewer, Student's t (4.3 at
# three images) makes bands that cover the panel, with up to 11 methods in one panel.
BAND_FROM = 5


def _mean_band(ax: Any, x: np.ndarray, ys: np.ndarray, colour: Any, ls: str, label: str) -> None:
    mean = ys.mean(axis=0)
    ax.plot(x, mean, color=colour, ls=ls, lw=1.2, label=label,
            marker="o" if len(x) < 12 else None, ms=2.5)  # fmt: skip
    if len(ys) >= BAND_FROM:
        half = np.array([mean_interval(col)[1] for col in ys.T])
        ax.fill_between(x, mean - half, mean + half, color=colour, alpha=0.12, lw=0)


def _panel(ax: Any, rows: Sequence[Any], group: dict[str, Any], metric: str, curve: str) -> None:
    for mid, (colour, ls) in group.items():
        ys = stacked_curves(rows, mid, metric, curve)
        if ys is not None:
            _mean_band(ax, curve_x(rows, mid, metric, curve), ys, colour, ls, method_label(mid))
    ax.grid(alpha=0.3, lw=0.5)
    ax.tick_params(labelsize=_PT - 1.5)


def _layers(rows: Sequence[Any], methods: Sequence[str]) -> list[str]:
    for _, ev, _ in rows:
        for mid in methods:
            if "randomization" in ev.results.get(mid, {}):
                return list(ev.results[mid]["randomization"].extras["layers"])
    return []


def draw_family_curves(sub: Any, rows: Sequence[Any], methods: Sequence[str],
                       metrics: Sequence[str]) -> None:  # fmt: skip
    """Rows: deletion, insertion, randomisation (those computed); columns: families; legends
    in a row of their own below."""
    groups = families(methods)
    kinds = [m for m in ("deletion", "insertion") if m in metrics]
    kinds += ["randomization"] if "randomization" in metrics else []
    longest = max(len(g) for g in groups.values())
    heights = [2.1] * len(kinds) + [0.25 + 0.13 * longest]
    axes = sub.subplots(len(heights), len(groups), squeeze=False, height_ratios=heights)
    layers = _layers(rows, methods)
    for col, (family, members) in enumerate(groups.items()):
        colours = family_colours(members)
        for r, kind in enumerate(kinds):
            ax = axes[r, col]
            curve = "spearman" if kind == "randomization" else kind
            _panel(ax, rows, colours, kind, curve)
            if kind == "randomization":
                ax.axhline(0.5, color="0.4", lw=0.7, ls="--")  # the sanity threshold
                ax.set_xticks(np.arange(len(layers)), layers, rotation=30, ha="right",
                              fontsize=_PT - 2)  # fmt: skip
            else:
                ax.set_xlim(0, 1)
                ax.set_ylim(0, 1.02)
            if r == 0:
                ax.set_title(FAMILY_TITLES.get(family, family.capitalize()), fontsize=_PT + 1)
            if col == 0:
                ax.set_ylabel(_ylabel(kind), fontsize=_PT - 0.5)
            else:
                ax.tick_params(labelleft=False)
        holder = axes[-1, col]
        holder.axis("off")
        holder.legend(*axes[0, col].get_legend_handles_labels(), loc="upper center",
                      fontsize=_PT - 1.5, frameon=False, borderaxespad=1.0)  # fmt: skip
    if "randomization" in kinds:  # one y range across the row (its tick labels are on the left)
        row = axes[kinds.index("randomization")]
        low = min(ax.dataLim.y0 for ax in row if ax.lines)
        for ax in row:
            ax.set_ylim(min(-0.25, low - 0.08), 1.05)  # anti-correlated maps too


def _ylabel(kind: str) -> str:
    return {
        "deletion": "Deletion: P(target)\nvs fraction blacked out ↓",
        "insertion": "Insertion: P(target)\nvs fraction restored ↑",
        "randomization": "Randomisation: rank corr.\nof |map| to the original ↓",
    }[kind]


def draw_score_table(sub: Any, rows: Sequence[Any], methods: Sequence[str]) -> None:
    """The scores as bars sharing one column of method names, families in colour."""
    scores = [s for s in SCORES if any(s in ev.scores(m) for _, ev, _ in rows for m in methods)]
    first = [s for s in PRIMARY if s in scores]
    ordered = first + [s for s in scores if s not in first]
    ncols = min(len(ordered), 5)
    nrows = -(-len(ordered) // ncols)
    axes = sub.subplots(nrows, ncols, squeeze=False, sharey=True)
    family_of = {m: f for f, ms in families(methods).items() for m in ms}
    y = np.arange(len(methods))
    colours = [FAMILY_COLOURS.get(family_of[m], "0.5") for m in methods]
    for ax, score in zip(axes.ravel(), ordered, strict=False):
        stats = [mean_interval([ev.scores(m).get(score, np.nan) for _, ev, _ in rows])
                 for m in methods]  # fmt: skip
        means = np.array([s[0] for s in stats])
        ax.barh(y, np.nan_to_num(means), xerr=[s[1] for s in stats], color=colours, height=0.7,
                error_kw={"lw": 0.7, "capsize": 1.5})  # fmt: skip
        finite = np.append(means[np.isfinite(means)], 0.0)
        lo, hi = float(finite.min()), float(finite.max())
        span = max(hi - lo, 0.1)
        lo, hi = lo - 0.2 * span * (lo < 0), hi + 0.3 * span
        ax.set_xlim(lo, hi)  # the means' range: a wide interval (few images) runs off the edge
        for yi, mean in zip(y, means, strict=True):
            if np.isfinite(mean):  # at the bar's end, over the whisker
                ax.text(mean, yi, f" {mean:.2f} ", va="center", fontsize=_PT - 2.5,
                        ha="left" if mean >= 0 else "right",
                        bbox={"fc": "white", "ec": "none", "alpha": 0.75, "pad": 0.2})  # fmt: skip
        label, better, _ = SCORES[score]
        ax.set_title(f"{label} {'↓' if better == 'lower' else '↑'}", fontsize=_PT)
        ax.axvline(0, color="0.3", lw=0.6)
        ax.tick_params(axis="x", labelsize=_PT - 2)
        ax.grid(axis="x", alpha=0.3, lw=0.5)
    axes[0, 0].set_yticks(y, [method_label(m) for m in methods], fontsize=_PT - 1.5)
    axes[0, 0].invert_yaxis()
    for row in axes:
        row[0].tick_params(axis="y", labelsize=_PT - 1.5)
        for ax in row[1:]:
            ax.tick_params(labelleft=False)
        for tick, colour in zip(row[0].get_yticklabels(), colours, strict=False):
            tick.set_color(colour)
    for ax in axes.ravel()[len(ordered) :]:
        ax.set_visible(False)
    sub.suptitle("Scores per method (bars: mean over images; whiskers: 95 % t-interval; names "
                 "coloured by family)", fontsize=_PT + 1)  # fmt: skip


def draw_map_blocks(sub: Any, row: Any, methods: Sequence[str]) -> None:
    """The first image's maps as layers are randomised (Adebayo et al. fig. 2), the methods in
    side-by-side blocks so that the strip uses the page's width."""
    name, ev, _ = row
    shown = [m for m in methods if "randomization" in ev.results.get(m, {})]
    if not shown:
        return
    layers = ev.results[shown[0]]["randomization"].extras["layers"]
    blocks = max(1, min(3, 12 // len(layers)))
    per = -(-len(shown) // blocks)
    subs = sub.subfigures(1, blocks, squeeze=False, wspace=0.02)[0]
    for b, block in enumerate(subs):
        part = shown[b * per : (b + 1) * per]
        axes = block.subplots(per, len(layers), squeeze=False,
                              gridspec_kw={"wspace": 0.03, "hspace": 0.05})  # fmt: skip
        for i, ax_row in enumerate(axes):
            for j, ax in enumerate(ax_row):
                ax.set_xticks([])
                ax.set_yticks([])
                if i >= len(part):
                    ax.set_visible(False)
                    continue
                stack = np.abs(ev.results[part[i]]["randomization"].extras["maps"])
                top = float(np.percentile(stack[j], 99))
                ax.imshow(stack[j] / top if top > 0 else stack[j], cmap="gray", vmin=0, vmax=1)
                if i == 0:
                    ax.set_title(layers[j], fontsize=_PT - 2.5)
                if j == 0:
                    ax.set_ylabel(method_label(part[i]), fontsize=_PT - 2, rotation=0,
                                  ha="right", va="center")  # fmt: skip
    sub.suptitle(f"{name}: the maps as layers are randomised from the output down (|map|, each "
                 "clipped at its 99th percentile)", fontsize=_PT + 1)  # fmt: skip
