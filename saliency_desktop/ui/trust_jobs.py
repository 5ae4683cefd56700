"""The evaluate job kind: faithfulness metrics for the current explanation, in the engine thread.

An evaluation is an engine task (`engine.evaluate`) run in the app's one engine thread, in its
own lane (`TRUST`), so evaluations and explanations run one at a time on the same model (Keras
models are not thread-safe), a new check supersedes the running one, and closing the app stops
it. Its events come back as `JobEvent`s of that lane.
"""

from __future__ import annotations

from dataclasses import dataclass

from saliency_desktop.engine.types import Explanation
from saliency_desktop.ui.worker import EngineClient

TRUST = "evaluate"  # the lane, named after the engine task it runs
QUICK = ("deletion", "insertion")
FULL = ("deletion", "insertion", "road", "randomization", "random_logit")


@dataclass(frozen=True)
class EvaluateRequest:
    """One evaluate job: the explanation to measure and the metrics to run."""

    explanation: Explanation
    metrics: tuple[str, ...] = QUICK
    randomization_steps: int = 6


def evaluate(client: EngineClient, request: EvaluateRequest) -> int:
    """Queue an evaluation; the running one (if any) is cancelled and ignored."""
    return client.run_task(
        TRUST,
        request.explanation,
        list(request.metrics),
        randomization_steps=request.randomization_steps,
    )
