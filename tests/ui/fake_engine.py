"""A fake engine with the EngineAdapter interface: synthetic Explanations, no TensorFlow.

Maps are Gaussian blobs whose centre depends on the method, the target class and the image, so
tests can tell whose result they are looking at. `delay` (seconds per method) or `gate` (each
method waits for the event) make jobs slow; both check the cancel event like the real engine.
A model remembers the backend it was loaded on and refuses to run on another one, as a Keras
model does after `keras.config.set_backend`; `load_fails_on` makes loads fail on those backends.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from saliency_desktop.engine.catalogue import CATALOGUE
from saliency_desktop.engine.metric_types import Curve, Evaluation, MetricResult
from saliency_desktop.engine.registry import list_methods
from saliency_desktop.engine.types import (
    CancelledError,
    EngineError,
    Explanation,
    LayerInfo,
    MethodResult,
    ModelError,
    ModelInfo,
    Prediction,
)

N_CLASSES = 10
SIZE = (32, 32)
LAYERS = (LayerInfo("backbone/block1", (8, 8, 16)), LayerInfo("backbone/block2", (4, 4, 32)))


@dataclass
class FakeModel:
    info: ModelInfo
    device: str = "CPU (fake)"
    backend: str = "tensorflow"  # the backend it was loaded on: it runs there only


@dataclass
class FakeEngine:
    delay: float = 0.0
    gate: threading.Event | None = None
    ignore_cancel: bool = False
    unavailable: dict[str, str] = field(default_factory=dict)
    choices_off: dict[str, dict[str, str]] = field(default_factory=dict)  # param -> choice -> why
    explain_calls: list[dict[str, Any]] = field(default_factory=list)
    evaluate_calls: list[dict[str, Any]] = field(default_factory=list)
    load_calls: list[str] = field(default_factory=list)
    activation_calls: list[tuple[Any, ...]] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    predict_delay: float = 0.0  # seconds per image of a data set
    backend: str = "tensorflow"
    switch_calls: list[str] = field(default_factory=list)
    warm_up_calls: list[Any] = field(default_factory=list)
    warm_up_delay: float = 0.0
    load_fails_on: set[str] = field(default_factory=set)  # backends where every load fails
    breaks_on: set[str] = field(default_factory=set)  # backends that fail half-way through a switch
    devices: dict[str, str] = field(default_factory=dict)  # backend -> its device (else the CPU)
    load_delay: float = 0.0  # seconds a load takes (a cancel stops it)
    stale_runs: list[str] = field(default_factory=list)  # jobs given a model of another backend

    def list_methods(self) -> list[Any]:
        return list_methods()

    def catalogue(self) -> dict[str, Any]:
        return dict(CATALOGUE)

    def default_model(self) -> str:
        return "dog-breeds"

    def unavailable_choices(self) -> dict[str, dict[str, str]]:
        return {k: dict(v) for k, v in self.choices_off.items()}

    def warm_up(self, model: Any, cancel: threading.Event | None) -> list[str]:
        self._live(model, "warm_up")
        self.warm_up_calls.append(model)
        deadline = time.monotonic() + self.warm_up_delay
        while time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                raise CancelledError("Cancelled.")
            time.sleep(0.005)
        return []

    def versions(self) -> dict[str, str]:
        return {
            "saliency_desktop": "test",
            "tensorflow": "0.0-fake",
            "keras": "0.0-fake",
            "python": "3",
            "backend": self.backend,
        }

    def switch_backend(self, backend: str) -> str:
        self.switch_calls.append(backend)
        if backend == "numpy":  # a backend the tests make fail
            raise EngineError("Unknown backend 'numpy': choose one of tensorflow, jax, torch.")
        self.backend = backend
        if backend in self.breaks_on:  # Keras re-imported, then the framework fails to start
            raise RuntimeError(f"{backend} failed to initialise (fake)")
        return backend

    def layer_activations(
        self, model: Any, image: np.ndarray, layer: str, top: int, rank: str, target: int | None
    ) -> Any:
        self.activation_calls.append((layer, top, rank, target))
        return _fake_layer_activations(model, image, layer, top, rank, target)

    def layer_summaries(self, model: Any, image: np.ndarray) -> list[Any]:
        return _fake_layer_summaries(model, image)

    def load_model(
        self, request: Any, download_progress: Any, cancel: threading.Event | None
    ) -> FakeModel:
        spec, preprocessing = request.spec, request.preprocessing
        self.load_calls.append(spec)
        if spec.endswith("broken.keras"):
            raise ModelError("broken.keras: damaged or not a Keras model (fake).")
        if self.backend in self.load_fails_on:
            raise ModelError(f"{spec}: this model does not load on {self.backend} (fake).")
        deadline = time.monotonic() + self.load_delay
        while time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                raise CancelledError("Cancelled.")
            time.sleep(0.005)
        entry = CATALOGUE.get(spec)
        if entry is not None and entry.kind == "imagenet":
            total = 5_000_000
            for i in range(1, 1000):  # a slow download that only a cancel stops
                if cancel is not None and cancel.is_set():
                    raise CancelledError("Download cancelled.")
                if download_progress is not None:
                    download_progress(min(i * 100_000, total), total)
                time.sleep(0.01)
        info = ModelInfo(
            id=spec,
            label=entry.label if entry else f"fake {spec}",
            input_size=SIZE,
            channels=3,
            preprocessing=preprocessing or "unit",
            labels=tuple(f"class_{i}" for i in range(N_CLASSES)),
            source=spec,
            licence="MIT (fake)",
            layers=LAYERS,
            default_layer=LAYERS[-1].path,
            unavailable=dict(self.unavailable),
        )
        return FakeModel(info, self.devices.get(self.backend, "CPU (fake)"), self.backend)

    def _live(self, model: FakeModel, job: str) -> None:
        """Refuse a model of another backend (its Keras objects died with the switch)."""
        if model.backend != self.backend:
            self.stale_runs.append(job)
            raise EngineError(f"{job}: the model was loaded on {model.backend} (fake, stale).")

    def _wait(self, cancel: threading.Event | None) -> None:
        deadline = time.monotonic() + self.delay
        while True:
            if cancel is not None and cancel.is_set() and not self.ignore_cancel:
                raise CancelledError("Cancelled.")
            if self.gate is not None:
                if self.gate.is_set():
                    return
            elif time.monotonic() >= deadline:
                return
            time.sleep(0.005)

    def explain(
        self,
        model: FakeModel,
        request: Any,  # ExplainRequest
        hooks: Any,  # ExplainHooks
    ) -> Explanation:
        progress, cancel, on_result = hooks.progress, hooks.cancel, hooks.on_result
        on_predictions = hooks.on_predictions
        image, methods, target, layer = (
            request.image,
            request.methods,
            request.target,
            request.layer,
        )
        params, contrast = request.params, request.contrast
        self._live(model, "explain")
        self.explain_calls.append(
            {
                "methods": list(methods),
                "target": target,
                "layer": layer,
                "params": dict(params),
                "contrast": contrast,
                "shape": image.shape,
            }
        )
        self.started.set()
        infos = {m.id: m for m in list_methods()}
        unknown = [k for k, v in params.items() if k not in infos or not isinstance(v, dict)]
        if unknown:  # as the real engine: params are {method id: {name: value}}
            raise EngineError(f"Unknown method(s) in params: {', '.join(unknown)}.")
        probs = fake_probabilities(image)
        tgt = int(np.argmax(probs)) if target is None else int(target)
        order = np.argsort(-probs, kind="stable")
        labels = model.info.labels
        if on_predictions is not None:
            on_predictions(
                [Prediction(int(i), labels[int(i)], float(probs[i])) for i in order], tgt
            )
        results: dict[str, MethodResult] = {}
        for i, mid in enumerate(methods):
            self._wait(cancel)
            info = infos[mid]
            heat = fake_map(mid, tgt, image)
            if contrast is not None:  # A vs B: the blob moves down by 3 B rows
                heat = np.roll(heat, 3 * (1 + int(contrast)), axis=0)
            res = MethodResult(
                method=mid,
                map=heat,
                attributions=np.repeat(heat[..., None], 3, -1) if info.has_attributions else None,
                cam=heat[::8, ::8].copy() if info.has_cam else None,
                seconds=0.01,
                params={
                    **{p.name: params.get(mid, {}).get(p.name, p.default) for p in info.params},
                    **({"layer": layer or LAYERS[-1].path} if info.needs_layer else {}),
                },
                extras=_fake_extras(mid, params.get(mid, {})),
            )
            results[mid] = res
            if on_result is not None:
                on_result(res)
            if progress is not None:
                progress((i + 1) / len(methods), info.label)
        return Explanation(
            model=model.info,
            image=image,
            input=np.zeros((*SIZE, 3), np.float32),
            target=tgt,
            target_label=model.info.labels[tgt],
            score="logit",
            top_k=[Prediction(int(i), model.info.labels[int(i)], float(probs[i])) for i in order],
            layer=layer or LAYERS[-1].path,
            methods=results,
            device=model.device,
            contrast=contrast,
            contrast_label=None if contrast is None else labels[contrast],
        )

    def predict_dataset(
        self, model: FakeModel, source: str, progress: Any, cancel: threading.Event
    ) -> Any:
        """The real data-set reading and confusion, with `fake_probabilities` as the model."""
        from saliency_desktop.engine.dataset import (
            DatasetPrediction,
            confusion,
            open_dataset,
            prediction_row,
        )
        from saliency_desktop.engine.images import load_image
        from saliency_desktop.engine.types import EngineError

        self._live(model, "predict_dataset")
        labels = model.info.labels
        data = open_dataset(source, labels)
        rows = []
        for i, item in enumerate(data.items):
            if cancel.is_set():
                raise CancelledError("Cancelled.")
            time.sleep(self.predict_delay)
            try:
                rgb, _ = load_image(item.path)
                rows.append(prediction_row(item, fake_probabilities(rgb).astype(float), None))
            except EngineError as exc:
                rows.append(prediction_row(item, None, str(exc)))
            progress((i + 1) / len(data.items), f"{i + 1} / {len(data.items)} images")
        return DatasetPrediction(data, tuple(rows), confusion(rows, labels), labels)

    def export_mistakes(
        self, model: FakeModel, rows: Any, k: int, methods: list[str], path_base: str,
        formats: list[str], progress: Any, cancel: threading.Event,
    ) -> list[str]:  # fmt: skip
        self.explain_calls.append({"mistakes": k, "methods": list(methods)})
        paths = [f"{path_base}.{fmt}" for fmt in formats]
        for p in paths:
            write_png(p)
        return paths

    def evaluate(
        self,
        model: FakeModel,
        explanation: Explanation,
        metrics: list[str],
        progress: Any,
        cancel: threading.Event | None,
        randomization_steps: int = 6,
    ) -> Any:
        """Synthetic curves: deletion falls, insertion rises, faster for methods later in the
        explanation; the randomised maps of the gradient family stay like the original."""
        self.evaluate_calls.append({"metrics": list(metrics), "target": explanation.target})
        self.started.set()
        results: dict[str, dict[str, MetricResult]] = {}
        x = np.linspace(0, 1, 101)
        for k, (mid, res) in enumerate(explanation.methods.items()):
            self._wait(cancel)
            rate = 3.0 + 2.0 * k
            out: dict[str, MetricResult] = {}
            for metric, y in (
                ("deletion", np.exp(-rate * x)),
                ("insertion", 1 - np.exp(-rate * x)),
            ):
                if metric in metrics:
                    score = {f"{metric}_auc": float(((y[1:] + y[:-1]) / 2).mean())}
                    out[metric] = MetricResult(metric, mid, score, {metric: Curve(x, y)})
            if "randomization" in metrics:
                keep = 0.9 if mid in ("guided_backprop", "deconvnet") else 0.1
                rho = np.r_[1.0, np.full(randomization_steps, keep)]
                steps = np.arange(len(rho), dtype=float)
                maps = np.stack([res.map * (keep if i else 1.0) for i in range(len(rho))])
                out["randomization"] = MetricResult(
                    "randomization", mid,
                    {"randomization": keep, "randomization_ssim": keep, "randomization_mean": keep},
                    {"spearman": Curve(steps, rho), "ssim": Curve(steps, rho)},
                    {"layers": ["original"] + [f"layer{i}" for i in range(randomization_steps)],
                     "maps": maps},
                )  # fmt: skip
            results[mid] = out
            if progress is not None:
                progress((k + 1) / len(explanation.methods), mid)
        return Evaluation(explanation.target, explanation.target_label, tuple(metrics), results,
                          {"fake": True}, 0.01)  # fmt: skip


def _fake_extras(mid: str, params: dict[str, Any]) -> dict[str, Any]:
    """IG's convergence report, with the steps an "auto" run would have used (64)."""
    if mid != "integrated_gradients":
        return {}
    steps = params.get("n_steps", "auto")
    used = 64 if steps == "auto" else int(steps)
    return {"convergence_delta": 0.01, "score": 2.0, "baseline_score": 0.5, "steps": used}


def fake_probabilities(image: np.ndarray) -> np.ndarray:
    seed = int(image.astype(np.int64).sum()) % 1000
    logits = np.random.default_rng(seed).normal(size=N_CLASSES)
    e = np.exp(logits - logits.max())
    return (e / e.sum()).astype(np.float32)


def fake_map(method: str, target: int, image: np.ndarray) -> np.ndarray:
    """A blob whose position encodes (method, target): decode with `blob_centre`."""
    h, w = SIZE
    cy = 4 + (target * 3) % (h - 8)
    cx = 4 + (sum(map(ord, method)) * 5) % (w - 8)
    y, x = np.mgrid[0:h, 0:w]
    heat = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / 18.0).astype(np.float32)
    signed = method == "integrated_gradients"
    return (heat - 0.3 * heat.mean()).astype(np.float32) if signed else heat


def write_png(path: Any, seed: int = 0, size: tuple[int, int] = (48, 64)) -> str:
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return str(path)


def _fake_layer_activations(
    model: FakeModel, image: np.ndarray, layer: str, top: int, rank: str, target: int | None
) -> Any:
    """Channel c of any layer is a blob at a position set by c, its mean k - c (best first)."""
    from saliency_desktop.engine.neurons import LayerActivations, LayerSummary

    shape = next(info.shape for info in LAYERS if info.path == layer)
    k = shape[2]
    order = np.arange(min(top, k))
    maps = np.stack([fake_map(f"channel{c}", c, image) for c in order])
    values = (k - order).astype(np.float32)
    summary = LayerSummary(layer, shape, 0.5, float(k) / 2, float(k))
    return LayerActivations(
        layer, shape, rank, order, values, values, maps, summary, 0 if rank != "mean" else None
    )


def _fake_layer_summaries(model: FakeModel, image: np.ndarray) -> list[Any]:
    from saliency_desktop.engine.neurons import LayerSummary

    return [
        LayerSummary(info.path, info.shape, 0.25 * (i + 1), float(i), float(2 * i + 1))
        for i, info in enumerate(LAYERS)
    ]
