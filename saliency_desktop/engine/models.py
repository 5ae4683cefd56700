"""Loading models (catalogue id or file), preprocessing, labels and what a model allows."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine import activations, catalogue, graph
from saliency_desktop.engine.files import MAX_LABELS_BYTES, read_text_limited, sha256_of
from saliency_desktop.engine.types import EngineError, ModelError, ModelInfo

log = logging.getLogger(__name__)

_CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)


def _caffe(x: np.ndarray) -> np.ndarray:
    if x.shape[-1] == 1:
        return x - _CAFFE_BGR_MEAN.mean()
    return x[..., ::-1] - _CAFFE_BGR_MEAN


def _torch(x: np.ndarray) -> np.ndarray:
    if x.shape[-1] == 1:
        return (x / 255.0 - _TORCH_MEAN.mean()) / _TORCH_STD.mean()
    return (x / 255.0 - _TORCH_MEAN) / _TORCH_STD


PREPROCESSING: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mobilenet": lambda x: x / 127.5 - 1.0,  # [-1, 1]; fer's (x/255 - 0.5) * 2 is the same
    "unit": lambda x: x / 255.0,  # [0, 1]
    "caffe": _caffe,  # RGB->BGR, minus the ImageNet BGR mean (VGG16, ResNet50)
    "torch": _torch,  # [0, 1], minus the ImageNet mean, over its std
    "raw": lambda x: x,  # 0-255 (models with their own Rescaling layer, e.g. EfficientNet)
}
SAFE_MODE_HINT = (
    "It contains a Lambda layer or other custom code, which Keras' safe mode refuses: loading "
    "it would run Python code stored in the file, which can do anything your user account can. "
    "Load it only if you trust its source (--trust-model, or the trust checkbox in the app)."
)


class LoadedModel:
    """A Keras model with what the engine needs to explain it. The model itself is never changed."""

    def __init__(self, keras_model: Any, info: ModelInfo, output_index: int = 0) -> None:
        from saliency_desktop.engine import device, keras_compat
        from saliency_desktop.engine.registry import list_methods
        from saliency_desktop.engine.runtime import Runtime

        keras_compat.probe()  # one clear message if this Keras lacks an internal we use
        self.keras_model = keras_model
        self.output_index = output_index
        self.output_op = graph.output_operation(keras_model, output_index)
        layers = tuple(_layer_infos(keras_model))
        unavailable: dict[str, str] = dict(info.unavailable)
        if not layers:
            reason = "the model has no 4-D feature-map layer with spatial size > 1"
            for m in list_methods():
                if m.needs_layer:
                    unavailable[m.id] = reason
        self.activations = activations.census(keras_model, self.output_op)
        if not self.activations.rerouted:
            for m in list_methods():
                if m.relu_rule:
                    unavailable.setdefault(m.id, self.activations.refusal())
        default = graph.default_cam_layer(keras_model, output_index) if layers else None
        self.info = replace(
            info,
            layers=layers,
            default_layer=default if default in {la.path for la in layers} else _last(layers),
            final_activation=graph.final_activation(self.output_op),
            unavailable=unavailable,
        )
        self.device = device.configure()
        # float32 bytes of all layer outputs per sample: a first guess, replaced by the growth
        # measured on IG's first (small) batch (see `passes.PassCache.path_integral`)
        per_sample = max(graph.activation_elements(keras_model), 1) * 4
        self.batch_size = int(np.clip(device.batch_memory_bytes() // per_sample, 1, 64))
        self.batch_measured = False
        self.runtime = Runtime(self)
        self.lock = threading.Lock()
        self._last_prepared: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def preprocess_array(self, raw: np.ndarray) -> np.ndarray:
        """Model input (H, W, C) float32 from an (H, W, C) uint8 image of the model's size."""
        return PREPROCESSING[self.info.preprocessing](raw.astype(np.float32)).astype(np.float32)

    def prepare(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(raw, x): the image resized to the model (uint8) and its preprocessed input.

        The last result is kept for a read-only image (a decoded file from the image cache), so
        re-explaining the same image for another class or method skips the resize."""
        from PIL import Image

        last = self._last_prepared
        if last is not None and last[0] is rgb and not rgb.flags.writeable:
            return last[1], last[2]
        h, w = self.info.input_size
        img = Image.fromarray(rgb).resize((w, h), Image.Resampling.BICUBIC)
        if self.info.channels == 1:
            raw = np.asarray(img.convert("L"))[..., None]
        else:
            raw = np.asarray(img)
        x = self.preprocess_array(raw)
        if not rgb.flags.writeable:
            raw.flags.writeable = x.flags.writeable = False  # shared by later calls
            self._last_prepared = (rgb, raw, x)
        return raw, x

    @property
    def n_outputs(self) -> int:
        """Elements of the explained output per sample (1 for a binary head)."""
        shape = self.keras_model.outputs[self.output_index].shape
        return int(np.prod([d for d in shape[1:] if d is not None]))

    @property
    def binary(self) -> bool:
        """One output (sigmoid or raw logit z): two classes, 0 (logit -z) and 1 (logit z)."""
        return self.n_outputs == 1

    def label(self, index: int) -> str:
        labels = self.info.labels
        return labels[index] if 0 <= index < len(labels) else f"class {index}"

    def class_index(self, target: int | str) -> int:
        """A class index from an index or a label (case, spaces and underscores ignored)."""
        n = self.n_classes
        if isinstance(target, str) and not target.lstrip("-").isdigit():

            def norm(text: str) -> str:  # "Golden Retriever" finds "golden_retriever"
                return " ".join(text.replace("_", " ").lower().split())

            lowered = [norm(lab) for lab in self.info.labels]
            if norm(target) in lowered:
                return lowered.index(norm(target))
            some = ", ".join(self.info.labels[:8])
            more = f", ... ({len(self.info.labels)} in all)" if len(self.info.labels) > 8 else ""
            raise EngineError(f"Unknown class {target!r}; the classes are: {some}{more}.")
        index = int(target)
        if not 0 <= index < n:
            raise EngineError(f"Class index {index} is out of range (the model has {n} classes).")
        return index

    @property
    def n_classes(self) -> int:
        """Classes the model tells apart: its outputs, or 2 for a single (binary) output."""
        return class_count(self.n_outputs)


def class_count(n_outputs: int) -> int:
    """A single output is a binary classifier: class 1 and its complement, class 0."""
    return 2 if n_outputs == 1 else n_outputs


def _last(layers: Sequence[Any]) -> str | None:
    return layers[-1].path if layers else None


def _layer_infos(model: Any) -> list[Any]:
    from saliency_desktop.engine.types import LayerInfo

    return [LayerInfo(path, shape) for path, shape in graph.feature_layers(model)]


def _check_image_model(model: Any, output_index: int | None, name: str) -> int:
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        raise ModelError(f"{name} has {len(inputs)} inputs; only single-image models work.")
    shape = tuple(inputs[0].shape)
    if len(shape) != 4 or shape[-1] not in (1, 3) or None in shape[1:3]:
        raise ModelError(
            f"{name}: input shape {shape} is not an image (batch, height, width, 1 or 3)."
        )
    outputs = model.outputs
    if output_index is None:
        if len(outputs) > 1:
            raise ModelError(
                f"{name} has {len(outputs)} outputs; choose one (0-{len(outputs) - 1}) with "
                "--output-index on the command line, or output_index= in Python."
            )
        output_index = 0
    if not 0 <= output_index < len(outputs):
        raise ModelError(f"output_index {output_index} is out of range.")
    return output_index


def _keras_load(path: Path, trust_model: bool) -> Any:
    import keras

    from saliency_desktop.engine.model_safety import check_untrusted

    if path.is_dir():
        if not trust_model:
            check_untrusted(path)  # reads the graph; runs nothing
        return _load_savedmodel(path)
    if path.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise ModelError(f"{path.name}: not a model file (.keras, .h5, .hdf5 or a SavedModel).")
    _check_container(path)
    if not trust_model:
        check_untrusted(path)  # our own Lambda/import check, whatever Keras' safe mode does
    try:
        return keras.models.load_model(path, compile=False, safe_mode=not trust_model)
    except ValueError as exc:
        text = str(exc)
        if "safe_mode" in text or "Lambda" in text or "lambda" in text:
            raise ModelError(f"{path.name}: refused in safe mode. {SAFE_MODE_HINT}") from exc
        raise ModelError(f"{path.name}: not a Keras model Keras can load ({_short(exc)}).") from exc
    except (OSError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ModelError(f"{path.name}: damaged or not a Keras model ({_short(exc)}).") from exc
    except Exception as exc:  # zipfile.BadZipFile, h5py and TF errors: all mean "cannot load"
        raise ModelError(f"{path.name}: cannot be loaded ({_short(exc)}).") from exc


def _check_container(path: Path) -> None:
    """A .keras file is a zip archive and a .h5 file an HDF5 file: say so plainly when it is not
    (Keras' own message for these cases is "File not found")."""
    import zipfile

    import h5py

    if path.stat().st_size == 0:
        raise ModelError(f"{path.name}: the file is empty.")
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        raise ModelError(
            f"{path.name}: damaged or not a Keras file (a .keras file is a zip archive)."
        )
    if path.suffix.lower() in (".h5", ".hdf5") and not h5py.is_hdf5(path):
        raise ModelError(f"{path.name}: damaged or not a Keras file (not an HDF5 file).")


def _load_savedmodel(path: Path) -> Any:
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ModelError(
            f"{path.name}: a SavedModel folder is a TensorFlow graph and runs only on the "
            f"TensorFlow backend (this process runs Keras on {keras.backend.backend()}); "
            "choose --backend tensorflow, or export the model as a .keras file."
        )
    try:
        layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        sig = loaded.signatures["serving_default"]
        (inp_spec,) = sig.structured_input_signature[1].values()
        inp = keras.Input(shape=tuple(inp_spec.shape[1:]))
        out = layer(inp)
        if isinstance(out, dict):
            out = out[sorted(out)[0]]
        return keras.Model(inp, out, name=path.name)
    except Exception as exc:
        raise ModelError(
            f"{path.name}: not a SavedModel TensorFlow can load ({_short(exc)})."
        ) from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def from_keras(
    model: Any,
    preprocessing: str = "raw",
    labels: str | Path | Sequence[str] | None = None,
    output_index: int | None = None,
    name: str = "in-memory model",
) -> LoadedModel:
    """Wrap a Keras model object already in memory (notebooks, tests). It is not copied."""
    from saliency_desktop.engine import device

    device.configure()
    return _wrap(model, preprocessing, labels, output_index, name, id=name)


def _wrap(
    model: Any,
    preprocessing: str,
    labels: str | Path | Sequence[str] | None,
    output_index: int | None,
    name: str,
    **info: Any,
) -> LoadedModel:
    """A user's model (file or object), checked, with its labels and preprocessing."""
    index = _check_image_model(model, output_index, name)
    n_classes = class_count(int(np.prod([d for d in model.outputs[index].shape[1:] if d])))
    if preprocessing not in PREPROCESSING:
        raise ModelError(
            f"Unknown preprocessing {preprocessing!r}; use one of {', '.join(PREPROCESSING)}."
        )
    shape = model.inputs[0].shape
    model_info = ModelInfo(
        label=name,
        input_size=(int(shape[1]), int(shape[2])),
        channels=int(shape[3]),
        preprocessing=preprocessing,
        labels=_read_label_file(labels, n_classes),
        **info,
    )
    return LoadedModel(model, model_info, index)


def load_model(
    spec: Any = catalogue.DEFAULT_MODEL,
    preprocessing: str | None = None,
    labels: str | Path | Sequence[str] | None = None,
    trust_model: bool = False,
    output_index: int | None = None,
    download_progress: Callable[[int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    """Load a catalogue model (id), a model file/folder (path) or wrap a Keras model object."""
    from saliency_desktop.engine import device

    if not isinstance(spec, str | Path):
        return from_keras(spec, preprocessing or "raw", labels, output_index)
    key = str(spec)
    path = Path(spec)
    if key not in catalogue.CATALOGUE and not path.exists():  # before the slow TensorFlow import
        known = ", ".join(catalogue.CATALOGUE)
        raise ModelError(f"{key}: no such model file, and not a catalogue id ({known}).")
    device.configure()
    if key in catalogue.CATALOGUE:
        return _load_catalogue(catalogue.CATALOGUE[key], download_progress, cancel)
    model = _keras_load(path, trust_model)
    return _wrap(
        model, preprocessing or "unit", labels, output_index, path.name, id=str(path),
        source=str(path.resolve()), sha256=sha256_of(path),
    )  # fmt: skip


def _read_label_file(labels: str | Path | Sequence[str] | None, n: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"class {i}" for i in range(n))
    if isinstance(labels, str | Path):
        text = read_text_limited(Path(labels), MAX_LABELS_BYTES, "labels file", ModelError)
        names = tuple(line.strip() for line in text.splitlines() if line.strip())
    else:
        names = tuple(str(x) for x in labels)
    if len(names) != n:
        raise ModelError(f"The labels file has {len(names)} names but the model has {n} classes.")
    return names


def _load_catalogue(
    entry: catalogue.CatalogueEntry,
    download_progress: Callable[[int, int | None], None] | None,
    cancel: threading.Event | None,
) -> LoadedModel:
    import keras

    if entry.kind == "embedded":
        path = catalogue.embedded_path(entry)
        model = keras.models.load_model(path, compile=False)
        digest = sha256_of(path)
    else:
        from saliency_desktop.engine.download import fetch_weights

        path = fetch_weights(entry, download_progress, cancel)
        build = getattr(keras.applications, entry.constructor)
        try:
            model = build(weights=str(path))
        except Exception as exc:
            raise ModelError(
                f"The cached weights {path} for {entry.id} cannot be loaded ({_short(exc)}); "
                "delete the file and try again."
            ) from exc
        digest = sha256_of(path)
    info = ModelInfo(
        id=entry.id,
        label=entry.label,
        input_size=entry.input_size,
        channels=entry.channels,
        preprocessing=entry.preprocessing,
        labels=catalogue.read_labels(entry.labels_resource),
        source=str(path),
        sha256=digest,
        licence=entry.licence,
    )
    return LoadedModel(model, info)
