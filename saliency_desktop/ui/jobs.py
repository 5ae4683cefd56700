"""What runs in the engine thread, in plain Python (no Qt): jobs, their one event type, and the
job kinds of the app (load a model, explain an image, run an engine task).

A `Job` is a function of a `JobContext` (the engine, the loaded model, the cancel event and a
way to report) in a *lane*: the explain jobs, the model loads, and one lane per task (a data
set's predictions, an evaluation, the Neurons panel). A new job in a lane supersedes the one
before it. Everything a job says reaches the GUI thread as one `JobEvent(job, lane, kind,
payload)`; its return value is the payload of its DONE event. Adding a job kind is a function
here (or beside its panel) and one `EngineClient.submit` call: no new signal anywhere.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from saliency_desktop.engine.types import CancelledError, EngineError, MethodResult
from saliency_desktop.ui.engine_api import ExplainHooks, LoadedModelState

log = logging.getLogger(__name__)

EXPLAIN = "explain"
MODEL = "model"
WARM_UP = "warm-up"
NO_MODEL = "No model is loaded: choose one in the Model menu."
UNEXPECTED = "Unexpected error: {}. The details are in the log (Help > Show log)."


class Kind(Enum):
    """What a `JobEvent` says; its payload's type is given beside each."""

    PROGRESS = "progress"  # Progress
    RESULT = "result"  # MethodResult: one map of an explain job, as soon as it is made
    PREDICTED = "predicted"  # Predicted: the first pass's classes, before any map
    FACE = "face"  # the face crop's Box in the image, or None: no face found
    DOWNLOAD = "download"  # Download: the model's weights, bytes so far
    DONE = "done"  # what the job returned (Explanation, LoadedModelState, a task's payload)
    FAILED = "failed"  # str: one user-ready line (the traceback is in the log)
    CANCELLED = "cancelled"  # None
    FINISHED = "finished"  # None: every job ends with this, whatever happened


@dataclass(frozen=True)
class Progress:
    fraction: float
    message: str = ""


@dataclass(frozen=True)
class Download:
    done: int  # bytes so far
    total: int | None  # None: not known


@dataclass(frozen=True)
class Predicted:
    top_k: list[Any]  # Prediction, best first
    target: int  # the class the maps will explain


@dataclass(frozen=True)
class JobEvent:
    """The one event of the engine thread: job id, its lane, what happened and its payload."""

    job: int
    lane: str
    kind: Kind
    payload: Any = None


@dataclass
class JobContext:
    """What a job may use: the engine, the loaded model, its cancel event and `emit`."""

    engine: Any  # EngineLike
    model: Any
    cancel: threading.Event
    emit: Callable[[Kind, Any], None]
    keep_model: Callable[[Any], None] = lambda _model: None

    def progress(self, fraction: float, message: str = "") -> None:
        self.emit(Kind.PROGRESS, Progress(float(fraction), message))

    def need_model(self) -> Any:
        if self.model is None:
            raise EngineError(NO_MODEL)
        return self.model


@dataclass(frozen=True)
class Job:
    id: int
    lane: str
    run: Callable[[JobContext], Any]
    cancel: threading.Event = field(default_factory=threading.Event)
    label: str = ""  # for the log


def load_model_job(request: Any) -> Callable[[JobContext], Any]:
    """Load `request` (a ModelRequest); the payload is the GUI's `LoadedModelState`."""

    def run(ctx: JobContext) -> Any:
        def downloaded(done: int, total: int | None) -> None:
            ctx.emit(Kind.DOWNLOAD, Download(int(done), total))

        try:
            model = ctx.engine.load_model(request, downloaded, ctx.cancel)
        except CancelledError:
            raise
        except Exception:  # the worker logs the traceback; this names the file
            log.warning("model %s failed to load", request.spec)
            raise
        ctx.keep_model(model)
        return LoadedModelState(model.info, model.device, _versions(ctx.engine), request)

    return run


def warm_up_job(ctx: JobContext) -> Any:
    """Compile the default methods' passes of the model just loaded (queued behind its load),
    while the user picks an image; nothing to do when the load failed. An explain cancels it."""
    if ctx.model is None:
        return []
    return ctx.engine.warm_up(ctx.model, ctx.cancel)


def _versions(engine: Any) -> dict[str, str]:
    try:
        return dict(engine.versions())
    except Exception:  # versions are for the About box only
        log.exception("could not read the library versions")
        return {}


def explain_job(request: Any) -> Callable[[JobContext], Any]:
    """Explain `request` (an ExplainRequest): maps come as RESULT events, the merged
    Explanation is the payload."""

    def run(ctx: JobContext) -> Any:
        model = ctx.need_model()
        cropped, note = _face_crop(ctx, request)

        def on_result(res: MethodResult) -> None:
            ctx.emit(Kind.RESULT, res)

        def on_predictions(top_k: list[Any], target: int) -> None:
            ctx.emit(Kind.PREDICTED, Predicted(top_k, int(target)))

        hooks = ExplainHooks(ctx.progress, ctx.cancel, on_result, on_predictions)
        explanation = ctx.engine.explain(model, cropped, hooks)
        if note:
            explanation = replace(explanation, notes=(*explanation.notes, note))
        return explanation

    return run


def _face_crop(ctx: JobContext, request: Any) -> tuple[Any, str]:
    """The request to explain: on the face crop when asked for and a face is found."""
    if not request.face_crop:
        return request, ""
    from saliency_desktop.engine import crop_face, detect_face

    box = detect_face(request.image)
    ctx.emit(Kind.FACE, box)
    if box is None:
        return request, "face crop: no face found, the whole photo was explained"
    note = f"face crop: {box.w}\u00d7{box.h} px at ({box.x}, {box.y}) of the photo"
    return replace(request, image=crop_face(request.image, box)), note


def task_job(name: str, *args: Any, **kwargs: Any) -> Callable[[JobContext], Any]:
    """`engine.<name>(model, *args, **kwargs, progress=..., cancel=...)` (data sets, exports,
    evaluations): the payload is what it returns."""

    def run(ctx: JobContext) -> Any:
        call = getattr(ctx.engine, name)
        return call(ctx.need_model(), *args, **kwargs, progress=ctx.progress, cancel=ctx.cancel)

    return run


Handlers = dict[tuple[str, Kind], Callable[[Any], None]]


def route(handlers: Handlers) -> Callable[[JobEvent], None]:
    """A slot for `EngineClient.event` that calls `handlers[(lane, kind)](payload)`; events
    of other lanes and kinds are not its business."""

    def on_event(event: JobEvent) -> None:
        handler = handlers.get((event.lane, event.kind))
        if handler is not None:
            handler(event.payload)

    return on_event
