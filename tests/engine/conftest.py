"""Tiny models built in the tests (8x8x3 inputs), and the sample photo. The two embedded models
are loaded once a session in tests/conftest.py (`dog_model`, `emotion_model`)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.tiny_model import tiny_cnn


@pytest.fixture(scope="session")
def keras():  # noqa: D103 - imported lazily so collecting the UI tests never loads TensorFlow
    import keras

    return keras


@pytest.fixture(scope="session")
def tiny_model(keras):
    from saliency_desktop.engine.models import from_keras

    return from_keras(tiny_cnn(keras), preprocessing="unit", labels=["a", "b", "c", "d"])


@pytest.fixture(scope="session")
def tiny_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def sample_photo() -> str:
    from importlib import resources

    return str(resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png"))
