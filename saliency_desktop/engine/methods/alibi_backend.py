"""Integrated Gradients through alibi (optional `alibi` extra), for users who want the seed code.

alibi explains a model's output; so that it explains the same S as the native code (the pre-softmax
logit by default), it is given a small Functional model whose output is S's source: the logits
(or the probabilities with `score="probability"`), computed by this engine's graph executor over
the user's model (which is not changed). alibi's trapezoid rule uses step 1/n (see
`integrated.integration_points`), so only that rule differs from the native backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.graph import RunState
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.types import EngineError

INSTALL_HINT = (
    "The alibi backend needs alibi: pip install 'saliency-desktop[alibi]' (alibi >= 0.9.5 is "
    "under the Business Source License and pins numpy < 2)."
)


def score_model(ctx: PassCache) -> Any:
    """A Functional Keras model: image in, the engine's scores (logits or probabilities) out."""
    import keras

    runtime, score, n_classes = ctx.runtime, ctx.score, ctx.model.n_classes

    class EngineScores(keras.layers.Layer):
        def call(self, x: Any) -> Any:
            probs, logits = runtime._outputs(x, RunState())
            out = probs if score.startswith("probability") else logits
            if ctx.contrast is not None:  # S_A - S_B for every A: alibi's target A is the contrast
                out = out - out[:, ctx.contrast : ctx.contrast + 1]
            return out

        def compute_output_shape(self, input_shape: Any) -> tuple[Any, int]:
            return (input_shape[0], n_classes)

    h, w = ctx.model.info.input_size
    inp = keras.Input((h, w, ctx.model.info.channels), dtype="float32")
    return keras.Model(inp, EngineScores()(inp), name="engine_scores")


def alibi_integrated_gradients(
    ctx: PassCache, baseline: np.ndarray, rule: str, n_steps: int
) -> np.ndarray:
    """(H, W, C) attributions from alibi.explainers.IntegratedGradients."""
    try:
        from alibi.explainers import IntegratedGradients
    except ImportError:
        raise EngineError(INSTALL_HINT) from None
    ig = IntegratedGradients(
        score_model(ctx), method=rule, n_steps=n_steps, internal_batch_size=ctx.model.batch_size
    )
    target = np.array([ctx.target])
    explanation = ig.explain(ctx.x[None], baselines=baseline[None], target=target)
    attributions = explanation.attributions
    if isinstance(attributions, list):
        attributions = attributions[0]
    return np.asarray(attributions, np.float32)[0]
