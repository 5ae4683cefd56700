"""The evaluation figure's data: rows of (image, evaluation, explanation), each method's curves
across images, and means with their 95 % t-intervals (shared by `evaluation` and
`evaluation_many`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from saliency_desktop.engine.metric_types import Evaluation
from saliency_desktop.engine.types import Explanation

Row = tuple[str, Evaluation, Explanation | None]  # (image name, evaluation, explanation)
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000}  # fmt: skip


def t_quantile(df: int) -> float:
    """Student's t 97.5 % quantile for `df` degrees of freedom (table, rounded down in df)."""
    keys = [k for k in _T975 if k <= df]
    return _T975[max(keys)] if df <= 60 else 1.96


def mean_interval(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of its 95 % t-interval); the half-width is 0 for a single value."""
    v = np.asarray([x for x in values if np.isfinite(x)], np.float64)
    if v.size == 0:
        return float("nan"), 0.0
    if v.size == 1:
        return float(v[0]), 0.0
    return float(v.mean()), t_quantile(v.size - 1) * float(v.std(ddof=1)) / np.sqrt(v.size)


def method_order(rows: Sequence[Row]) -> list[str]:
    return list(dict.fromkeys(mid for _, ev, _ in rows for mid in ev.results))


def stacked_curves(rows: Sequence[Row], mid: str, metric: str, name: str) -> np.ndarray | None:
    ys = [
        ev.results[mid][metric].curves[name].y
        for _, ev, _ in rows
        if metric in ev.results.get(mid, {})
    ]
    return np.stack(ys) if ys else None


def curve_x(rows: Sequence[Row], mid: str, metric: str, name: str) -> np.ndarray:
    for _, ev, _ in rows:
        if metric in ev.results.get(mid, {}):
            return ev.results[mid][metric].curves[name].x
    raise KeyError(metric)
