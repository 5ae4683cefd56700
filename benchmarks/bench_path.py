"""Speed of the sampling and path methods of issue 12, as ratios to their own limits in one run.

    python benchmarks/bench_path.py [--repeats 3] [--no-pair]

On the dog-breed model (160x160) and a bundled photo, each method through the public `explain()`
against the compiled forward+backward passes it cannot avoid, measured alternately (see
bench_engine.paired):
* SmoothGrad (50 copies) and Expected Gradients (200 draws): one batched fwd+bwd over the n
  inputs (batches of the engine's batch size)                             target <= 1.2
* Blur IG: its 101 gradient evaluations, batched                          target <= 1.3
* Guided IG: its 200 gradient evaluations, one at a time (each depends on the last)  <= 1.3
* XRAI: segmentation and region ranking of a 224x224 image, in seconds     target <= 2 s
With PAIR saliency installed, its GetSmoothedMask, BlurIG and GuidedIG are timed on the same
input with a call_model_function written as its README shows (eager GradientTape).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from importlib import resources
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from limits import paired  # noqa: E402


def batched_limit(model, x, target: int, n: int, size: int):
    """n inputs through one compiled fwd+bwd of the plain Keras model, `size` at a time."""
    import numpy as np
    import tensorflow as tf

    km = model.keras_model

    @tf.function
    def fwd_bwd(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            s = tf.reduce_sum(km(batch, training=False)[:, target])
        return tape.gradient(s, batch)

    batches = [tf.constant(np.repeat(x[None], min(size, n - i), 0)) for i in range(0, n, size)]
    return lambda: [fwd_bwd(b).numpy() for b in batches]


def pair_times(model, x, target: int) -> dict[str, float]:
    """PAIR saliency run the way its README shows (TF2: an eager GradientTape per call)."""
    import numpy as np
    import saliency.core as saliency
    import tensorflow as tf

    km = model.keras_model

    def call_model_function(images, call_model_args=None, expected_keys=None):
        images = tf.convert_to_tensor(np.asarray(images, np.float32))
        with tf.GradientTape() as tape:
            tape.watch(images)
            out = km(images)[:, target]
        return {saliency.base.INPUT_OUTPUT_GRADIENTS: tape.gradient(out, images).numpy()}

    out = {}
    x64 = x.astype(np.float64)
    for name, run in (
        ("SmoothGrad", lambda: saliency.GradientSaliency().GetSmoothedMask(
            x64, call_model_function, nsamples=50, magnitude=False)),
        ("Blur IG", lambda: saliency.BlurIG().GetMask(
            x64, call_model_function, batch_size=20)),
    ):  # fmt: skip
        start = time.perf_counter()
        run()
        out[name] = time.perf_counter() - start
    return out


def xrai_seconds(repeats: int) -> float:
    import numpy as np
    from PIL import Image

    from saliency_desktop.engine.methods._segments import xrai_masks
    from saliency_desktop.engine.methods.xrai import xrai_full

    photo = resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png")
    image = np.asarray(Image.open(str(photo)).convert("RGB").resize((224, 224)), np.float32)
    attr = np.random.default_rng(0).normal(size=(224, 224)).astype(np.float32)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        xrai_full(attr, xrai_masks(image / 127.5 - 1.0))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-pair", action="store_true", help="skip PAIR saliency's timings")
    args = parser.parse_args()
    from saliency_desktop.engine import explain, load_model

    model = load_model("dog-breeds")
    photo = str(resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png"))
    first = explain(model, photo, methods=["gradient_x_input"])
    x, target, size = first.input, first.target, model.batch_size
    cases = [
        ("smoothgrad", {"nt_samples": 50}, batched_limit(model, x, target, 50, size), 1.2),
        ("expected_gradients", {}, batched_limit(model, x, target, 200, size), 1.2),
        ("blur_ig", {}, batched_limit(model, x, target, 101, size), 1.3),
        ("guided_ig", {}, batched_limit(model, x, target, 200, 1), 1.3),
    ]
    print(f"# dog-breeds 160x160, batch size {size}, {args.repeats} pairs; ratio = median")
    print(f"{'method':20s} {'ours s':>8s} {'limit s':>8s} {'ratio':>6s} {'target':>7s}")
    for mid, params, limit, target_ratio in cases:
        r = paired(lambda m=mid, p=params: explain(model, photo, methods=[m], params={m: p}),
                   limit, args.repeats)  # fmt: skip
        flag = "ok" if r["ratio"] <= target_ratio else "OVER"
        print(f"{mid:20s} {r['ours']:8.2f} {r['limit']:8.2f} {r['ratio']:6.2f} "
              f"{target_ratio:7.1f}  {flag}")  # fmt: skip
    seconds = xrai_seconds(args.repeats)
    flag = "ok" if seconds <= 2.0 else "OVER"
    print(f"{'xrai (segments+rank)':20s} {seconds:8.2f} {'2 s':>8s} {'':6s} {'':7s}  {flag}")
    if not args.no_pair:
        try:
            for name, t in pair_times(model, x, target).items():
                print(f"PAIR saliency {name}: {t:.2f} s (its README's eager call function)")
        except ImportError:
            print("PAIR saliency is not installed: pip install saliency")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
