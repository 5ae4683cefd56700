"""Engine speed and memory, as ratios to the compiled limit measured in the same run.

    python benchmarks/bench_engine.py [--repeats 7] [--skip-memory] [--peers-python PATH]

Limits (what no implementation can beat by much), measured here on the same inputs:
* single: one compiled (tf.function) forward + backward pass of the plain Keras model, batch 1;
* batch50: the same over IG's 50 path points as one batch.
Each method is timed through the public `explain()` (image decoding, resizing and all), after a
warm-up, as the median of `--repeats` runs. An eager reference (GradientTape without
tf.function, the way tf-keras-vis, alibi and PAIR saliency call the model) is printed alongside.
With `--peers-python` (a side venv with tf-keras-vis and alibi), their times on the same input are
printed too (see benchmarks/peers.py). Memory: IG with 512 steps on 224x224 ImageNet
architectures (random weights), peak RSS of a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
TARGETS = {"single": 1.5, "ig": 1.2, "all": 1.2}


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def limits(model, x, repeats: int) -> dict[str, float]:
    import numpy as np
    import tensorflow as tf

    km = model.keras_model

    @tf.function
    def fwd_bwd(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            s = tf.reduce_sum(km(batch, training=False)[:, 0])
        return tape.gradient(s, batch)

    def eager(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            s = tf.reduce_sum(km(batch, training=False)[:, 0])
        return tape.gradient(s, batch).numpy()

    one = tf.constant(x[None])
    fifty = tf.constant(np.repeat(x[None], 50, axis=0))
    return {
        "single": median_time(lambda: fwd_bwd(one).numpy(), repeats),
        "batch50": median_time(lambda: fwd_bwd(fifty).numpy(), max(repeats // 2, 3)),
        "eager_single": median_time(lambda: eager(one), repeats),
    }


def bench_methods(model, image, repeats: int) -> dict[str, float]:
    from saliency_desktop.engine import explain, method_ids

    out = {}
    for mid in method_ids():
        out[mid] = median_time(lambda m=mid: explain(model, image, methods=[m]), repeats)
    out["all"] = median_time(lambda: explain(model, image, methods="all"), max(repeats // 2, 3))
    return out


def peak_rss_ig512(arch: str) -> dict[str, float]:
    code = f"""
import os, resource, time, numpy as np, keras
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
from saliency_desktop.engine import explain
from saliency_desktop.engine.models import from_keras
m = from_keras(keras.applications.{arch}(weights=None), preprocessing='unit')
img = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
t = time.perf_counter()
explain(m, img, methods=['integrated_gradients'], n_steps=512)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, time.perf_counter() - t,
      m.batch_size)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    gb, seconds, batch = done.stdout.split()[-3:]
    return {"peak_rss_gb": float(gb), "seconds": float(seconds), "batch": int(batch)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--peers-python", help="python of a side venv with tf-keras-vis, alibi")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    from saliency_desktop.engine import load_model
    from saliency_desktop.engine.device import versions

    model = load_model("dog-breeds")
    image = str(resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png"))
    _, x = model.prepare(
        __import__("saliency_desktop.engine", fromlist=["load_image"]).load_image(image)[0]
    )
    lim = limits(model, x, args.repeats)
    ours = bench_methods(model, image, args.repeats)
    print(f"# dog-breeds (MobileNetV2 160x160), {model.device}, {versions()}")
    print(f"# medians of {args.repeats} runs after warm-up; ratios to limits measured in this run")
    print(f"limit: one compiled forward+backward        {lim['single'] * 1e3:8.1f} ms")
    print(f"limit: one compiled fwd+bwd over 50 points  {lim['batch50'] * 1e3:8.1f} ms")
    print(
        f"eager fwd+bwd (peer style, no tf.function)  {lim['eager_single'] * 1e3:8.1f} ms"
        f"  = {lim['eager_single'] / lim['single']:.2f}x the limit"
    )
    print(f"{'method':24s} {'ms':>8s} {'ratio':>7s} {'target':>7s}")
    figures = {"limits": lim, "ours": ours, "ratios": {}}
    for mid, seconds in ours.items():
        if mid == "integrated_gradients":
            ratio, target = seconds / lim["batch50"], TARGETS["ig"]
        elif mid == "all":
            # Guided Grad-CAM adds no pass: 5 single-pass limits + the IG batch limit
            ratio, target = seconds / (5 * lim["single"] + lim["batch50"]), TARGETS["all"]
        else:
            ratio, target = seconds / lim["single"], TARGETS["single"]
        figures["ratios"][mid] = ratio
        flag = "ok" if ratio <= target else "OVER"
        print(f"{mid:24s} {seconds * 1e3:8.1f} {ratio:7.2f} {target:7.2f}  {flag}")
    if args.peers_python:
        done = subprocess.run(
            [args.peers_python, str(HERE / "peers.py"), image], capture_output=True, text=True
        )
        print(done.stdout.rstrip() or done.stderr[-1500:])
        print(
            f"(ours, same input: gradcam {ours['gradcam'] * 1e3:.1f} ms, "
            f"integrated_gradients {ours['integrated_gradients'] * 1e3:.1f} ms)"
        )
    if not args.skip_memory:
        for arch in ("MobileNetV2", "ResNet50"):
            mem = peak_rss_ig512(arch)
            figures[f"ig512_{arch}"] = mem
            print(
                f"IG 512 steps, {arch} 224x224 (random weights): peak RSS "
                f"{mem['peak_rss_gb']:.2f} GB (target < 4), {mem['seconds']:.1f} s, "
                f"internal batch {mem['batch']}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
