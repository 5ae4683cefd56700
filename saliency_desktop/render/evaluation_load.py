"""Read an `evaluate` output folder back: the rows the evaluation figure is drawn from.

`saliency-desktop evaluate` writes `metrics.json` (scores, curves, layer names) and one
`<stem>.npz` per image (the maps as layers are randomised, the random-logit map). `load_rows`
turns them back into `(image name, Evaluation, None)` rows, so a figure can be redrawn, or the
folders of separate runs (one image each, say) merged into one figure, without recomputing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine.metric_types import Curve, Evaluation, MetricResult

EXTRA_KEYS = ("layers", "other_class", "other_label", "seconds")


def _result(mid: str, metric: str, entry: dict[str, Any], arrays: Any) -> MetricResult:
    curves = {
        name: Curve(np.asarray(c["x"], np.float64), np.asarray(c["y"], np.float64))
        for name, c in entry["curves"].items()
    }
    extras = {k: entry[k] for k in EXTRA_KEYS if k in entry}
    for suffix in ("maps", "map"):
        key = f"{mid}.{metric}.{suffix}"
        if arrays is not None and key in arrays.files:
            extras[suffix] = np.asarray(arrays[key], np.float32)
    scores = {k: float("nan") if v is None else float(v) for k, v in entry["scores"].items()}
    return MetricResult(metric, mid, scores, curves, extras)


def _evaluation(image: dict[str, Any], metrics: tuple[str, ...], params: dict, arrays) -> Any:
    results = {
        mid: {
            metric: _result(mid, metric, entry, arrays)
            for metric, entry in method["metrics"].items()
        }
        for mid, method in image["methods"].items()
    }
    target = image["target"]
    return Evaluation(target["index"], target["label"], metrics, results, params, image["seconds"])


def load_rows(folder: str | os.PathLike[str]) -> list[tuple[str, Evaluation, None]]:
    """(image file name, Evaluation, None) for each image of an `evaluate` output folder, in
    the folder's order. The maps come from `<stem>.npz` where it is there (a figure without them
    lacks only the strip of randomised maps). Raises ValueError naming what is missing."""
    folder = Path(folder)
    path = folder / "metrics.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        metrics = tuple(record["parameters"]["metrics"])
        params = dict(record["parameters"])
        images = record["images"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{path} is not an evaluate output ({type(exc).__name__}: {exc})."
        ) from exc
    rows = []
    for image in images:
        npz = folder / f"{image['name']}.npz"
        arrays = np.load(npz, allow_pickle=False) if npz.is_file() else None
        try:
            ev = _evaluation(image, metrics, params, arrays)
        finally:
            if arrays is not None:
                arrays.close()
        rows.append((Path(image["path"]).name, ev, None))
    return rows


def load_many(folders: Sequence[str | os.PathLike[str]]) -> list[tuple[str, Evaluation, None]]:
    """The rows of several output folders, in the order given."""
    return [row for folder in folders for row in load_rows(folder)]
