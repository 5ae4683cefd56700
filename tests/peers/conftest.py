"""The peers' side runs in a subprocess under Keras' PyTorch backend (tests/peers/torch_side.py)
on the same .keras file as our TensorFlow engine; these fixtures save the model and run it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

TORCH_SIDE = Path(__file__).with_name("torch_side.py")


def require(*modules: str) -> None:
    """Skip, naming what is missing, unless every module is installed (found, not imported:
    torch is never loaded into the TensorFlow test process)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"peer not installed: {', '.join(missing)} (pip install -e '.[test]')")


def run_torch_side(
    tmp: Path, model_path: Path, target: int, jobs: dict[str, dict[str, Any]], **arrays: Any
) -> dict[str, np.ndarray]:
    """Runs the jobs under the torch backend; returns {job key: array}. A job value "@name"
    refers to arrays[name]; arrays must hold "x" (H, W, C), the preprocessed input."""
    np.savez(tmp / "arrays.npz", **arrays)
    request = {"model": str(model_path), "arrays": str(tmp / "arrays.npz"), "target": target}
    request["jobs"] = jobs
    (tmp / "request.json").write_text(json.dumps(request))
    env = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, str(TORCH_SIDE), "maps", str(tmp / "request.json"), str(tmp / "out.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(np.load(tmp / "out.npz"))


def tiny_relu_cnn(keras: Any, seed: int = 0) -> Any:
    """8x8x3 -> Conv(relu) -> MaxPool -> Conv -> ReLU -> GAP -> Dense(4, softmax): plain ReLUs
    only, so that a torch replica with nn.ReLU modules gets Captum's guided/deconv hooks."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(inp)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv2")(x)
    x = keras.layers.Activation("relu", name="act2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    out = keras.layers.Dense(4, activation="softmax", name="dense")(x)
    return keras.Model(inp, out, name="tiny_relu")


@pytest.fixture(scope="module")
def peer_setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The tiny test CNN (every ReLU kind) saved as .keras, wrapped for our engine, an image and
    its preprocessed input."""
    import keras

    from saliency_desktop.engine.models import from_keras
    from tests.engine.tiny_model import tiny_cnn

    tmp = tmp_path_factory.mktemp("peer")
    keras_model = tiny_cnn(keras)
    keras_model.save(tmp / "tiny.keras")
    model = from_keras(keras_model, preprocessing="unit", labels=["a", "b", "c", "d"])
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return {
        "tmp": tmp,
        "path": tmp / "tiny.keras",
        "model": model,
        "image": image,
        "x": model.prepare(image)[1].astype(np.float32),
    }
