"""One image's work for the batch commands: what a local run and a Ray worker both compute.

Qt-free and CLI-free, so that `batch`, `evaluate_cmd` and `cluster.worker` import it without an
import circle. It may import only `saliency_desktop.engine`'s public API (engine imported lazily).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saliency_desktop.engine import LoadedModel
    from saliency_desktop.engine.metric_types import Evaluation
    from saliency_desktop.engine.types import Explanation


def explain_image(
    model: LoadedModel, path: Path, params: dict[str, Any], progress: Any = None
) -> Explanation:
    """One image's Explanation: `explain(model, path, **params)`."""
    from saliency_desktop.engine import explain

    return explain(model, path, progress=progress, **params)


def evaluate_image(
    model: Any, path: Path, kwargs: dict[str, dict[str, Any]], progress: Any = None
) -> tuple[Explanation, Evaluation]:
    """One image explained then measured.

    `kwargs["explain"]` and `kwargs["evaluate"]` are the keyword arguments of `explain()` and
    `evaluate()`; progress runs 0..0.2 for the maps, 0.2..1 for the metrics."""
    from saliency_desktop.engine import evaluate, explain

    def report(start: float, span: float) -> Any:
        return None if progress is None else lambda f, m: progress(start + span * f, m)

    e = explain(model, path, progress=report(0.0, 0.2), **kwargs["explain"])
    ev = evaluate(model, None, e, progress=report(0.2, 0.8), **kwargs["evaluate"])
    return e, ev


def run_work(
    kind: str, model: Any, path: Path, kwargs: dict[str, Any], progress: Any = None
) -> Any:
    """One image's work of `kind` ("explain": `kwargs["params"]` are explain's keywords;
    "evaluate": see `evaluate_image`), here or on a cluster worker alike."""
    if kind == "explain":
        return explain_image(model, path, kwargs["params"], progress)
    if kind == "evaluate":
        return evaluate_image(model, path, kwargs, progress)
    raise ValueError(f"unknown kind of work {kind!r}")
