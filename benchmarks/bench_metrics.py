"""Deletion + insertion of one map against the 202 forward passes they need, in the same run.

    python benchmarks/bench_metrics.py [--repeats 7] [--model dog-breeds] [--method gradcam]

Limit: the 202 inputs (101 deletion steps, 101 insertion steps) built beforehand and run through
one compiled (tf.function) forward pass of the plain Keras model, in batches of the size the
engine uses. Ours: `evaluate(model, None, explanation, metrics=["deletion", "insertion"])`
through the public API (ordering the pixels, building every input, softmax, AUCs). After a
warm-up, the two alternate; the ratio is the median of `--repeats` pair ratios. Target <= 1.3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from importlib import resources

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
TARGET = 1.3


def limit_fn(model, explanation, method: str):
    """The 202 inputs, prebuilt, and a compiled forward pass over them in engine-sized batches."""
    import numpy as np
    import tensorflow as tf

    from saliency_desktop.engine.metrics import _steps, blurred, pixel_order

    raw, x = model.prepare(explanation.image)
    rank = pixel_order(explanation.methods[method].map)
    counts = _steps(rank.shape)
    black = model.preprocess_array(np.zeros_like(raw))
    blur = model.preprocess_array(blurred(raw))
    inputs = [np.where((rank < c)[..., None], black, x) for c in counts]
    inputs += [np.where((rank < c)[..., None], x, blur) for c in counts]
    size = max(1, min(2 * model.batch_size, 128))
    batches = [tf.constant(np.stack(inputs[i : i + size])) for i in range(0, len(inputs), size)]
    km = model.keras_model

    @tf.function
    def forward(batch):
        return km(batch, training=False)

    return lambda: [forward(b).numpy() for b in batches], len(inputs), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--model", default="dog-breeds")
    parser.add_argument("--method", default="gradcam")
    args = parser.parse_args()

    from saliency_desktop.engine import evaluate, explain, load_model

    model = load_model(args.model)
    photo = str(resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png"))
    e = explain(model, photo, methods=[args.method])
    limit, n, size = limit_fn(model, e, args.method)

    def ours():
        return evaluate(model, None, e, metrics=["deletion", "insertion"])

    for fn in (limit, ours, limit, ours):  # warm-up: traces and caches
        fn()
    ratios, t_limit, t_ours = [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        limit()
        a = time.perf_counter() - start
        start = time.perf_counter()
        ours()
        b = time.perf_counter() - start
        t_limit.append(a)
        t_ours.append(b)
        ratios.append(b / a)
    ratio = statistics.median(ratios)
    print(f"model {args.model}, map {args.method}: {n} forward passes in batches of {size}")
    print(f"limit (prebuilt inputs, compiled forward): median {statistics.median(t_limit):.3f} s")
    print(f"evaluate(deletion, insertion):             median {statistics.median(t_ours):.3f} s")
    print(f"ratio (median of {args.repeats} pairs): {ratio:.2f}  (target <= {TARGET})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
