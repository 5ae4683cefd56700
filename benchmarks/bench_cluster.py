"""`explain` locally vs `explain --ray local --actors N`, and the cost of a paper's table on GPUs.

    python benchmarks/bench_cluster.py [--images 8,24] [--repeats 3] [--actors 2]
                                       [--methods ...] [--paper] [--paper-images 1]

Throughput: the CLI as a user runs it (a subprocess each, the dog-breeds model, copies of the
sample photos), locally and on an embedded Ray with `--actors` actors, in pairs within one run.
Each mode runs on two folder sizes; images/s is the marginal rate (extra images / extra
seconds), so Python, TensorFlow and Ray start-up and the model loads drop out; the end-to-end
time of the larger folder is printed too. Medians over `--repeats` pairs.

`--paper`: the cost on paper of 50,000 images x every method x deletion and insertion on N GPUs.
Per image, every method and its deletion/insertion curves are timed here on the CPU, in units of
this CPU's fwd+bwd pass of the model (batch 1 and batch 50, timed in the same run); those units
are priced at the H100 times of issue 14's text (JAX, dog-breeds, fwd+bwd: 1.37 ms at batch 1,
3.18 ms at batch 50; not measured by this script: no GPU here). Batch-1 pricing is the high
estimate, batch-50 pricing the low one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
H100_MS = {1: 1.37, 50: 3.18}  # issue 14's text: fwd+bwd, dog-breeds 160x160, JAX on one H100
DATASET, GPU_COUNTS = 50_000, (1, 8, 64)


def make_images(folder: Path, n: int) -> None:
    from importlib import resources

    import numpy as np
    from PIL import Image

    samples = resources.files("saliency_desktop.resources").joinpath("samples")
    photos = [Image.open(str(p)).convert("RGB") for p in samples.iterdir() if p.suffix == ".jpg"]
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):
        arr = np.asarray(photos[i % len(photos)]).copy()
        arr[0, 0] = rng.integers(0, 256, 3)  # a distinct file each time
        Image.fromarray(arr).save(folder / f"{i:04d}.jpg", quality=90)


def run_cli(folder: Path, out: Path, methods: str, ray: list[str]) -> float:
    cmd = [sys.executable, "-m", "saliency_desktop", "explain", str(folder), "--out", str(out)]
    cmd += ["--model", "dog-breeds", "--methods", methods, "--dpi", "60", "--force", *ray]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def throughput(args: argparse.Namespace) -> None:
    small, large = args.images
    n_methods = len(args.methods.split(","))
    modes = {"local": [], f"--ray local --actors {args.actors}": ["--ray", "local", "--actors",
                                                                    str(args.actors)]}  # fmt: skip
    times: dict[str, dict[int, list[float]]] = {m: {small: [], large: []} for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n in (small, large):
            make_images(root / f"in{n}", n)
        for r in range(args.repeats):
            for mode, ray in modes.items():  # paired: both modes in each repeat
                for n in (small, large):
                    out = root / "out"
                    times[mode][n].append(run_cli(root / f"in{n}", out, args.methods, ray))
                    shutil.rmtree(out)
            print(f"repeat {r + 1}: " + ", ".join(f"{m} {t[large][-1]:.1f} s" for m, t in
                                                  times.items()), flush=True)  # fmt: skip
    print(f"\n{n_methods} methods, dog-breeds 160x160, {os.cpu_count()} CPU cores, medians:")
    print(f"mode | images/s | maps/s | end to end, {large} images")
    base = None
    for mode, t in times.items():
        marginal = [(large - small) / (b - a) for a, b in zip(t[small], t[large], strict=True)]
        rate = statistics.median(marginal)
        base = base or rate
        print(f"{mode} | {rate:.2f} | {rate * n_methods:.2f} | "
              f"{statistics.median(t[large]):.1f} s | x{rate / base:.2f}")  # fmt: skip


def cpu_pass_ms(model, batch: int, repeats: int = 5) -> float:
    import numpy as np
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(0).random((batch, *model.info.input_size, 3)), tf.float32)

    @tf.function
    def fwd_bwd(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(model.keras_model(x)[:, 0])
        return tape.gradient(y, x)

    fwd_bwd(x)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fwd_bwd(x).numpy()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def paper(args: argparse.Namespace) -> None:
    from importlib import resources

    from saliency_desktop.engine import evaluate, explain, load_model
    from saliency_desktop.engine.registry import method_ids

    model = load_model("dog-breeds")
    ids = [m for m in method_ids() if m not in model.info.unavailable]
    samples = resources.files("saliency_desktop.resources").joinpath("samples")
    photos = sorted(str(p) for p in samples.iterdir() if p.name.endswith(".jpg"))
    per_image = []
    for path in photos[: args.paper_images]:
        start = time.perf_counter()
        e = explain(model, path, methods=ids)
        maps_s = time.perf_counter() - start
        ev = evaluate(model, None, e, metrics=("deletion", "insertion"))
        per_image.append((maps_s, ev.seconds, {m: r.seconds for m, r in e.methods.items()}))
    maps_s = statistics.median(p[0] for p in per_image)
    metric_s = statistics.median(p[1] for p in per_image)
    cpu = {b: cpu_pass_ms(model, b) for b in (1, 50)}
    print(
        f"\nper image on this CPU, {len(ids)} methods: maps {maps_s:.1f} s, deletion+insertion "
        f"{metric_s:.1f} s; fwd+bwd pass {cpu[1]:.1f} ms (batch 1), {cpu[50]:.0f} ms (50)"
    )
    slowest = sorted(per_image[0][2].items(), key=lambda kv: -kv[1])[:5]
    print("slowest maps: " + ", ".join(f"{m} {s:.1f} s" for m, s in slowest))
    total_cpu_s = maps_s + metric_s
    print(
        f"\n{DATASET:,} images x {len(ids)} methods x deletion+insertion, priced at H100 "
        "passes (issue 14's text):"
    )
    print("GPUs | high (batch-1 pricing) | low (batch-50 pricing)")
    for n in GPU_COUNTS:
        hours = [DATASET * total_cpu_s * H100_MS[b] / cpu[b] / 3600 / n for b in (1, 50)]
        print(f"{n} | {hours[0]:.1f} h | {hours[1]:.2f} h")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=lambda s: [int(v) for v in s.split(",")], default=[8, 24])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--actors", type=int, default=2)
    methods = "vanilla_gradients,gradcam,gradient_x_input,smoothgrad"
    parser.add_argument("--methods", default=methods)
    parser.add_argument("--paper", action="store_true", help="only the cost on paper")
    parser.add_argument("--paper-images", type=int, default=1)
    args = parser.parse_args()
    if not args.paper:
        throughput(args)
    if args.paper_images > 0:
        paper(args)


if __name__ == "__main__":
    main()
