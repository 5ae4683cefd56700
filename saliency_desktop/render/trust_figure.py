"""The Trust panel's figure: per method, its deletion/insertion curves and its sanity strip.

One row per method: on the left P against the fraction of pixels blacked out (deletion) and
restored (insertion), AUCs in the legend; on the right the map as the model is randomised from
the output layer down (Adebayo et al. 2018, fig. 2), with the verdict of `trust_text`.
matplotlib's `Figure` only, so the app renders it in a worker thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.metric_types import Evaluation
from saliency_desktop.render.panels import method_label
from saliency_desktop.render.trust_text import passes_sanity_check

_PT = 7.5
MAX_STRIP = 5  # maps shown in a sanity strip: the original, then steps spread over the cascade


def strip_steps(n_maps: int, limit: int = MAX_STRIP) -> list[int]:
    """Indices of the maps to show: always the original (0) and the last (all randomised)."""
    if n_maps <= limit:
        return list(range(n_maps))
    return sorted({int(round(i)) for i in np.linspace(0, n_maps - 1, limit)})


def two_lines(name: str, width: int = 10) -> str:
    """A long layer name broken at the underscore nearest its middle (always two lines)."""
    cuts = [i for i, ch in enumerate(name) if ch == "_"]
    if len(name) <= width or not cuts:
        return name + "\n"
    cut = min(cuts, key=lambda i: abs(i - len(name) / 2))
    return f"{name[:cut]}\n{name[cut + 1 :]}"


def _curves(ax: Any, ev: Evaluation, mid: str) -> None:
    results = ev.results[mid]
    for metric, colour in (("deletion", "tab:red"), ("insertion", "tab:blue")):
        if metric in results:
            c = results[metric].curves[metric]
            auc = results[metric].scores[f"{metric}_auc"]
            ax.plot(c.x, c.y, color=colour, lw=1.2, label=f"{metric} AUC {auc:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("fraction of pixels changed", fontsize=_PT - 1)
    ax.set_ylabel("P(target)", fontsize=_PT - 1)
    ax.tick_params(labelsize=_PT - 1.5)
    ax.grid(alpha=0.3, lw=0.5)
    if ax.lines:
        ax.legend(fontsize=_PT - 1.5, frameon=False)


def _strip(axes: Any, ev: Evaluation, mid: str) -> None:
    r = ev.results[mid]["randomization"]
    stack = np.abs(np.asarray(r.extras["maps"]))
    rho = r.curves["spearman"].y
    for ax, j in zip(axes, strip_steps(len(stack)), strict=False):
        top = float(np.percentile(stack[j], 99))
        ax.imshow(stack[j] / top if top > 0 else stack[j], cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{two_lines(r.extras['layers'][j])}\nρ = {rho[j]:.2f}", fontsize=_PT - 2)


def trust_figure(ev: Evaluation, width_in: float = 6.0) -> Any:
    """The panel's figure for one image's evaluation (a `Figure`, not saved)."""
    from matplotlib.figure import Figure

    methods = list(ev.results)
    has_strip = "randomization" in ev.metrics
    has_curves = any(m in ev.metrics for m in ("deletion", "insertion"))
    n_strip = MAX_STRIP if has_strip else 0
    ncols = (2 if has_curves else 0) + n_strip
    row_h = max(width_in / max(ncols, 1) + 0.55, 1.6)
    fig = Figure(figsize=(width_in, row_h * len(methods) + 0.1), layout="constrained",
                 facecolor="white")  # fmt: skip
    subs = fig.subfigures(len(methods), 1, squeeze=False)[:, 0]
    for sub, mid in zip(subs, methods, strict=True):
        verdict = passes_sanity_check(ev.scores(mid))
        mark = "" if verdict is None else ("  ✓ passes the sanity check" if verdict else
                                           "  ✗ fails the sanity check")  # fmt: skip
        sub.suptitle(method_label(mid) + mark, fontsize=_PT + 1, x=0.01, ha="left")
        widths = ([2] if has_curves else []) + [1] * n_strip
        axes = sub.subplots(1, len(widths), squeeze=False, width_ratios=widths)[0]
        if has_curves:
            _curves(axes[0], ev, mid)
        if has_strip and "randomization" in ev.results[mid]:
            _strip(axes[1 if has_curves else 0 :], ev, mid)
        for ax in axes[(1 if has_curves else 0) :]:
            if not ax.images:
                ax.set_visible(False)
    return fig
