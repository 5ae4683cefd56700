"""Run every registered method on one tiny model on the Keras backend named in argv[1] and save
the maps to argv[2] (npz); a test compares the backends (tests/engine/test_backends.py).

The model (8x8x3, every ReLU kind) gets the same weights on every backend from a numpy seed.
After each method the user's model must be unchanged: weights, fused activations and outputs.
Run as a script, in its own process: Keras fixes its backend when first imported."""

from __future__ import annotations

import json
import sys

import numpy as np

SMALL = {  # parameters that keep every method to a fraction of a second on 8x8 inputs
    "smoothgrad": {"nt_samples": 4},
    "smoothgrad_squared": {"nt_samples": 4},
    "vargrad": {"nt_samples": 4},
    "occlusion": {"window": 4, "stride": 2},
    "rise": {"n_masks": 64},
    "integrated_gradients": {"n_steps": 8},
    "expected_gradients": {"n_samples": 8},
    "blur_ig": {"steps": 8},
    "guided_ig": {"x_steps": 8},
}


def tiny(keras):  # the same graph as tests/engine/conftest.py's tiny_cnn
    inp = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv2")(x)
    x = keras.layers.ReLU(6.0, name="relu6")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv3")(x)
    x = keras.layers.Activation("relu", name="act3")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(4, activation="softmax", name="dense")(x)
    model = keras.Model(inp, out, name="tiny")
    rng = np.random.default_rng(0)
    for v in model.weights:
        v.assign(0.5 * rng.standard_normal(tuple(v.shape)).astype("float32"))
    return model


def main(backend: str, out: str, methods: list[str] | None) -> None:
    from saliency_desktop.engine import backends

    backends.choose(backend)
    import keras

    from saliency_desktop.engine import explain, method_ids
    from saliency_desktop.engine.device import versions
    from saliency_desktop.engine.models import from_keras

    km = tiny(keras)
    model = from_keras(km, preprocessing="unit")
    image = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    probe = np.random.default_rng(2).random((2, 8, 8, 3)).astype("float32")
    weights = [w.copy() for w in km.get_weights()]
    acts = {la.name: getattr(la, "activation", None) for la in km.layers}
    outputs = keras.ops.convert_to_numpy(km(probe, training=False))
    maps: dict[str, np.ndarray] = {}
    for mid in methods or method_ids():
        params = {mid: SMALL[mid]} if mid in SMALL else None
        res = explain(model, image, methods=[mid], target=3, params=params)
        maps[mid] = res.methods[mid].map
        unchanged = (
            all(np.array_equal(a, b) for a, b in zip(weights, km.get_weights(), strict=True))
            and acts == {la.name: getattr(la, "activation", None) for la in km.layers}
            and np.array_equal(outputs, keras.ops.convert_to_numpy(km(probe, training=False)))
        )
        if not unchanged:
            raise SystemExit(f"{backend}: {mid} changed the user's model")
    record = {"backend": keras.backend.backend(), "versions": versions()}
    np.savez(out, record=json.dumps(record), **maps)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].split(",") if len(sys.argv) > 3 else None)
