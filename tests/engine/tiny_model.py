"""The tiny test model (8x8x3 inputs, every ReLU kind), written once: the engine tests build it
through tests/engine/conftest.py, and tests/engine/backend_maps.py, a script run in a process
of its own per Keras backend, imports it from here."""

from __future__ import annotations

import numpy as np


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


def numpy_weights(model, seed: int = 0):
    """`model` with weights drawn by numpy (0.5 * N(0, 1)): the same on every Keras backend,
    where Keras' own initialisers draw differently."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(0.5 * rng.standard_normal(tuple(v.shape)).astype("float32"))
    return model
