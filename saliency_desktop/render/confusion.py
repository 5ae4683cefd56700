"""The confusion-matrix figure of a labelled data set (rows = true class, columns = predicted).

Matplotlib `Figure` objects only (thread-safe for the app's export thread); each cell shows its
count, coloured by the fraction of its row (recall per class on the diagonal).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_desktop.render.labels import display_label

if TYPE_CHECKING:
    from saliency_desktop.engine import Confusion, PredictionRow

CSV_COLUMNS = ("path", "true", "predicted", "probability", "true_probability", "correct")


def confusion_figure(c: Confusion, title: str = "") -> Any:
    """A square heatmap of `c` with counts, labelled axes and the accuracy in the title."""
    from matplotlib.figure import Figure

    n = len(c.labels)
    side = float(np.clip(1.2 + 0.42 * n, 3.2, 14.0))
    fig = Figure(figsize=(side + 1.6, side + 0.9), layout="constrained")
    ax = fig.add_subplot()
    rows = c.matrix.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(rows > 0, c.matrix / np.maximum(rows, 1), 0.0)
    image = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    names = [display_label(lab) for lab in c.labels]
    size = 9 if n <= 12 else 7 if n <= 24 else 5
    ax.set_xticks(range(n), names, rotation=60, ha="right", fontsize=size)
    ax.set_yticks(range(n), names, fontsize=size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in range(n):
        for j in range(n):
            if c.matrix[i, j]:
                colour = "white" if frac[i, j] > 0.55 else "black"
                ax.text(j, i, str(c.matrix[i, j]), ha="center", va="center", fontsize=size,
                        color=colour)  # fmt: skip
    accuracy = "n/a" if np.isnan(c.accuracy) else f"{100 * c.accuracy:.1f} %"
    head = f"{title}: " if title else ""
    ax.set_title(f"{head}accuracy {accuracy} on {c.n_images} images", fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("fraction of the true class", fontsize=8)
    return fig


def render_confusion(
    c: Confusion,
    path_base: str | os.PathLike[str],
    formats: Sequence[str] = ("png",),
    dpi: int = 200,
    force: bool = False,
    title: str = "",
) -> list[Path]:
    """Write `<path_base>.<fmt>` for each format, atomically; returns the paths."""
    from saliency_desktop.render.panels import save_figure

    return save_figure(confusion_figure(c, title), path_base, formats, dpi, force)


def predictions_csv(rows: list[PredictionRow], labels: tuple[str, ...]) -> str:
    """The CSV text: one row per image, in the data set's order."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        true = r.item.label if r.item.true is None else labels[r.item.true]
        pred = "" if r.predicted is None else labels[r.predicted]
        prob = "" if r.predicted is None else f"{r.probability:.6f}"
        tp = "" if r.true_probability is None else f"{r.true_probability:.6f}"
        correct = "" if r.correct is None else str(r.correct).lower()
        w.writerow([r.item.name, true or "", pred, prob, tp, correct])
    return buf.getvalue()


def confusion_record(c: Confusion) -> dict[str, Any]:
    def clean(values: Any) -> list[float | None]:
        return [None if v != v else round(float(v), 6) for v in values]  # NaN -> null

    return {
        "labels": list(c.labels),
        "matrix": c.matrix.tolist(),
        "rows": "true",
        "columns": "predicted",
        "accuracy": None if c.accuracy != c.accuracy else round(c.accuracy, 6),
        "n_images": c.n_images,
        "precision": clean(c.precision),
        "recall": clean(c.recall),
    }
