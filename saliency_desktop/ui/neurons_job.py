"""The Neurons panel's job kind: layer activations computed in the engine thread.

The job runs in the engine's QThread beside the explain jobs, in its own lane (`NEURONS`), so
jobs still run one at a time and the activations the explain passes just captured are reused
from the engine's cache; a new request supersedes the previous one, so a stale layer never
reaches the panel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from saliency_desktop.ui.jobs import JobContext

NEURONS = "neurons"


@dataclass(frozen=True)
class NeuronsRequest:
    """One layer of one image: its top channels and (once per image) every layer's summary."""

    image: np.ndarray
    layer: str
    top: int = 16
    rank: str = "mean"
    target: int | None = None
    summaries: bool = True


@dataclass(frozen=True)
class NeuronsResult:
    activations: Any  # engine.neurons.LayerActivations
    summaries: list[Any] | None  # engine.neurons.LayerSummary per feature layer


def neurons_job(request: NeuronsRequest) -> Callable[[JobContext], NeuronsResult]:
    def run(ctx: JobContext) -> NeuronsResult:
        model, engine, r = ctx.need_model(), ctx.engine, request
        acts = engine.layer_activations(model, r.image, r.layer, r.top, r.rank, r.target)
        strip = engine.layer_summaries(model, r.image) if r.summaries else None
        return NeuronsResult(acts, strip)

    return run
