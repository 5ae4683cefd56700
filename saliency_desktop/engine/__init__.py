"""The saliency engine: pure Python + Keras 3 (TensorFlow, JAX or PyTorch), no Qt; the
frameworks are imported lazily.

from saliency_desktop.engine import load_model, explain
model = load_model("dog-breeds")
result = explain(model, "photo.jpg", methods=["gradcam", "integrated_gradients"])

What lives here: models (catalogue, loading, safety checks), the method registry and the
methods (`methods/`, one file each), the shared passes, metrics, data sets, image loading.
May import: numpy, OpenCV, Pillow, the standard library, `saliency_desktop.atomic`, and
TensorFlow/Keras inside functions only. Never Qt, `render/`, `ui/` or the CLI.

This module is the engine's public API: code outside `engine/` imports engine names from here
(the names in `__all__`) or the plain dataclasses of `engine.types` and `engine.metric_types`,
nothing else (tests/test_boundaries.py checks it).
"""

from saliency_desktop.engine import backends as _backends
from saliency_desktop.engine.backends import BACKENDS
from saliency_desktop.engine.backends import ENV as BACKEND_ENV
from saliency_desktop.engine.backends import choose as choose_backend
from saliency_desktop.engine.backends import switch as switch_backend
from saliency_desktop.engine.catalogue import (
    CATALOGUE,
    DEFAULT_MODEL,
    CatalogueEntry,
    cached_weights,
    embedded_path,
    keras_cache_dir,
)
from saliency_desktop.engine.dataset import (
    Confusion,
    DataSet,
    PredictionRow,
    confusion,
    explain_mistakes,
    open_dataset,
    predict_dataset,
    predict_source,
)
from saliency_desktop.engine.device import versions
from saliency_desktop.engine.explainer import explain, resolve_layer, warm_up
from saliency_desktop.engine.faces import available as face_detector_missing
from saliency_desktop.engine.faces import crop as crop_face
from saliency_desktop.engine.faces import detect_face
from saliency_desktop.engine.files import file_name, sha256_of
from saliency_desktop.engine.images import IMAGE_SUFFIXES, is_image_name, load_image
from saliency_desktop.engine.localization import DEFAULT_THRESHOLD as BOX_THRESHOLD
from saliency_desktop.engine.localization import (
    Box,
    load_annotations,
    map_box,
    score_map,
    truth_for,
)
from saliency_desktop.engine.metric_types import METRICS, Curve, Evaluation, MetricResult
from saliency_desktop.engine.metrics import evaluate
from saliency_desktop.engine.models import PREPROCESSING, LoadedModel, load_model
from saliency_desktop.engine.neurons import LayerActivations, layer_activations, layer_summaries
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
    "BACKENDS",
    "BACKEND_ENV",
    "choose_backend",
    "switch_backend",
    "BOX_THRESHOLD",
    "Box",
    "LayerActivations",
    "layer_activations",
    "layer_summaries",
    "load_annotations",
    "map_box",
    "score_map",
    "truth_for",
    "CATALOGUE",
    "DEFAULT_MODEL",
    "IMAGE_SUFFIXES",
    "METRICS",
    "PREPROCESSING",
    "CancelledError",
    "CatalogueEntry",
    "Confusion",
    "Curve",
    "DataSet",
    "EngineError",
    "Evaluation",
    "Explanation",
    "ImageError",
    "LoadedModel",
    "MethodInfo",
    "MethodResult",
    "MetricResult",
    "ModelError",
    "ModelInfo",
    "Prediction",
    "PredictionRow",
    "cached_weights",
    "confusion",
    "crop_face",
    "detect_face",
    "embedded_path",
    "evaluate",
    "explain",
    "explain_mistakes",
    "face_detector_missing",
    "file_name",
    "get_method",
    "is_image_name",
    "keras_cache_dir",
    "list_methods",
    "load_image",
    "load_model",
    "method_ids",
    "open_dataset",
    "predict_dataset",
    "predict_source",
    "resolve_layer",
    "sha256_of",
    "versions",
    "warm_up",
]
