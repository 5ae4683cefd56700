"""The evaluate job kind: faithfulness metrics for the current explanation, in the engine thread.

`TrustWorker` lives in the app's one engine thread, next to the explain worker, so evaluations
and explanations run one at a time on the same model (Keras models are not thread-safe).
`TrustJobs` is its GUI-side handle: it queues a job, cancels the one it supersedes and forwards
only the current job's signals. Job ids and cancel events come from the `EngineClient`, so
closing the app (which sets every event, then waits for the thread) stops an evaluation too.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from saliency_desktop.engine.types import CancelledError, EngineError, Explanation
from saliency_desktop.ui.engine_api import EngineLike
from saliency_desktop.ui.worker import UNEXPECTED, EngineClient

log = logging.getLogger(__name__)

QUICK = ("deletion", "insertion")
FULL = ("deletion", "insertion", "road", "randomization", "random_logit")


@dataclass(frozen=True)
class EvaluateRequest:
    """One evaluate job: the explanation to measure and the metrics to run."""

    explanation: Explanation
    metrics: tuple[str, ...] = QUICK
    randomization_steps: int = 6


class TrustWorker(QObject):
    """Runs `engine.evaluate` in the engine thread. Never touches a widget."""

    progress = Signal(int, float, str)
    evaluated = Signal(int, object)  # job id, Evaluation
    failed = Signal(int, str)
    cancelled = Signal(int)
    finished = Signal(int)

    def __init__(self, engine: EngineLike, client: EngineClient) -> None:
        super().__init__()
        self._engine = engine
        self._explain_worker = client.worker  # owns the model (same thread)

    @Slot(int, object, object)
    def evaluate(self, job_id: int, request: EvaluateRequest, cancel: threading.Event) -> None:
        try:
            if cancel.is_set():
                raise CancelledError("Cancelled.")
            model = self._explain_worker.model
            if model is None:
                raise EngineError("No model is loaded: choose one in the Model menu.")
            result = self._engine.evaluate(
                model,
                request.explanation,
                list(request.metrics),
                lambda f, msg: self.progress.emit(job_id, float(f), msg),
                cancel,
                request.randomization_steps,
            )
            self.evaluated.emit(job_id, result)
        except CancelledError:
            self.cancelled.emit(job_id)
        except EngineError as exc:
            log.warning("evaluate job %d failed: %s", job_id, exc, exc_info=True)
            self.failed.emit(job_id, str(exc))
        except Exception as exc:
            log.exception("evaluate job %d failed", job_id)
            self.failed.emit(job_id, UNEXPECTED.format(exc))
        finally:
            self.finished.emit(job_id)


class TrustJobs(QObject):
    """GUI-side handle: one current evaluate job; stale signals are dropped."""

    progress = Signal(float, str)
    evaluated = Signal(object)  # Evaluation
    failed = Signal(str)
    finished = Signal()

    _requested = Signal(int, object, object)

    def __init__(self, engine: EngineLike, client: EngineClient, parent: QObject | None = None):
        super().__init__(parent)
        self._client = client
        self.current: int | None = None
        self.worker = TrustWorker(engine, client)
        self.worker.moveToThread(client.thread)
        client.thread.finished.connect(self.worker.deleteLater)
        self._requested.connect(self.worker.evaluate)
        w = self.worker
        w.progress.connect(lambda j, f, m: self._if_current(j, self.progress.emit, f, m))
        w.evaluated.connect(lambda j, ev: self._if_current(j, self.evaluated.emit, ev))
        w.failed.connect(lambda j, msg: self._if_current(j, self.failed.emit, msg))
        w.finished.connect(self._on_finished)

    def evaluate(self, request: EvaluateRequest) -> int:
        """Queue an evaluation; the current one (if any) is cancelled and ignored."""
        self.cancel()
        job_id = self._client._new_job()
        self.current = job_id
        self._requested.emit(job_id, request, self._client._events[job_id])
        return job_id

    def cancel(self) -> None:
        if self.current is not None:
            self._client._cancel_job(self.current)
            self.current = None
            self.finished.emit()

    def is_busy(self) -> bool:
        return self.current is not None

    def _if_current(self, job_id: int, emit: Any, *args: Any) -> None:
        if job_id == self.current:
            emit(*args)

    @Slot(int)
    def _on_finished(self, job_id: int) -> None:
        self._client._events.pop(job_id, None)
        if job_id == self.current:
            self.current = None
            self.finished.emit()
