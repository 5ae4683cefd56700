"""The app's state and its jobs, without widgets: images, model, methods, target and results.

Results are cached per method with the inputs they depend on (image, model, target, the CAM
layer, the method's own parameters), so ticking one more method or changing IG's steps computes
only what is missing, and going back to a class, a parameter value or an image shows the maps
again at once (`ResultCache`, Qt-free, keeps the most recent results by a typed key). Jobs
run in the engine thread (`EngineClient`); their events come back as one `JobEvent` signal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from saliency_desktop.engine.types import Explanation, MethodInfo, MethodResult
from saliency_desktop.ui.backend_choice import label as backend_label
from saliency_desktop.ui.backend_choice import running as running_backend
from saliency_desktop.ui.engine_api import (
    EngineLike,
    ExplainRequest,
    LoadedModelState,
    ModelRequest,
)
from saliency_desktop.ui.images import ImageEntry, ImageLoader
from saliency_desktop.ui.jobs import EXPLAIN, MODEL, Handlers, Kind, route
from saliency_desktop.ui.param_editors import folder_problem
from saliency_desktop.ui.result_cache import ExplanationKey, ResultCache, ResultKey
from saliency_desktop.ui.session_images import SessionImages
from saliency_desktop.ui.worker import EngineClient

log = logging.getLogger(__name__)
HEAVY_JOB_S = 10.0  # a restored job estimated over this asks before it starts at launch
AUTO_STEPS_GUESS = 128  # IG's "auto" steps before any run on this model has measured them


@dataclass(frozen=True)
class Shown:
    """What the view shows of the current image (`results_changed`'s payload)."""

    results: dict[str, MethodResult]  # the chosen methods' maps, in the chosen order
    pending: list[str]  # chosen methods without a map while a job runs or after a cancel
    busy: bool  # a job is computing the pending maps (else: they were cancelled)
    skipped: dict[str, str]  # chosen methods that are not run, with the reason
    face_box: Any  # the face Box the maps were computed on, or None


class Session(SessionImages, QObject):
    status = Signal(str)
    busy = Signal(bool)
    progress = Signal(float, str)
    image_added = Signal(object)  # ImageEntry
    thumbnail_ready = Signal(str, object)  # key, QImage
    image_shown = Signal(object)  # ImageEntry with rgb, now the current image
    image_error = Signal(str, str)  # key, message
    model_loading = Signal(str)
    model_ready = Signal(object)  # LoadedModelState
    model_error = Signal(str)
    model_cancelled = Signal()
    download = Signal(object, object)  # bytes so far, total or None
    results_changed = Signal(object)  # Shown
    explanation_ready = Signal(object)  # Explanation (the merged one)
    predictions_ready = Signal(object, int)  # top-k, target: shown before the maps arrive
    job_failed = Signal(str)
    job_done = Signal()  # every wanted result of the current image is in

    def __init__(self, engine: EngineLike, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.infos: dict[str, MethodInfo] = {m.id: m for m in engine.list_methods()}
        self.client = EngineClient(engine, self)
        self.loader = ImageLoader(self)
        self.entries: dict[str, ImageEntry] = {}
        self.current_key: str | None = None
        self.model: LoadedModelState | None = None
        self.backend = running_backend()  # the Keras backend the engine runs (or will run) on
        self.loading_label = ""  # the model being loaded, as the menus name it
        self.methods: tuple[str, ...] = ()
        self.params: dict[str, dict[str, Any]] = {}  # method id -> its parameters
        self.layer: str | None = None
        self.target: int | None = None
        self.contrast: int | None = None  # explain S_target - S_contrast ("A vs B") when set
        self._model_token = 0
        self._job_started = time.perf_counter()
        self._job_maps = 0  # maps the running (or last) job delivered
        self.was_cancelled = False  # the last job was cancelled: its tiles say so
        # (model spec, method) -> seconds per integration step, measured on the last run
        self.rates: dict[tuple[str, str], float] = {}
        self.auto_steps: dict[tuple[str, str], int] = {}  # steps an "auto" run used last
        # asked once, before the first job (restored settings): run a job of this many seconds?
        self.confirm_heavy: Callable[[float], bool] | None = None
        self.face_crop = False  # explain the face found in each photo (face models)
        self._boxes: dict[str, Any] = {}  # image key -> the face Box found in it (or None)
        self._pasted = 0
        self._decoding: set[str] = set()  # image keys with a decode under way
        self.cache = ResultCache()
        self._job_keys: dict[str, ResultKey] = {}  # the running job's methods -> their keys
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.explain_now)
        handlers: Handlers = {
            (EXPLAIN, Kind.PROGRESS): lambda p: self.progress.emit(p.fraction, p.message),
            (EXPLAIN, Kind.RESULT): self._on_result,
            (EXPLAIN, Kind.PREDICTED): lambda p: self.predictions_ready.emit(p.top_k, p.target),
            (EXPLAIN, Kind.FACE): self._on_face,
            (EXPLAIN, Kind.DONE): self._on_explained,
            (EXPLAIN, Kind.FAILED): self._on_failed,
            (EXPLAIN, Kind.FINISHED): self._on_finished,
            (MODEL, Kind.DOWNLOAD): lambda d: self.download.emit(d.done, d.total),
            (MODEL, Kind.DONE): self.adopt_model,
            (MODEL, Kind.FAILED): self._on_model_failed,
            (MODEL, Kind.CANCELLED): self._on_model_cancelled,
            (MODEL, Kind.FINISHED): self._on_finished,
        }
        self.client.event.connect(route(handlers))
        self.loader.loaded.connect(self._on_image_loaded)
        self.loader.failed.connect(self._on_image_failed)

    # ---- model ----
    def load_model(self, request: ModelRequest, label: str = "") -> None:
        label = label or request.spec
        self.loading_label = label
        text = "Loading {} and the model..." if self.model is None else "Loading the model on {}..."
        self.status.emit(text.format(backend_label(self.backend)))  # its name is on the right
        self.model_loading.emit(label)
        self.busy.emit(False)
        self.client.load_model(request)

    def adopt_model(self, state: LoadedModelState, new: bool = True, same: bool = False) -> None:
        """`state` is the model now: its maps are made again when it is `new` (a load, a
        switch's reload); the chosen class stays when it is the `same` model."""
        self.model = state
        self.backend = state.versions.get("backend", self.backend)
        self._model_token += new
        self.target = self.target if same else None
        self.status.emit("Model loaded.")  # its name and device are on the right, once
        self.model_ready.emit(state)
        self.explain_now()

    def drop_model(self, message: str) -> None:
        """No model any more (it did not come back after a backend switch): nothing runs."""
        self.model, self._model_token = None, self._model_token + 1
        self.status.emit("No model loaded.")
        self.model_error.emit(message)
        self.results_changed.emit(self.shown())

    def _on_model_failed(self, message: str) -> None:
        self.status.emit("The model could not be loaded." if self.model else "No model loaded.")
        self.model_error.emit(message)
        if self.model is not None:
            self.explain_now()

    def model_text(self) -> str:
        if self.model is None:
            return "No model loaded."
        backend = self.model.versions.get("backend")
        text = f"{self.model.info.label}  \u00b7  {self.model.device}"
        return f"{text}  \u00b7  {backend_label(backend)}" if backend else text

    # ---- methods, target, jobs ----
    def set_methods(
        self,
        methods: list[str],
        params: dict[str, dict[str, Any]],
        layer: str | None,
        debounce: bool = True,
    ) -> None:
        """Choose the methods, each one's parameters (by method id) and the CAM layer."""
        self.methods = tuple(m for m in methods if m in self.infos)
        self.params = {m: dict(v) for m, v in params.items()}
        self.layer = layer
        self.results_changed.emit(self.shown())
        if debounce:
            self._debounce.start()
        else:
            self.explain_now()

    def set_target(self, target: int | None) -> None:
        self.target = target
        if target is not None and target == self.contrast:
            self.contrast = None
        self.results_changed.emit(self.shown())
        self.explain_now()

    def set_contrast(self, contrast: int | None) -> None:
        """Explain the target against class `contrast` (None: the target alone)."""
        self.explain_class(self.target, contrast)

    def explain_class(self, target: int | None, contrast: int | None = None) -> None:
        """Explain the current image for class `target` (None: the top prediction) against class
        `contrast` (S_target - S_contrast; None: the target alone), in one job. The entry point
        for a caller that knows both (the data-set view's explain_requested)."""
        self.target = target
        self.contrast = None if contrast is not None and contrast == target else contrast
        self.results_changed.emit(self.shown())
        self.explain_now()

    def wanted(self) -> list[str]:
        unavailable = self.model.info.unavailable if self.model else {}
        return [m for m in self.methods if m not in unavailable]

    def _subject(self) -> ExplanationKey:
        """The current image, model, class (None: the top one, until a job says which) and
        contrast class."""
        return self.cache.subject(self.current_key, self._model_token, self.target, self.contrast)

    def _key(self, mid: str) -> ResultKey:
        info = self.infos[mid]
        mine = self.params.get(mid, {})
        own = tuple(sorted((p.name, mine.get(p.name, p.default)) for p in info.params))
        layer = self.layer if info.needs_layer else None
        return ResultKey(mid, self._subject(), layer, own, self.face_crop)

    def results(self) -> dict[str, MethodResult]:
        """The current image's results for the chosen methods, in the chosen order."""
        found = {m: self.cache.results.get(self._key(m)) for m in self.wanted()}
        return {m: r for m, r in found.items() if r is not None}

    def shown(self) -> Shown:
        """What the view shows now: `results_changed` carries it."""
        busy = self.client.is_busy()
        pending = self.missing() if busy or self.was_cancelled else []
        return Shown(self.results(), pending, busy, self.skipped(), self.face_box())

    def missing(self) -> list[str]:
        """Chosen methods without a result (those the engine skipped, with a reason, are not
        missing: running them again would skip them again)."""
        have = self.results()
        skipped = self.skipped()
        return [m for m in self.wanted() if m not in have and m not in skipped]

    @Slot()
    def explain_now(self) -> None:
        self._debounce.stop()
        entry = self.current_entry()
        if self.model is None or entry is None or entry.rgb is None:
            return
        missing = self.missing()
        if not missing:
            if self.client.is_busy():
                self.client.cancel()
                self.busy.emit(False)
            self.was_cancelled = False
            self.results_changed.emit(self.shown())
            self.status.emit(self.ready_text())
            if self._subject() in self.cache.explanations:
                self.explanation_ready.emit(self.explanation())
            self.job_done.emit()
            return
        if self.client.is_busy() and self._job_keys == {m: self._key(m) for m in missing}:
            return  # the running job computes exactly this
        if self.confirm_heavy is not None:
            ask, self.confirm_heavy = self.confirm_heavy, None  # only the first job
            seconds = self.estimate(missing)
            if seconds is not None and seconds > HEAVY_JOB_S and not ask(seconds):
                self.status.emit(
                    f"Not started: about {seconds:.0f} s with these settings. Press F5 to run."
                )
                return
        self._job_keys = {m: self._key(m) for m in missing}
        params = {m: dict(self.params[m]) for m in missing if self.params.get(m)}
        target = self._subject().target
        request = ExplainRequest(
            entry.rgb, tuple(missing), target, self.layer, params, self.contrast, self.face_crop
        )
        self.client.explain(request)
        self.was_cancelled = False
        self._job_started = time.perf_counter()
        self._job_maps = 0
        self.busy.emit(True)
        self.progress.emit(0.0, "starting")

    def set_face_crop(self, on: bool) -> None:
        self.face_crop = bool(on)
        self.results_changed.emit(self.shown())
        self.explain_now()

    def face_box(self) -> Any:
        """The face Box of the current image when face crop is on and a face was found."""
        return self._boxes.get(self.current_key or "") if self.face_crop else None

    def _on_face(self, box: Any) -> None:
        self._boxes[self.current_key or ""] = box
        if box is None:
            self.status.emit("No face found: the whole photo is explained.")
        self.results_changed.emit(self.shown())

    def cancel(self) -> None:
        if self.client.is_busy():
            self.client.cancel()
            self.was_cancelled = True
            self.busy.emit(False)
            self.status.emit("Cancelled: press F5 to run the missing maps again.")

    def _on_result(self, result: MethodResult) -> None:
        mid = result.method
        key = self._job_keys.get(mid)
        if key is None:
            return
        self.cache.results.put(key, result)
        self._job_maps += 1
        steps = result.extras.get("steps", result.params.get("n_steps"))  # steps used ("auto")
        if self.model is not None and isinstance(steps, int) and steps > 0 and result.seconds > 0:
            self.rates[(self.model.request.spec, mid)] = result.seconds / steps
            self.auto_steps[(self.model.request.spec, mid)] = steps
        self.results_changed.emit(self.shown())

    def _on_explained(self, explanation: Explanation) -> None:
        image, model = self.current_key, self._model_token
        if self.target is None:  # "the top class" was this one: choosing it is a cache hit
            self.cache.resolve_top(image, model, explanation.target)
        key = ExplanationKey(image, model, explanation.target, explanation.contrast)
        self.cache.explanations.put(key, explanation)
        self.results_changed.emit(self.shown())
        self.explanation_ready.emit(self.explanation())

    def explanation(self) -> Explanation | None:
        """The current Explanation with every result in (several jobs merged), or None."""
        base = self.cache.explanations.get(self._subject())
        if base is None:
            return None
        results = self.results()
        layers = [r.params["layer"] for r in results.values() if "layer" in r.params]
        entry = self.current_entry()
        # the engine gets pixels, not the file: the loader's notes (e.g. "first frame of an
        # animated GIF") are added here, so the details panel and the exports carry them
        notes = tuple(dict.fromkeys(base.notes + (entry.notes if entry else ())))
        return replace(
            base, methods=results, layer=layers[0] if layers else base.layer, notes=notes
        )

    def _on_failed(self, message: str) -> None:
        self.job_failed.emit(message)
        self.status.emit("The explanation failed.")

    def _on_model_cancelled(self, _payload: None) -> None:
        self.status.emit("Model loading cancelled.")
        self.model_cancelled.emit()

    def _on_finished(self, _payload: None) -> None:
        self.busy.emit(self.client.is_busy())
        if not self.client.is_busy() and self.model is not None and not self.missing():
            seconds = time.perf_counter() - self._job_started
            self.status.emit(self.ready_text(seconds if self._job_maps else None))
            self.job_done.emit()

    def ready_text(self, seconds: float | None = None) -> str:
        """ "Ready: N maps" for the maps shown; the job's time only for a job that made maps."""
        n = len(self.results())
        text = f"Ready: {n} map{'s' * (n != 1)}"
        return text + (f" ({seconds:.1f} s for the last job)." if seconds is not None else ".")

    def estimate(self, methods: list[str], name: str = "n_steps") -> float | None:
        """Seconds the methods with a `name` parameter will take with the current settings,
        from their last measured time per step on this model (None when never measured)."""
        if self.model is None:
            return None
        total, known = 0.0, False
        for mid in methods:
            rate = self.rates.get((self.model.request.spec, mid))
            info = self.infos.get(mid)
            if rate is None or info is None or not any(p.name == name for p in info.params):
                continue
            default = next(p.default for p in info.params if p.name == name)
            value = self.params.get(mid, {}).get(name, default)
            if value == "auto":  # as many steps as the last run needed (or a typical count)
                value = self.auto_steps.get((self.model.request.spec, mid), AUTO_STEPS_GUESS)
            total += rate * float(value)
            known = True
        return total if known else None

    def skipped(self) -> dict[str, str]:
        """Chosen methods the engine did not run, with its reason (`Explanation.skipped`)."""
        e = self.explanation()
        skipped = dict(getattr(e, "skipped", None) or {})
        skipped.update(self.param_problems())
        return {m: str(r) for m, r in skipped.items() if m in self.methods}

    def param_problems(self) -> dict[str, str]:
        """Chosen methods whose settings cannot work (a reference folder without a readable
        image): they are not run, and their tile says why."""
        out = {}
        for mid in self.methods:
            for p in self.infos[mid].params:
                value = self.params.get(mid, {}).get(p.name, p.default)
                problem = folder_problem(str(value or "")) if p.kind == "folder" else ""
                if problem:
                    out[mid] = f"{p.label}: {problem}"
        return out

    def shutdown(self) -> None:
        self._debounce.stop()
        self.client.shutdown()
        self.loader.wait(5000)
