"""The saliency engine: pure Python + Keras 3 (TensorFlow, JAX or PyTorch), no Qt; the
frameworks are imported lazily.

from saliency_desktop.engine import load_model, explain
model = load_model("dog-breeds")
result = explain(model, "photo.jpg", methods=["gradcam", "integrated_gradients"])
"""

from saliency_desktop.engine import backends as _backends
from saliency_desktop.engine.catalogue import CATALOGUE, DEFAULT_MODEL
from saliency_desktop.engine.explainer import explain
from saliency_desktop.engine.images import load_image
from saliency_desktop.engine.metric_types import METRICS, Curve, Evaluation, MetricResult
from saliency_desktop.engine.metrics import evaluate
from saliency_desktop.engine.models import PREPROCESSING, LoadedModel, load_model
from saliency_desktop.engine.registry import get_method, list_methods, method_ids
from saliency_desktop.engine.types import (
    CancelledError,
    EngineError,
    Explanation,
    ImageError,
    MethodInfo,
    MethodResult,
    ModelError,
    ModelInfo,
    Prediction,
)

_backends.use_env()  # SALIENCY_DESKTOP_BACKEND (no module above imports Keras)

__all__ = [
    "CATALOGUE",
    "METRICS",
    "Curve",
    "Evaluation",
    "MetricResult",
    "evaluate",
    "DEFAULT_MODEL",
    "PREPROCESSING",
    "CancelledError",
    "EngineError",
    "Explanation",
    "ImageError",
    "LoadedModel",
    "MethodInfo",
    "MethodResult",
    "ModelError",
    "ModelInfo",
    "Prediction",
    "explain",
    "get_method",
    "list_methods",
    "load_image",
    "load_model",
    "method_ids",
]
