"""The app's state and its jobs, without widgets: images, model, methods, target and results.

Results are cached per method with the inputs they depend on (image, model, target, the CAM
layer, the method's own parameters), so ticking one more method or changing IG's steps computes
only what is missing, and going back to a class, a parameter value or an image shows the maps
again at once (the most recent MAX_RESULTS results are kept).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from saliency_desktop.engine.types import Explanation, MethodInfo, MethodResult
from saliency_desktop.ui.engine_api import (
    EngineLike,
    ExplainRequest,
    LoadedModelState,
    ModelRequest,
)
from saliency_desktop.ui.images import ImageEntry, ImageLoader, expand_paths, thumbnail
from saliency_desktop.ui.worker import EngineClient

log = logging.getLogger(__name__)
_TOP = "top-1"
MAX_RESULTS = 48  # results kept for going back to a class, a parameter value or an image
MAX_EXPLANATIONS = 16


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > limit:
        cache.popitem(last=False)


class Session(QObject):
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
    results_changed = Signal()
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
        self.methods: tuple[str, ...] = ()
        self.params: dict[str, Any] = {}
        self.layer: str | None = None
        self.target: int | None = None
        self.contrast: int | None = None  # explain S_target - S_contrast ("A vs B") when set
        self._model_token = 0
        self._job_started = time.perf_counter()
        self._pasted = 0
        self._decoding: set[str] = set()  # image keys with a decode under way
        # (method, image, model, target, layer, params) -> result; most recent last
        self._results: OrderedDict[tuple[Any, ...], MethodResult] = OrderedDict()
        self._job_keys: dict[str, tuple[Any, ...]] = {}
        self._top1: dict[tuple[str, int], int] = {}
        self._explanations: OrderedDict[tuple[Any, ...], Explanation] = OrderedDict()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.explain_now)
        c = self.client
        c.progress.connect(lambda _j, f, m: self.progress.emit(f, m))
        c.result.connect(self._on_result)
        c.explained.connect(self._on_explained)
        c.predicted.connect(lambda _j, top_k, target: self.predictions_ready.emit(top_k, target))
        c.failed.connect(self._on_failed)
        c.finished.connect(self._on_finished)
        c.cancelled.connect(self._on_cancelled)
        c.model_loaded.connect(self._on_model_loaded)
        c.model_failed.connect(self._on_model_failed)
        c.download_progress.connect(lambda _j, d, t: self.download.emit(d, t))
        self.loader.loaded.connect(self._on_image_loaded)
        self.loader.failed.connect(self._on_image_failed)

    # ---- model ----
    def load_model(self, request: ModelRequest, label: str = "") -> None:
        label = label or request.spec
        first = self.model is None
        text = f"Loading TensorFlow and {label}..." if first else f"Loading {label}..."
        self.status.emit(text)
        self.model_loading.emit(label)
        self.busy.emit(False)
        self.client.load_model(request)

    @Slot(int, object)
    def _on_model_loaded(self, _job: int, state: LoadedModelState) -> None:
        self.model = state
        self._model_token += 1
        self.target = None
        self.status.emit(self.model_text())
        self.model_ready.emit(state)
        self.explain_now()

    @Slot(int, str)
    def _on_model_failed(self, _job: int, message: str) -> None:
        self.status.emit(self.model_text() if self.model else "No model loaded.")
        self.model_error.emit(message)
        if self.model is not None:
            self.explain_now()

    def model_text(self) -> str:
        if self.model is None:
            return "No model loaded."
        return f"{self.model.info.label}  \u00b7  {self.model.device}"

    # ---- images ----
    def add_paths(self, paths: list[str], select: bool = True) -> list[ImageEntry]:
        added = []
        for given in paths:
            found = expand_paths([given])
            if not found:  # a folder (even one named like an image) without image files
                name = given.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
                self.status.emit(f"{name}: a folder with no image files in it.")
            for path in found:
                entry = ImageEntry(name=path.replace("\\", "/").rsplit("/", 1)[-1], path=path)
                self.entries[entry.key] = entry
                added.append(entry)
                self.image_added.emit(entry)
                self._decode(entry)
        if added and select:
            self.select(added[0].key)
        return added

    def add_array(self, rgb: np.ndarray, name: str = "") -> ImageEntry:
        self._pasted += 1
        entry = ImageEntry(name=name or f"Pasted image {self._pasted}", rgb=rgb)
        self.entries[entry.key] = entry
        self.image_added.emit(entry)
        self.thumbnail_ready.emit(entry.key, thumbnail(rgb))
        self.select(entry.key)
        return entry

    def select(self, key: str) -> None:
        entry = self.entries.get(key)
        if entry is None or key == self.current_key:
            return
        previous = self.entries.get(self.current_key or "")
        if previous is not None and previous.path is not None:
            previous.rgb = None  # decoded again when chosen: a big folder must not fill memory
        self.current_key = key
        self.target = None
        if entry.rgb is not None:
            self._show(entry)
        elif entry.error:
            self.image_error.emit(key, entry.error)
        elif entry.path is not None:
            self.status.emit(f"Opening {entry.name}...")
            self._decode(entry)

    def _decode(self, entry: ImageEntry) -> None:
        if entry.key not in self._decoding and entry.path is not None:
            self._decoding.add(entry.key)
            self.loader.load(entry.key, entry.path)

    def current_entry(self) -> ImageEntry | None:
        return self.entries.get(self.current_key or "")

    def _show(self, entry: ImageEntry) -> None:
        self.image_shown.emit(entry)
        self.results_changed.emit()
        for note in entry.notes:
            self.status.emit(note)
        self.explain_now()

    @Slot(str, object, object, object)
    def _on_image_loaded(
        self, key: str, rgb: np.ndarray, notes: tuple[str, ...], thumb: Any
    ) -> None:
        self._decoding.discard(key)
        entry = self.entries.get(key)
        if entry is None:
            return
        entry.error = None
        entry.notes = tuple(notes)
        self.thumbnail_ready.emit(key, thumb)
        if key == self.current_key:
            if entry.rgb is None:
                entry.rgb = rgb
                self._show(entry)

    @Slot(str, str)
    def _on_image_failed(self, key: str, message: str) -> None:
        self._decoding.discard(key)
        entry = self.entries.get(key)
        if entry is None:
            return
        entry.error = message
        log.warning("image failed: %s", message)
        self.image_error.emit(key, message)

    # ---- methods, target, jobs ----
    def set_methods(
        self, methods: list[str], params: dict[str, Any], layer: str | None, debounce: bool = True
    ) -> None:
        self.methods = tuple(m for m in methods if m in self.infos)
        self.params = dict(params)
        self.layer = layer
        self.results_changed.emit()
        if debounce:
            self._debounce.start()
        else:
            self.explain_now()

    def set_target(self, target: int | None) -> None:
        self.target = target
        if target is not None and target == self.contrast:
            self.contrast = None
        self.results_changed.emit()
        self.explain_now()

    def set_contrast(self, contrast: int | None) -> None:
        """Explain the target against class `contrast` (None: the target alone)."""
        self.contrast = contrast
        self.results_changed.emit()
        self.explain_now()

    def wanted(self) -> list[str]:
        unavailable = self.model.info.unavailable if self.model else {}
        return [m for m in self.methods if m not in unavailable]

    def _resolved_target(self) -> Any:
        if self.target is not None:
            return self.target
        return self._top1.get((self.current_key or "", self._model_token), _TOP)

    def _key(self, mid: str) -> tuple[Any, ...]:
        info = self.infos[mid]
        own = tuple(sorted((p.name, self.params.get(p.name, p.default)) for p in info.params))
        layer = self.layer if info.needs_layer else None
        return (
            self.current_key,
            self._model_token,
            self._resolved_target(),
            layer,
            own,
            self.contrast,
        )

    def results(self) -> dict[str, MethodResult]:
        """The current image's results for the chosen methods, in the chosen order."""
        out = {}
        for m in self.wanted():
            key = (m, *self._key(m))
            if key in self._results:
                self._results.move_to_end(key)
                out[m] = self._results[key]
        return out

    def missing(self) -> list[str]:
        have = self.results()
        return [m for m in self.wanted() if m not in have]

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
            self.results_changed.emit()
            if self._explanation_matches():
                self.explanation_ready.emit(self.explanation())
            self.job_done.emit()
            return
        if self.client.is_busy() and self._job_keys == {m: self._key(m) for m in missing}:
            return  # the running job computes exactly this
        self._job_keys = {m: self._key(m) for m in missing}
        target = None if self.target is None else int(self.target)
        if target is None and self._resolved_target() != _TOP:
            target = int(self._resolved_target())
        params = dict(self.params)
        if self.contrast is not None:
            params["contrast"] = self.contrast
        request = ExplainRequest(entry.rgb, tuple(missing), target, self.layer, params, entry.key)
        self.client.explain(request)
        self._job_started = time.perf_counter()
        self.busy.emit(True)
        self.progress.emit(0.0, "starting")

    def cancel(self) -> None:
        if self.client.is_busy():
            self.client.cancel()
            self.busy.emit(False)
            self.status.emit("Cancelled.")

    @Slot(int, str, object)
    def _on_result(self, _job: int, mid: str, result: MethodResult) -> None:
        key = self._job_keys.get(mid)
        if key is None:
            return
        _remember(self._results, (mid, *key), result, MAX_RESULTS)
        self.results_changed.emit()

    @Slot(int, object)
    def _on_explained(self, _job: int, explanation: Explanation) -> None:
        top = (self.current_key or "", self._model_token)
        if self.target is None and top not in self._top1:
            self._top1[top] = explanation.target
            for key in [k for k in self._results if k[1:4] == (*top, _TOP)]:
                # "top-1" becomes the class it was, so choosing that class is a cache hit
                result = self._results.pop(key)
                _remember(
                    self._results, (*key[:3], explanation.target, *key[4:]), result, MAX_RESULTS
                )
        key = (*top, explanation.target, explanation.contrast)
        _remember(self._explanations, key, explanation, MAX_EXPLANATIONS)
        self.results_changed.emit()
        self.explanation_ready.emit(self.explanation())

    def _explanation_matches(self) -> bool:
        key = (self.current_key, self._model_token, self._resolved_target(), self.contrast)
        return key in self._explanations

    def explanation(self) -> Explanation | None:
        """The current Explanation with every result in (several jobs merged), or None."""
        key = (self.current_key, self._model_token, self._resolved_target(), self.contrast)
        base = self._explanations.get(key)
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

    @Slot(int, str)
    def _on_failed(self, _job: int, message: str) -> None:
        self.job_failed.emit(message)
        self.status.emit("The explanation failed.")

    @Slot(int)
    def _on_cancelled(self, _job: int) -> None:
        if self.client.current_model_job is not None:
            self.status.emit("Model loading cancelled.")
            self.model_cancelled.emit()

    @Slot(int)
    def _on_finished(self, _job: int) -> None:
        self.busy.emit(self.client.is_busy())
        if not self.client.is_busy() and self.model is not None and not self.missing():
            n = len(self.results())
            seconds = time.perf_counter() - self._job_started
            self.status.emit(f"Ready: {n} map{'s' * (n != 1)} ({seconds:.1f} s for the last job).")
            self.job_done.emit()

    def shutdown(self) -> None:
        self._debounce.stop()
        self.client.shutdown()
        self.loader.wait(5000)
