"""Score-CAM, Faster Score-CAM, Ablation-CAM, Occlusion and RISE, each as a ratio to its own
limit measured in the same run (imported by bench_engine.py; dog-breeds only).

Each method needs the first pass (predictions and, for the CAMs, A), then its own passes; its
limit is one compiled forward+backward of the plain Keras model plus

* Score-CAM / Faster Score-CAM: compiled forwards of the plain model over K prepared masked
  inputs (in batches of the engine's forward batch size), K = the channels scored;
* RISE: the same over its N masked inputs;
* Occlusion: the same over its window count;
* Ablation-CAM: A times K prepared channel masks, then the model's head (the layers after the
  nested MobileNetV2: pooling, dropout, dense), compiled, in batches of the engine's head size.

So the ratio is what building the perturbed inputs, batching, progress and cancel checks cost on
top of the passes themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from saliency_desktop.engine.passes import HEAD_BATCH_BYTES

PERTURBATION = ("scorecam", "faster_scorecam", "ablationcam", "occlusion", "rise")
TARGET = 1.3


def _limits(model: Any, x: Any, rise_masks: int) -> dict[str, Callable[[], object]]:
    import numpy as np
    import tensorflow as tf

    km = model.keras_model
    size = max(1, min(2 * model.batch_size, 128))  # the engine's forward batch size

    @tf.function
    def fwd_bwd(batch: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(batch)
            s = tf.reduce_sum(km(batch, training=False)[:, 0])
        return tape.gradient(s, batch)

    @tf.function
    def forward(batch: Any) -> Any:
        return km(batch, training=False)[:, 0]

    @tf.function
    def head(factors: Any) -> Any:
        a = acts * factors  # the ablation itself, then the layers after the CAM layer
        for layer in km.layers[2:]:
            a = layer(a, training=False)
        return a[:, 0]

    one = tf.constant(x[None])
    full = tf.constant(np.repeat(x[None], size, axis=0) * 0.5)
    shape = model.info.layers[-1].shape
    k = shape[-1]
    acts = tf.constant(np.ones((1, *shape), np.float32))
    head_size = max(size, min(HEAD_BATCH_BYTES // (4 * math.prod(shape)), 1024))  # as ours
    factors = tf.constant(np.ones((head_size, 1, 1, k), np.float32))

    def passes(fn: Callable[[Any], Any], batch: Any, n: int) -> Callable[[], object]:
        m = len(batch)

        def run() -> object:
            fwd_bwd(one).numpy()
            last = None
            for _ in range(n // m):
                last = fn(batch).numpy()
            if n % m:
                last = fn(batch[: n % m]).numpy()
            return last

        return run

    h, w = model.info.input_size
    windows = math.ceil((h - 16) / 8 + 1) * math.ceil((w - 16) / 8 + 1)
    return {
        "scorecam": passes(forward, full, k),
        "faster_scorecam": passes(forward, full, max(1, min(128, math.ceil(k / 10)))),
        "ablationcam": passes(head, factors, k),
        "occlusion": passes(forward, full, windows),
        "rise": passes(forward, full, rise_masks),
    }


def bench_perturbation(
    model: Any, image: str, x: Any, repeats: int, rise_masks: int, paired: Callable[..., dict]
) -> dict[str, dict]:
    """Print and return {method: paired figures} for the perturbation methods."""
    from saliency_desktop.engine import explain

    limits = _limits(model, x, rise_masks)
    out: dict[str, dict] = {}
    for mid in PERTURBATION:
        params = {"rise": {"n_masks": rise_masks}} if mid == "rise" else {}
        r = paired(
            lambda m=mid, p=params: explain(model, image, methods=[m], params=p),
            limits[mid],
            repeats,
        )
        out[mid] = r
        flag = "ok" if r["ratio"] <= TARGET else "OVER"
        print(
            f"{mid:22s} {r['ours'] * 1e3:8.1f} {r['limit'] * 1e3:9.1f} {r['ratio']:6.2f} "
            f"{TARGET:7.2f}  1 fwd+bwd + its own passes, prepared  {flag}"
        )
    return out
