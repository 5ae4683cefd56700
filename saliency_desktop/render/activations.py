"""The Neurons figure: a layer's top channels over the image, and boxes drawn on panels.

One panel per chosen channel: the channel's map (upsampled) blended over the original image,
all on one colour scale (the largest shown activation) so that brightness compares across
channels; the title gives the channel index and its ranking value. Shared by the CLI
(`saliency-desktop activations`) and the app's export. No TensorFlow, no Qt.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_desktop.render import maps
from saliency_desktop.render.maps import BOX_COLOUR, draw_box  # noqa: F401 - BOX_COLOUR re-exported

if TYPE_CHECKING:
    from saliency_desktop.engine import LayerActivations

_CELL = 1.5  # inches per panel
_COLUMNS = 6
TRUTH_COLOUR = "white"


def summary_line(acts: LayerActivations) -> str:
    s = acts.summary
    h, w, k = s.shape
    return (
        f"{s.layer}  ({h}×{w}×{k})  ·  {100 * s.active_fraction:.1f} % of units active  ·  "
        f"mean {s.mean:.3g}  ·  max {s.max:.3g}"
    )


def activations_figure(
    image: np.ndarray,
    acts: LayerActivations,
    title: str | None = None,
    cmap: str = "viridis",
    opacity: float = 0.6,
) -> Any:
    """The grid as a `matplotlib.figure.Figure` (not saved)."""
    from matplotlib.figure import Figure

    n = len(acts.indices)
    cols = min(n, _COLUMNS)
    rows = math.ceil(n / cols)
    aspect = image.shape[0] / image.shape[1]
    head = 0.75
    fig = Figure(figsize=(cols * _CELL, head + rows * (_CELL * aspect + 0.3)), facecolor="white")
    ranked = "mean activation" if acts.rank == "mean" else f"contribution to class {acts.target}"
    first = f"{title}  ·  " if title else ""
    fig.suptitle(f"{first}top {n} channels by {ranked}", fontsize=10, fontweight="bold", y=0.995)
    fig.text(0.5, 1 - 0.42 / fig.get_figheight(), summary_line(acts), ha="center", fontsize=7.5)
    scale = max(float(acts.maps.max()), 1e-12)
    grid = fig.add_gridspec(rows, cols, top=1 - head / fig.get_figheight(), bottom=0.01)
    grid.update(left=0.01, right=0.99, hspace=0.3, wspace=0.05)
    for i, (k, value) in enumerate(zip(acts.indices, acts.values, strict=True)):
        ax = fig.add_subplot(grid[divmod(i, cols)])
        rgb = maps.overlay(image, acts.maps[i], False, cmap, opacity, 100.0, scale)
        ax.imshow(rgb, interpolation="antialiased", aspect="auto")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"#{int(k)}  {float(value):.3g}", fontsize=8, pad=2)
    return fig


def render_activations(
    image: np.ndarray,
    acts: LayerActivations,
    path_base: str | os.PathLike[str],
    formats: Sequence[str] = ("png",),
    dpi: int = 200,
    force: bool = False,
    title: str | None = None,
) -> list[Path]:
    """Write `<path_base>.<fmt>` for each format, atomically; returns the paths."""
    from saliency_desktop.render.panels import save_figure

    return save_figure(activations_figure(image, acts, title), path_base, formats, dpi, force)
