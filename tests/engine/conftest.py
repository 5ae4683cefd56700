"""Tiny models built in the tests (8x8x3 inputs), and the two embedded models, loaded once."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def keras():  # noqa: D103 - imported lazily so collecting the UI tests never loads TensorFlow
    import keras

    return keras


def tiny_cnn(keras, seed: int = 0, final: str = "softmax"):
    """8x8x3 -> Conv(relu) -> ReLU6 block -> Conv -> GAP -> Dense(4, final): every ReLU kind."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv2")(x)
    x = keras.layers.ReLU(6.0, name="relu6")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv3")(x)
    x = keras.layers.Activation("relu", name="act3")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(4, activation=final, name="dense")(x)
    return keras.Model(inp, out, name="tiny")


@pytest.fixture(scope="session")
def tiny_model(keras):
    from saliency_desktop.engine.models import from_keras

    return from_keras(tiny_cnn(keras), preprocessing="unit", labels=["a", "b", "c", "d"])


@pytest.fixture(scope="session")
def tiny_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def dog_model():
    from saliency_desktop.engine import load_model

    return load_model("dog-breeds")


@pytest.fixture(scope="session")
def emotion_model():
    from saliency_desktop.engine import load_model

    return load_model("emotions")


@pytest.fixture(scope="session")
def sample_photo() -> str:
    from importlib import resources

    return str(resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png"))
