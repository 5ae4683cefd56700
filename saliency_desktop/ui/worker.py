"""The one engine thread of the app: one QThread for the app's life, one worker object in it.

`Worker` lives in a QThread for the app's life and owns the model; jobs (`ui/jobs.py`) run one
at a time in the order they were queued, and everything they say comes out as one signal of
`JobEvent`s. `EngineClient` lives in the GUI thread: it queues jobs by lane, cancels the one a
new job supersedes and passes on the events of *current* jobs only, so a stale result never
reaches a widget. Only signals cross the thread boundary.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from saliency_desktop.engine.types import CancelledError, EngineError
from saliency_desktop.ui.engine_api import EngineLike, ExplainRequest, ModelRequest
from saliency_desktop.ui.jobs import (
    EXPLAIN,
    MODEL,
    UNEXPECTED,
    WARM_UP,
    Job,
    JobContext,
    JobEvent,
    Kind,
    explain_job,
    load_model_job,
    task_job,
    warm_up_job,
)

log = logging.getLogger(__name__)
QUIET_LANES = (EXPLAIN, MODEL, WARM_UP)  # followed by the Session, or by nobody (warm-up)


class EngineThread(QThread):
    """The engine's QThread, with `run` in Python on purpose.

    Python's `run` keeps one Python thread state alive for the thread's whole life; every
    queued slot call then reuses it. With the default C++ `run`, PySide makes a fresh thread
    state for each call, and TensorFlow's pybind11 code, which remembers the first one, waits
    for the GIL its own thread holds (a self-deadlock when the second job traces a graph).
    """

    def run(self) -> None:
        self.exec()


class Worker(QObject):
    """Runs jobs in the engine thread and owns the model. Never touches a widget."""

    event = Signal(object)  # JobEvent

    def __init__(self, engine: EngineLike) -> None:
        super().__init__()
        self._engine = engine
        self.model: Any = None  # the loaded model, for every job of this thread

    def _keep(self, model: Any) -> None:
        self.model = model

    @Slot(object)
    def run(self, job: Job) -> None:
        def emit(kind: Kind, payload: Any = None) -> None:
            self.event.emit(JobEvent(job.id, job.lane, kind, payload))

        ctx = JobContext(self._engine, self.model, job.cancel, emit, self._keep)
        try:
            if job.cancel.is_set():
                raise CancelledError("Cancelled.")
            start = time.perf_counter()
            payload = job.run(ctx)
            log.info("job %d (%s) in %.2f s", job.id, job.label, time.perf_counter() - start)
            emit(Kind.DONE, payload)
        except CancelledError:
            log.info("job %d (%s) cancelled", job.id, job.label)
            emit(Kind.CANCELLED)
        except EngineError as exc:  # the user sees one line; the log keeps the traceback
            log.warning("job %d (%s) failed: %s", job.id, job.label, exc, exc_info=True)
            emit(Kind.FAILED, str(exc))
        except Exception as exc:
            log.exception("job %d (%s) failed", job.id, job.label)
            emit(Kind.FAILED, UNEXPECTED.format(exc))
        finally:
            emit(Kind.FINISHED)


class EngineClient(QObject):
    """GUI-side handle of the engine thread: queue, supersede, cancel, shut down."""

    event = Signal(object)  # JobEvent of a current job (the FINISHED of any job it ran)
    _queued = Signal(object)  # Job

    def __init__(self, engine: EngineLike, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}  # queued or running
        self.current: dict[str, int] = {}  # lane -> its current job
        self.loading: ModelRequest | None = None  # the model of the last load queued
        self.thread = EngineThread()
        self.thread.setObjectName("saliency-engine")
        self.worker = Worker(engine)
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._queued.connect(self.worker.run)
        self.worker.event.connect(self._on_event)
        self.thread.start()
        self._closed = False

    # ---- requests (GUI thread) ----
    def submit(self, lane: str, run: Callable[[JobContext], Any], label: str = "") -> int:
        """Queue `run` in `lane`; the lane's current job (if any) is cancelled and ignored."""
        self.cancel(lane)
        job = Job(next(self._ids), lane, run, label=label or lane)
        self._jobs[job.id] = job
        self.current[lane] = job.id
        self._queued.emit(job)
        return job.id

    def load_model(self, request: ModelRequest) -> int:
        """Queue a model load; it supersedes the running explain job and any earlier load."""
        self.cancel(EXPLAIN)
        self.loading = request
        job = self.submit(MODEL, load_model_job(request), f"load {request.spec}")
        self.submit(WARM_UP, warm_up_job, "warm-up")  # runs after the load, in the same queue
        return job

    def explain(self, request: ExplainRequest) -> int:
        """Queue an explain job; the current one (if any) is cancelled and its results ignored,
        and so is the warm-up (the explain compiles what it still needs)."""
        self.cancel(WARM_UP)
        return self.submit(EXPLAIN, explain_job(request), ", ".join(request.methods))

    def run_task(self, name: str, *args: Any, **kwargs: Any) -> int:
        """Queue `engine.<name>(model, *args, **kwargs, progress, cancel)` in lane `name`."""
        return self.submit(name, task_job(name, *args, **kwargs), name)

    def cancel(self, lane: str = EXPLAIN) -> None:
        """Cancel the lane's current job (checked by the engine between batches); its events
        are ignored from now on. A lane other than the Session's hears FINISHED at once."""
        job_id = self.current.pop(lane, None)
        if job_id is None:
            return
        self._set_cancel(job_id)
        if lane not in QUIET_LANES:
            self.event.emit(JobEvent(job_id, lane, Kind.FINISHED))

    def cancel_model_load(self) -> None:
        """Stop the model load; it stays current, so its CANCELLED event comes through."""
        if MODEL in self.current:
            self._set_cancel(self.current[MODEL])

    def is_busy(self, lane: str = EXPLAIN) -> bool:
        return lane in self.current

    @property
    def current_job(self) -> int | None:
        return self.current.get(EXPLAIN)

    def shutdown(self) -> None:
        """Cancel everything, stop the thread and wait for it (no running thread is left)."""
        if self._closed:
            return
        self._closed = True
        for job_id in self._jobs:
            self._set_cancel(job_id)
        self.current.clear()
        self.thread.quit()
        self.thread.wait()

    def _set_cancel(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            job.cancel.set()

    # ---- the worker's events (GUI thread): the current jobs' only ----
    @Slot(object)
    def _on_event(self, event: JobEvent) -> None:
        current = self.current.get(event.lane) == event.job
        if event.kind is Kind.FINISHED:
            self._jobs.pop(event.job, None)
            if current:
                del self.current[event.lane]
        if current:
            self.event.emit(event)
        elif event.kind is Kind.RESULT:
            log.debug("ignored a result of superseded job %d", event.job)
