"""The one engine thread of the app: one QThread for the app's life, one worker object in it.

`Worker` lives in a QThread for the app's life and owns the model; jobs run one at a time in the
order they were queued. `EngineClient` lives in the GUI thread: it queues jobs, cancels the one
being superseded and forwards the worker's signals *only for the current job*, so a stale result
never reaches a widget. Only signals cross the thread boundary.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from saliency_desktop.engine.types import CancelledError, EngineError, MethodResult
from saliency_desktop.ui.engine_api import (
    EngineLike,
    ExplainRequest,
    LoadedModelState,
    ModelRequest,
)

log = logging.getLogger(__name__)

UNEXPECTED = "Unexpected error: {}. The details are in the log (Help > Show log)."


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
    """Runs engine calls in the engine thread. Never touches a widget."""

    progress = Signal(int, float, str)  # job id, fraction, message
    result = Signal(int, str, object)  # job id, method id, MethodResult
    explained = Signal(int, object)  # job id, Explanation
    predicted = Signal(int, object, int)  # job id, top-k predictions, target (before any map)
    failed = Signal(int, str)  # job id, user-ready message
    cancelled = Signal(int)
    finished = Signal(int)  # every job ends with this, whatever happened
    model_loaded = Signal(int, object)  # job id, LoadedModelState
    model_failed = Signal(int, str)
    download_progress = Signal(int, object, object)  # job id, bytes so far, total or None
    task_progress = Signal(int, float, str)  # job id, fraction, message
    task_result = Signal(int, object)  # job id, payload
    face = Signal(int, object)  # job id, the face crop's Box in the image (None: no face)

    def __init__(self, engine: EngineLike) -> None:
        super().__init__()
        self._engine = engine
        self._model: Any = None
        self._versions: dict[str, str] = {}

    @property
    def model(self) -> Any:
        """The loaded model, for other jobs of this thread (Trust and Neurons panels)."""
        return self._model

    @Slot(int, object, object)
    def load_model(self, job_id: int, request: ModelRequest, cancel: threading.Event) -> None:
        try:
            if cancel.is_set():
                raise CancelledError("Cancelled.")
            start = time.perf_counter()
            model = self._engine.load_model(
                request.spec,
                request.preprocessing,
                request.labels,
                request.trust_model,
                lambda done, total: self.download_progress.emit(job_id, done, total),
                cancel,
            )
            try:  # read at every load: the backend may have been switched since
                self._versions = dict(self._engine.versions())
            except Exception:  # versions are for the About box and the status bar only
                log.exception("could not read the library versions")
            self._model = model
            log.info(
                "model %s loaded in %.1f s on %s",
                request.spec,
                time.perf_counter() - start,
                model.device,
            )
            state = LoadedModelState(model.info, model.device, dict(self._versions), request)
            self.model_loaded.emit(job_id, state)
        except CancelledError:
            self.cancelled.emit(job_id)
        except EngineError as exc:  # the user sees one line; the log keeps the traceback
            log.warning("model %s failed to load: %s", request.spec, exc, exc_info=True)
            self.model_failed.emit(job_id, str(exc))
        except Exception as exc:
            log.exception("model %s failed to load", request.spec)
            self.model_failed.emit(job_id, UNEXPECTED.format(exc))
        finally:
            self.finished.emit(job_id)

    @Slot(int, object, object)
    def explain(self, job_id: int, request: ExplainRequest, cancel: threading.Event) -> None:
        def on_result(res: MethodResult) -> None:
            self.result.emit(job_id, res.method, res)

        def on_predictions(top_k: list[Any], target: int) -> None:
            self.predicted.emit(job_id, top_k, int(target))

        try:
            if cancel.is_set():
                raise CancelledError("Cancelled.")
            if self._model is None:
                raise EngineError("No model is loaded: choose one in the Model menu.")
            start = time.perf_counter()
            image, note = self._face_crop(job_id, request)
            explanation = self._engine.explain(
                self._model,
                image,
                list(request.methods),
                request.target,
                request.layer,
                lambda f, msg: self.progress.emit(job_id, float(f), msg),
                cancel,
                on_result,
                dict(request.params),
                on_predictions=on_predictions,
            )
            log.info(
                "job %d: %s in %.2f s",
                job_id,
                ", ".join(request.methods),
                time.perf_counter() - start,
            )
            if note:
                explanation = replace(explanation, notes=(*explanation.notes, note))
            self.explained.emit(job_id, explanation)
        except CancelledError:
            log.info("job %d cancelled", job_id)
            self.cancelled.emit(job_id)
        except EngineError as exc:
            log.warning("explain job %d failed: %s", job_id, exc, exc_info=True)
            self.failed.emit(job_id, str(exc))
        except Exception as exc:
            log.exception("explain job %d failed", job_id)
            self.failed.emit(job_id, UNEXPECTED.format(exc))
        finally:
            self.finished.emit(job_id)

    @Slot(int, str, object, object)
    def run_task(self, job_id: int, name: str, args: tuple[Any, ...], cancel: Any) -> None:
        """Run `engine.<name>(model, *args, progress=..., cancel=...)` (data sets, exports)."""

        def progress(fraction: float, message: str = "") -> None:
            self.task_progress.emit(job_id, float(fraction), message)

        try:
            if cancel.is_set():
                raise CancelledError("Cancelled.")
            if self._model is None:
                raise EngineError("No model is loaded: choose one in the Model menu.")
            start = time.perf_counter()
            payload = getattr(self._engine, name)(
                self._model, *args, progress=progress, cancel=cancel
            )
            log.info("task %d (%s) in %.2f s", job_id, name, time.perf_counter() - start)
            self.task_result.emit(job_id, payload)
        except CancelledError:
            self.cancelled.emit(job_id)
        except EngineError as exc:
            log.warning("task %d (%s) failed: %s", job_id, name, exc, exc_info=True)
            self.failed.emit(job_id, str(exc))
        except Exception as exc:
            log.exception("task %d (%s) failed", job_id, name)
            self.failed.emit(job_id, UNEXPECTED.format(exc))
        finally:
            self.finished.emit(job_id)

    def _face_crop(self, job_id: int, request: ExplainRequest) -> tuple[Any, str]:
        """The image to explain: the face crop when asked for and a face is found."""
        if not request.face_crop:
            return request.image, ""
        from saliency_desktop.engine import crop_face as crop
        from saliency_desktop.engine import detect_face

        box = detect_face(request.image)
        self.face.emit(job_id, box)
        if box is None:
            return request.image, "face crop: no face found, the whole photo was explained"
        note = f"face crop: {box.w}\u00d7{box.h} px at ({box.x}, {box.y}) of the photo"
        return crop(request.image, box), note


class EngineClient(QObject):
    """GUI-side handle of the engine thread: queue, supersede, cancel, shut down."""

    progress = Signal(int, float, str)
    result = Signal(int, str, object)
    explained = Signal(int, object)
    predicted = Signal(int, object, int)
    failed = Signal(int, str)
    cancelled = Signal(int)
    finished = Signal(int)
    model_loaded = Signal(int, object)
    model_failed = Signal(int, str)
    download_progress = Signal(int, object, object)
    face = Signal(int, object)

    task_progress = Signal(str, float, str)  # task name, fraction, message
    task_result = Signal(str, object)  # task name, payload
    task_failed = Signal(str, str)  # task name, message
    task_finished = Signal(str)  # task name (done, failed or cancelled)

    _load_requested = Signal(int, object, object)
    _explain_requested = Signal(int, object, object)
    _task_requested = Signal(int, str, object, object)

    def __init__(self, engine: EngineLike, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._events: dict[int, threading.Event] = {}
        self.current_job: int | None = None
        self.current_model_job: int | None = None
        self.tasks: dict[int, str] = {}  # running task job ids -> their name (one per name)
        self.thread = EngineThread()
        self.thread.setObjectName("saliency-engine")
        self.worker = Worker(engine)
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        self._load_requested.connect(self.worker.load_model)
        self._explain_requested.connect(self.worker.explain)
        self._task_requested.connect(self.worker.run_task)
        w = self.worker
        w.progress.connect(self._on_progress)
        w.result.connect(self._on_result)
        w.explained.connect(self._on_explained)
        w.predicted.connect(self._on_predicted)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.finished.connect(self._on_finished)
        w.model_loaded.connect(self._on_model_loaded)
        w.model_failed.connect(self._on_model_failed)
        w.download_progress.connect(self._on_download)
        w.task_progress.connect(self._on_task_progress)
        w.task_result.connect(self._on_task_result)
        w.face.connect(self._on_face)
        self.thread.start()
        self._closed = False

    # ---- requests (GUI thread) ----
    def load_model(self, request: ModelRequest) -> int:
        """Queue a model load; it supersedes the running explain job and any earlier load."""
        self.cancel()
        if self.current_model_job is not None:
            self._cancel_job(self.current_model_job)
        job_id = self._new_job()
        self.current_model_job = job_id
        self._load_requested.emit(job_id, request, self._events[job_id])
        return job_id

    def explain(self, request: ExplainRequest) -> int:
        """Queue an explain job; the current one (if any) is cancelled and its results ignored."""
        self.cancel()
        job_id = self._new_job()
        self.current_job = job_id
        self._explain_requested.emit(job_id, request, self._events[job_id])
        return job_id

    def run_task(self, name: str, *args: Any) -> int:
        """Queue `engine.<name>(model, *args, progress, cancel)`; a running task of the same
        name is cancelled and its results ignored. Results come as `task_result(name, payload)`."""
        self.cancel_task(name)
        job_id = self._new_job()
        self.tasks[job_id] = name
        self._task_requested.emit(job_id, name, args, self._events[job_id])
        return job_id

    def cancel_task(self, name: str) -> None:
        for job_id, task in list(self.tasks.items()):
            if task == name:
                self._cancel_job(job_id)
                del self.tasks[job_id]
                self.task_finished.emit(name)

    def cancel(self) -> None:
        """Cancel the current explain job (checked by the engine between batches)."""
        if self.current_job is not None:
            self._cancel_job(self.current_job)
            self.current_job = None

    def cancel_model_load(self) -> None:
        if self.current_model_job is not None:
            self._cancel_job(self.current_model_job)

    def is_busy(self) -> bool:
        return self.current_job is not None

    def shutdown(self) -> None:
        """Cancel everything, stop the thread and wait for it (no running thread is left)."""
        if self._closed:
            return
        self._closed = True
        for event in self._events.values():
            event.set()
        self.current_job = self.current_model_job = None
        self.thread.quit()
        self.thread.wait()

    def _new_job(self) -> int:
        job_id = next(self._ids)
        self._events[job_id] = threading.Event()
        return job_id

    def _cancel_job(self, job_id: int) -> None:
        event = self._events.get(job_id)
        if event is not None:
            event.set()

    # ---- worker signals (GUI thread): forward the current job's only ----
    @Slot(int, float, str)
    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if job_id == self.current_job:
            self.progress.emit(job_id, fraction, message)

    @Slot(int, str, object)
    def _on_result(self, job_id: int, method_id: str, payload: object) -> None:
        if job_id == self.current_job:
            self.result.emit(job_id, method_id, payload)
        else:
            log.debug("ignored a result of superseded job %d (%s)", job_id, method_id)

    @Slot(int, object)
    def _on_face(self, job_id: int, box: object) -> None:
        if job_id == self.current_job:
            self.face.emit(job_id, box)

    @Slot(int, object)
    def _on_explained(self, job_id: int, explanation: object) -> None:
        if job_id == self.current_job:
            self.explained.emit(job_id, explanation)

    @Slot(int, object, int)
    def _on_predicted(self, job_id: int, top_k: object, target: int) -> None:
        if job_id == self.current_job:
            self.predicted.emit(job_id, top_k, target)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self.current_job:
            self.failed.emit(job_id, message)
        elif job_id in self.tasks:
            self.task_failed.emit(self.tasks[job_id], message)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        if job_id in (self.current_job, self.current_model_job):
            self.cancelled.emit(job_id)

    @Slot(int)
    def _on_finished(self, job_id: int) -> None:
        self._events.pop(job_id, None)
        if job_id in self.tasks:
            self.task_finished.emit(self.tasks.pop(job_id))
            return
        if job_id == self.current_job:
            self.current_job = None
            self.finished.emit(job_id)
        elif job_id == self.current_model_job:
            self.current_model_job = None
            self.finished.emit(job_id)

    @Slot(int, object)
    def _on_model_loaded(self, job_id: int, state: object) -> None:
        if job_id == self.current_model_job:
            self.model_loaded.emit(job_id, state)

    @Slot(int, str)
    def _on_model_failed(self, job_id: int, message: str) -> None:
        if job_id == self.current_model_job:
            self.model_failed.emit(job_id, message)

    @Slot(int, object, object)
    def _on_download(self, job_id: int, done: object, total: object) -> None:
        if job_id == self.current_model_job:
            self.download_progress.emit(job_id, done, total)

    @Slot(int, float, str)
    def _on_task_progress(self, job_id: int, fraction: float, message: str) -> None:
        if job_id in self.tasks:
            self.task_progress.emit(self.tasks[job_id], fraction, message)

    @Slot(int, object)
    def _on_task_result(self, job_id: int, payload: object) -> None:
        if job_id in self.tasks:
            self.task_result.emit(self.tasks[job_id], payload)
