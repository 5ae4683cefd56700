"""What the UI needs from the engine, behind one injectable object.

The engine thread's jobs (`ui/jobs.py`) call `load_model`, `explain` and the tasks; the GUI
thread only calls `list_methods` and `catalogue`, which never import TensorFlow. Tests pass a
fake with the same interface.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from saliency_desktop.engine import CatalogueEntry
from saliency_desktop.engine.types import EngineError, Explanation, MethodInfo, MethodResult

DownloadCallback = Callable[[int, "int | None"], None]
ProgressCallback = Callable[[float, str], None]
Cancel = threading.Event | None
ALIBI_MISSING = "alibi is not installed (pip install 'saliency-desktop[alibi]')"


class EngineLike(Protocol):
    """The interface of `EngineAdapter` (and of the tests' fake engine).

    Besides these, every *task* the app runs with `EngineClient.run_task(name, *args)` is a
    method `name(model, *args, progress=..., cancel=...)` of the engine object (the adapter's
    `predict_dataset`, `export_mistakes` and `evaluate`)."""

    def list_methods(self) -> list[MethodInfo]: ...

    def catalogue(self) -> dict[str, CatalogueEntry]: ...

    def default_model(self) -> str: ...

    def load_model(
        self, request: ModelRequest, download: DownloadCallback | None, cancel: Cancel
    ) -> Any: ...

    def explain(self, model: Any, request: ExplainRequest, hooks: ExplainHooks) -> Explanation: ...

    def warm_up(self, model: Any, cancel: Cancel) -> list[str]: ...

    def versions(self) -> dict[str, str]: ...

    def switch_backend(self, backend: str) -> str: ...

    def layer_activations(
        self, model: Any, image: np.ndarray, layer: str, top: int, rank: str, target: int | None
    ) -> Any: ...

    def layer_summaries(self, model: Any, image: np.ndarray) -> list[Any]: ...


class EngineAdapter:
    """The real engine: a thin adapter over `saliency_desktop.engine` (TensorFlow loads lazily)."""

    def list_methods(self) -> list[MethodInfo]:
        from saliency_desktop.engine import list_methods

        return list_methods()

    def catalogue(self) -> dict[str, CatalogueEntry]:
        from saliency_desktop.engine import CATALOGUE

        return dict(CATALOGUE)

    def default_model(self) -> str:
        from saliency_desktop.engine import DEFAULT_MODEL

        return DEFAULT_MODEL

    def load_model(
        self, request: ModelRequest, download: DownloadCallback | None, cancel: Cancel
    ) -> Any:
        from saliency_desktop.engine import load_model

        return load_model(
            request.spec,
            preprocessing=request.preprocessing,
            labels=request.labels,
            trust_model=request.trust_model,
            download_progress=download,
            cancel=cancel,
        )

    def warm_up(self, model: Any, cancel: Cancel) -> list[str]:
        from saliency_desktop.engine import warm_up

        return warm_up(model, cancel=cancel)

    def explain(self, model: Any, request: ExplainRequest, hooks: ExplainHooks) -> Explanation:
        from saliency_desktop.engine import explain

        return explain(
            model,
            request.image,
            contrast=request.contrast,
            methods=list(request.methods),
            target=request.target,
            layer=request.layer,
            progress=hooks.progress,
            cancel=hooks.cancel,
            on_result=hooks.on_result,
            top_k=max(5, len(model.info.labels)),
            on_predictions=hooks.on_predictions,
            params=dict(request.params),  # by method id: RISE's seed is not IG's
        )

    def versions(self) -> dict[str, str]:
        from saliency_desktop.engine import versions

        return versions()

    def switch_backend(self, backend: str) -> str:
        """Run Keras on `backend` from now on (engine thread; the model must be reloaded)."""
        from saliency_desktop.engine import switch_backend

        return switch_backend(backend)

    def predict_dataset(
        self, model: Any, source: str, progress: Callable[..., None], cancel: threading.Event
    ) -> Any:
        """A labelled folder or CSV predicted in batches: a `DatasetPrediction`."""
        from saliency_desktop.engine import predict_source

        def counted(done: int, total: int) -> None:
            progress(done / max(total, 1), f"{done} / {total} images")

        return predict_source(model, source, counted, cancel)

    def export_mistakes(
        self,
        model: Any,
        rows: Any,
        k: int,
        methods: list[str],
        path_base: str,
        formats: list[str],
        progress: Callable[..., None],
        cancel: threading.Event,
    ) -> list[str]:
        """The k most confident mistakes explained and drawn as the `--grid` figure."""
        from saliency_desktop.engine import explain_mistakes
        from saliency_desktop.render.figures import grid_row, render_grid

        chosen = explain_mistakes(model, rows, k, methods, cancel)
        if not chosen:
            raise EngineError("There is no mistake to explain.")
        rows_ = [grid_row(e) for _, e in chosen]
        names = [n for n, _ in chosen]
        return [str(p) for p in render_grid(rows_, path_base, names, formats, force=True)]

    def evaluate(
        self,
        model: Any,
        explanation: Explanation,
        metrics: list[str],
        progress: Callable[[float, str], None] | None,
        cancel: threading.Event | None,
        randomization_steps: int = 6,
    ) -> Any:
        """Faithfulness metrics of the explanation's maps (an `Evaluation`)."""
        from saliency_desktop.engine import evaluate

        return evaluate(
            model,
            None,
            explanation,
            metrics=metrics,
            randomization_steps=randomization_steps,
            progress=progress,
            cancel=cancel,
        )

    def unavailable_choices(self) -> dict[str, dict[str, str]]:
        """Parameter choices that cannot run here: param -> choice -> reason.

        alibi is looked up with `importlib.util.find_spec`, never imported (it pins old numpy
        and pulls in TensorFlow)."""
        import importlib.util

        if importlib.util.find_spec("alibi") is None:
            return {"backend": {"alibi": ALIBI_MISSING}}
        return {}

    def layer_activations(
        self, model: Any, image: np.ndarray, layer: str, top: int, rank: str, target: int | None
    ) -> Any:
        """The Neurons panel's channels (`engine.neurons.LayerActivations`)."""
        from saliency_desktop.engine import layer_activations

        return layer_activations(model, image, layer, top=top, rank=rank, target=target)

    def layer_summaries(self, model: Any, image: np.ndarray) -> list[Any]:
        from saliency_desktop.engine import layer_summaries

        return layer_summaries(model, image)


@dataclass(frozen=True)
class ModelRequest:
    """A model to load: a catalogue id or a file, with what a user file needs."""

    spec: str
    preprocessing: str | None = None
    labels: str | None = None
    trust_model: bool = False


@dataclass(frozen=True)
class ExplainRequest:
    """One explain job: an image (RGB uint8), methods, target, CAM layer and method params."""

    image: np.ndarray
    methods: tuple[str, ...]
    target: int | None = None
    layer: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # method id -> its parameters
    contrast: int | None = None  # explain S_target - S_contrast ("A vs B") when set
    face_crop: bool = False  # explain the face found in the image (face models), not all of it


@dataclass(frozen=True)
class ExplainHooks:
    """How an explain job reports and stops: progress (fraction, message), the cancel event
    checked between batches, each map as it is made, the first pass's top-k and target."""

    progress: ProgressCallback | None = None
    cancel: Cancel = None
    on_result: Callable[[MethodResult], None] | None = None
    on_predictions: Callable[[list[Any], int], None] | None = None


@dataclass
class LoadedModelState:
    """What the GUI keeps of a loaded model (never the Keras object itself)."""

    info: Any  # ModelInfo
    device: str
    versions: dict[str, str]
    request: ModelRequest
