"""Hand-made hostile model files for the safe-mode tests (built in tmp folders, tiny, 8x8x3).

Each SavedModel computes a linear classifier and, on the side, does what an attacker's file
would: write or read a file, run Python, print to a file, or write a file when it is loaded.
"""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

SAVEDMODEL_EFFECTS = ("write", "read", "py_function", "loop_write", "print_to_file")


def _effect(tf: Any, kind: str, target: str) -> Callable[[Any], Any]:
    """The side effect of a hostile serving function: y -> y (plus what it does to `target`)."""

    def write(y: Any) -> Any:
        tf.io.write_file(target, "pwned")
        return y

    def read(y: Any) -> Any:
        return y + 0.0 * tf.cast(tf.strings.length(tf.io.read_file(target)), tf.float32)

    def py_function(y: Any) -> Any:
        out = tf.py_function(lambda t: t, [y], tf.float32)
        out.set_shape(y.shape)
        return out

    def loop_write(y: Any) -> Any:  # the write is inside a While body (a function attribute)
        def body(i: Any) -> Any:
            tf.io.write_file(target, "pwned")
            return i + 1

        n = tf.while_loop(lambda i: i < 1, body, [tf.constant(0)])
        return y + 0.0 * tf.cast(n, tf.float32)

    def print_to_file(y: Any) -> Any:
        tf.print(y, output_stream=f"file://{target}")
        return y

    def print_to_stderr(y: Any) -> Any:
        tf.print(tf.shape(y), output_stream=sys.stderr)
        return y

    def clean(y: Any) -> Any:
        return tf.nn.softmax(y)

    return locals()[kind]


def savedmodel(folder: Path, kind: str, target: Path) -> Path:
    """A SavedModel (8x8x3 -> 2 classes) whose serving function has side effect `kind`."""
    import tensorflow as tf

    effect = _effect(tf, kind, str(target))

    class Hostile(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(tf.random.stateless_normal((192, 2), seed=(1, 2)))

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32)])
        def serve(self, x: Any) -> dict[str, Any]:
            return {"out": effect(tf.matmul(tf.reshape(x, (-1, 192)), self.w))}

    module = Hostile()
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    return folder


def savedmodel_writing_on_load(folder: Path, target: Path) -> Path:
    """A clean serving function, and a resource whose initialiser (run by
    `tf.saved_model.load`) writes `target`."""
    import tensorflow as tf

    class Table(tf.saved_model.experimental.TrackableResource):
        def _create_resource(self) -> Any:
            return tf.raw_ops.HashTableV2(key_dtype=tf.string, value_dtype=tf.int64)

        def _initialize(self) -> Any:
            tf.io.write_file(str(target), "pwned")
            return tf.raw_ops.LookupTableImportV2(
                table_handle=self.resource_handle,
                keys=tf.constant(["a"]),
                values=tf.constant([1], tf.int64),
            )

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.table = Table()
            self.w = tf.Variable(tf.ones((192, 2)))

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32)])
        def serve(self, x: Any) -> dict[str, Any]:
            return {"out": tf.matmul(tf.reshape(x, (-1, 192)), self.w)}

    module = Model()
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    return folder


LAMBDA_LAYER = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {
        "name": "lambda",
        "function": {"class_name": "__lambda__", "config": {"code": "AAAA", "defaults": None}},
    },
}


def keras_file_with(good: Path, out: Path, hostile: dict[str, Any]) -> Path:
    """A copy of the .keras file `good` whose first Dense layer's activation is `hostile`."""
    with zipfile.ZipFile(good) as src:
        files = {name: src.read(name) for name in src.namelist()}
    config = json.loads(files["config.json"])
    dense = next(x for x in config["config"]["layers"] if x["class_name"] == "Dense")
    dense["config"]["activation"] = hostile
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(out, "w") as dst:
        for name, data in files.items():
            dst.writestr(name, data)
    return out


def h5_with_lambda(good: Path, out: Path) -> Path:
    """A copy of the .h5 file `good` with a Lambda layer put in its `model_config` by hand."""
    import shutil

    import h5py

    shutil.copyfile(good, out)
    with h5py.File(out, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        layers.insert(1, {**LAMBDA_LAYER, "name": "lambda", "inbound_nodes": []})
        f.attrs["model_config"] = json.dumps(config)
    return out
