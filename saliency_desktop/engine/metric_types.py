"""Plain data for faithfulness metrics and sanity checks: curves, scores, one evaluation.

Frozen dataclasses of numpy arrays and builtins (no TensorFlow, no Qt), shared by the engine,
the renderer, the `evaluate` command and the app's Trust panel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

METRICS = ("deletion", "insertion", "road", "randomization", "random_logit")

# What each score means, for tables, the CSV and the app: (label, better, short definition).
SCORES: dict[str, tuple[str, str, str]] = {
    "deletion_auc": ("Deletion AUC", "lower", "P while the top pixels are blacked out"),
    "insertion_auc": ("Insertion AUC", "higher", "P while the top pixels are restored"),
    "road_morf": ("ROAD MoRF", "lower", "P, most relevant 10-90 % imputed"),
    "road_lerf": ("ROAD LeRF", "higher", "P, least relevant 10-90 % imputed"),
    "road_gap": ("ROAD gap", "higher", "LeRF mean minus MoRF mean"),
    "randomization": (
        "Randomisation, all layers",
        "lower",
        "rank corr. of |map|, all layers random",
    ),
    "randomization_ssim": ("Randomisation SSIM", "lower", "SSIM of maps, all layers random"),
    "randomization_mean": ("Randomisation, mean", "lower", "rank corr. of |map|, cascade mean"),
    "random_logit": ("Random logit", "lower", "rank corr. of |map| vs another class"),
    "random_logit_ssim": ("Random logit SSIM", "lower", "SSIM of maps vs another class"),
}


@dataclass(frozen=True)
class Curve:
    """y against x: P against the fraction of pixels changed, or similarity against layers."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class MetricResult:
    """One metric for one method on one image.

    `scores` maps score names (keys of `SCORES`) to values; `curves` holds the curves they
    summarise; `extras` what a figure needs besides (randomisation: the layer names and the
    maps as layers are randomised; random_logit: the other class).
    """

    metric: str
    method: str
    scores: dict[str, float]
    curves: dict[str, Curve]
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """Everything one `evaluate()` call measured for one image and explanation."""

    target: int
    target_label: str
    metrics: tuple[str, ...]
    results: dict[str, dict[str, MetricResult]]  # method id -> metric -> result
    params: dict[str, Any]
    seconds: float

    def scores(self, method: str) -> dict[str, float]:
        """All scores of one method, over its metrics."""
        out: dict[str, float] = {}
        for result in self.results.get(method, {}).values():
            out.update(result.scores)
        return out
