"""A hand-built Explanation (no TensorFlow): analytic maps on a synthetic picture."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from saliency_desktop.engine.types import Explanation, MethodResult, ModelInfo, Prediction


def make_explanation(height: int = 60, width: int = 90, size: int = 32) -> Explanation:
    """Deterministic, analytic content: a two-colour picture, a Gaussian blob (Grad-CAM),
    a signed saddle (Integrated Gradients) and a ring of gradients (Vanilla Gradients)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack(
        [
            255 * xx / (width - 1),
            255 * yy / (height - 1),
            np.where((xx - width / 3) ** 2 + (yy - height / 2) ** 2 < (height / 4) ** 2, 220, 40),
        ],
        axis=-1,
    ).astype(np.uint8)
    v, u = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1) * 2 - 1  # [-1, 1]
    blob = np.exp(-((u - 0.3) ** 2 + (v + 0.2) ** 2) / 0.1).astype(np.float32)
    saddle = (u * v * 3.0).astype(np.float32)
    ring = np.exp(-((np.hypot(u, v) - 0.6) ** 2) / 0.01).astype(np.float32) * 0.02
    cam = blob[::8, ::8].copy()
    grads = np.stack([ring, -ring, ring * 0.5], axis=-1).astype(np.float32)
    ig = np.stack([saddle, saddle * 0.5, saddle * 0.25], axis=-1).astype(np.float32) / 3
    info = ModelInfo(
        id="synthetic", label="Synthetic model (3 classes)", input_size=(size, size), channels=3,
        preprocessing="unit", labels=("cat", "dog", "tractor"), source="/nowhere/synthetic.keras",
        sha256="0" * 64, final_activation="softmax", default_layer="block/relu",
    )  # fmt: skip
    methods = {
        "vanilla_gradients": MethodResult(
            "vanilla_gradients", np.abs(grads).max(-1), grads, None, 0.01, {}
        ),
        "gradcam": MethodResult("gradcam", blob, None, cam, 0.02, {"layer": "block/relu"}),
        "integrated_gradients": MethodResult(
            "integrated_gradients",
            ig.sum(-1),
            ig,
            None,
            0.5,
            {"n_steps": 8, "rule": "gausslegendre", "baseline": "black", "seed": 0},
            {"convergence_delta": np.float64(0.0123), "score": 2.0, "baseline_score": 0.5},
        ),  # fmt: skip
    }
    return Explanation(
        model=info,
        image=image,
        input=(np.asarray(image[:size, :size], np.float32) / 255.0),
        target=1,
        target_label="dog",
        score="logit",
        top_k=[Prediction(1, "dog", 0.7), Prediction(0, "cat", 0.2), Prediction(2, "tractor", 0.1)],
        layer="block/relu",
        methods=methods,
        device="CPU (test)",
    )


@pytest.fixture
def explanation() -> Explanation:
    return make_explanation()


@pytest.fixture
def make() -> Callable[..., Explanation]:
    return make_explanation
