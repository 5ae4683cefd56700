"""The Neurons panel's job kind: layer activations computed in the engine thread.

`NeuronsRunner` lives in the engine's QThread beside the explain `Worker` (so jobs still run one
at a time, and the activations the explain passes just captured are reused from the engine's
cache); `NeuronsJobs` is its GUI-side handle: it queues requests and forwards only the newest
job's result, so a stale layer never reaches the panel. Only signals cross threads.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from saliency_desktop.engine.types import CancelledError, EngineError
from saliency_desktop.ui.engine_api import EngineLike
from saliency_desktop.ui.worker import UNEXPECTED, EngineClient

log = logging.getLogger(__name__)


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


class NeuronsRunner(QObject):
    """Runs in the engine thread. Never touches a widget."""

    done = Signal(int, object)  # job id, NeuronsResult
    failed = Signal(int, str)

    def __init__(self, engine: EngineLike, client: EngineClient) -> None:
        super().__init__()
        self._engine = engine
        self._worker = client.worker

    @Slot(int, object, object)
    def run(self, job_id: int, request: NeuronsRequest, cancel: threading.Event) -> None:
        try:
            if cancel.is_set():
                raise CancelledError("Cancelled.")
            model = self._worker.model
            if model is None:
                raise EngineError("No model is loaded: choose one in the Model menu.")
            acts = self._engine.layer_activations(
                model, request.image, request.layer, request.top, request.rank, request.target
            )
            strip = (
                self._engine.layer_summaries(model, request.image) if request.summaries else None
            )
            self.done.emit(job_id, NeuronsResult(acts, strip))
        except CancelledError:
            pass
        except EngineError as exc:
            log.warning("neurons job %d failed: %s", job_id, exc, exc_info=True)
            self.failed.emit(job_id, str(exc))
        except Exception as exc:
            log.exception("neurons job %d failed", job_id)
            self.failed.emit(job_id, UNEXPECTED.format(exc))


class NeuronsJobs(QObject):
    """GUI-side handle: `request` supersedes the previous neurons job."""

    done = Signal(object)  # NeuronsResult of the newest job
    failed = Signal(str)
    _requested = Signal(int, object, object)

    def __init__(self, engine: EngineLike, client: EngineClient, parent: QObject | None = None):
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._current = 0
        self._cancel = threading.Event()
        self.runner = NeuronsRunner(engine, client)
        self.runner.moveToThread(client.thread)
        client.thread.finished.connect(self.runner.deleteLater)
        self._requested.connect(self.runner.run)
        self.runner.done.connect(self._on_done)
        self.runner.failed.connect(self._on_failed)

    def request(self, request: NeuronsRequest) -> int:
        self._cancel.set()
        self._cancel = threading.Event()
        self._current = next(self._ids)
        self._requested.emit(self._current, request, self._cancel)
        return self._current

    @Slot(int, object)
    def _on_done(self, job_id: int, result: object) -> None:
        if job_id == self._current:
            self.done.emit(result)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        if job_id == self._current:
            self.failed.emit(message)
