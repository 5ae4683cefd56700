"""Engine speed and memory, as ratios to the compiled limit measured in the same run.

    python benchmarks/bench_engine.py [--backend tensorflow|jax|torch]
        [--model dog-breeds|MobileNetV2|ResNet50] [--methods ID,ID] [--repeats 7]
        [--skip-memory] [--compare-xla] [--peers-python PATH]

Limits (what no implementation can beat by much), measured here on the same inputs, on the
same backend (`--backend`, or SALIENCY_DESKTOP_BACKEND; MobileNetV2/ResNet50: random weights,
224x224):
* single: one compiled forward + backward pass of the plain Keras model, batch 1 (TensorFlow:
  tf.function; JAX: jax.jit(jax.grad) over stateless_call; PyTorch: eager autograd);
* batch50: the same over IG's 50 path points as one batch, the points on the device and their
  gradients summed there (limits.py).
Also printed: the first map after the model is loaded, in fresh processes, cold and after the
app's warm-up (first_map.py), and the peak RSS of this run.
`--compare-xla` (TensorFlow) times the methods with `jit_compile=True` against the plain
graph, each in its own process.
Each single-pass method is timed against one pass, IG at 50 fixed steps against the batch of 50,
and "all" is version 1's seven methods together (SEVEN) against the passes they need; the
perturbation methods are timed against their own limits (bench_perturbation.py), the sampling
and path methods by bench_path.py. On PyTorch with torchvision installed, Keras' pass is also
compared with torchvision's eager pass of the same architecture.
Each method is timed through the public `explain()` on the decoded image (resizing and all), after a
warm-up, alternating with its limit; the ratio is the median of `--repeats` pair ratios. An
eager reference (GradientTape without tf.function, the way tf-keras-vis, alibi and PAIR saliency
call the model) is printed alongside.
With `--peers-python` (a side venv with tf-keras-vis and alibi), their times on the same input are
printed too (see benchmarks/peers.py). Memory: IG with 512 steps on 224x224 ImageNet
architectures (random weights: MobileNetV2, ResNet50, ConvNeXtTiny, EfficientNetB0), peak RSS of
a fresh process, beside its RSS before IG (model loaded, one pass run) and the batch budget; the
growth over that baseline should stay under ~2x the budget (`--memory-only` runs just this).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from importlib import resources
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_perturbation import PERTURBATION, bench_perturbation  # noqa: E402
from first_map import report as first_map_report  # noqa: E402
from limits import limit_fns, native_torch, paired  # noqa: E402

TARGETS = {"single": 1.5, "ig": 1.2, "all": 1.2}
# "all": the seven methods of version 1, timed together against the passes they need (the
# methods added later have their own benchmarks: bench_path.py, bench_perturbation.py).
SEVEN = ("vanilla_gradients", "deconvnet", "guided_backprop", "gradcam", "gradcam_plus_plus",
         "guided_gradcam", "integrated_gradients")  # fmt: skip
# IG is timed at 50 fixed steps (its limit is one pass over 50 points); the default adaptive
# rule (about 6x that on the dog photo) is a quality setting, not a speed one.
IG50 = {"integrated_gradients": {"n_steps": 50}}
# sampling and path methods: many passes each, timed by bench_path.py against their own limits
SAMPLED = ("smoothgrad", "smoothgrad_squared", "vargrad", "expected_gradients", "blur_ig",
           "guided_ig", "xrai")  # fmt: skip


MEMORY_ARCHS = ("MobileNetV2", "ResNet50", "ConvNeXtTiny", "EfficientNetB0")


def peak_rss_ig512(arch: str, steps: int = 512) -> dict[str, float]:
    code = f"""
import os, resource, time, numpy as np, keras
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
from saliency_desktop.engine import explain
from saliency_desktop.engine.device import batch_memory_bytes
from saliency_desktop.engine.models import from_keras
m = from_keras(keras.applications.{arch}(weights=None), preprocessing='unit')
img = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
explain(m, img, methods=['vanilla_gradients'])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
t = time.perf_counter()
explain(m, img, methods=['integrated_gradients'], n_steps={steps})
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, time.perf_counter() - t,
      m.batch_size, before, batch_memory_bytes() / 2**30)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    gb, seconds, batch, before, budget = done.stdout.split()[-5:]
    return {
        "peak_rss_gb": float(gb),
        "seconds": float(seconds),
        "batch": int(batch),
        "rss_before_ig_gb": float(before),
        "budget_gb": float(budget),
    }


def memory_check(steps: int, figures: dict, archs: tuple[str, ...] = MEMORY_ARCHS) -> None:
    for arch in archs:
        mem = peak_rss_ig512(arch, steps)
        figures[f"ig{steps}_{arch}"] = mem
        growth = mem["peak_rss_gb"] - mem["rss_before_ig_gb"]
        flag = "ok" if growth < 2 * mem["budget_gb"] else "OVER"
        print(
            f"IG {steps} steps, {arch} 224x224 (random weights): peak RSS "
            f"{mem['peak_rss_gb']:.2f} GB (before IG {mem['rss_before_ig_gb']:.2f} GB, growth "
            f"{growth:.2f} GB, budget {mem['budget_gb']:.2f} GB: {flag}), {mem['seconds']:.1f} s, "
            f"internal batch {mem['batch']}",
            flush=True,
        )


def load(name: str):
    """(LoadedModel, image path): the dog-breeds model, or a Keras application (random weights)."""
    from saliency_desktop.engine import load_model
    from saliency_desktop.engine.models import from_keras

    image = str(resources.files("saliency_desktop.resources").joinpath("samples", "chelsea.png"))
    if name == "dog-breeds":
        return load_model("dog-breeds"), image
    from saliency_desktop.engine import device

    device.configure()  # as load_model does: JAX's compilation cache is set before the build
    import keras

    build = getattr(keras.applications, name)
    return from_keras(build(weights=None), preprocessing="unit", name=name), image


def compare_xla(args, rounds: int = 2) -> None:
    """The methods' times with XLA (`jit_compile=True`) and without, each in a fresh process,
    alternating off/on for `rounds` rounds (a shared machine's load drifts); then the median
    of each method's time per setting and their ratio (on / off: below 1, XLA is faster)."""
    times: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds):
        for xla in ("0", "1"):
            env = {**os.environ, "SALIENCY_DESKTOP_TF_XLA": xla}
            cmd = [sys.executable, __file__, "--backend", "tensorflow", "--model", args.model,
                   "--methods", args.methods or "vanilla_gradients,gradcam,integrated_gradients",
                   "--repeats", str(args.repeats), "--skip-memory", "--skip-perturbation",
                   "--skip-first-map"]  # fmt: skip
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            print(f"## XLA {'on (jit_compile=True)' if xla == '1' else 'off (plain graph)'}")
            print(done.stdout.rstrip() or done.stderr[-1500:], flush=True)
            for line in done.stdout.splitlines():
                parts = line.split()
                if len(parts) >= 4 and parts[0] != "#" and parts[1].replace(".", "", 1).isdigit():
                    times.setdefault(parts[0], {}).setdefault(xla, []).append(float(parts[1]))
    print(f"## median over {rounds} rounds: {'method':22s} {'off ms':>8s} {'on ms':>8s} on/off")
    for mid, by in times.items():
        off, on = statistics.median(by.get("0", [0])), statistics.median(by.get("1", [0]))
        print(f"{mid:22s} {off:8.1f} {on:8.1f} {on / off if off else float('nan'):6.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["tensorflow", "jax", "torch"])
    parser.add_argument(
        "--model",
        default="dog-breeds",
        help="dog-breeds, or a keras.applications name (MobileNetV2, ResNet50)",
    )
    parser.add_argument("--methods", help="comma-separated method ids (default: all gradient ones)")
    parser.add_argument("--skip-first-map", action="store_true")
    parser.add_argument("--compare-xla", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--memory-steps", type=int, default=512)
    parser.add_argument("--memory-archs", default=",".join(MEMORY_ARCHS))
    parser.add_argument("--peers-python", help="python of a side venv with tf-keras-vis, alibi")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--rise-masks", type=int, default=4000, help="RISE's N (default 4000)")
    parser.add_argument("--skip-perturbation", action="store_true")
    args = parser.parse_args()
    from saliency_desktop.engine import backends

    backends.choose(args.backend)
    if args.compare_xla:
        compare_xla(args)
        return 0

    from saliency_desktop.engine import explain, load_image, method_ids
    from saliency_desktop.engine.device import versions

    if args.memory_only:
        figures_only: dict = {}
        memory_check(args.memory_steps, figures_only, tuple(args.memory_archs.split(",")))
        if args.json:
            Path(args.json).write_text(json.dumps(figures_only, indent=2))
        return 0

    model, image = load(args.model)
    pixels = load_image(image)[0]  # ours gets the decoded image, as the app has it in memory
    _, x = model.prepare(pixels)

    lim = limit_fns(model, x)
    h, w = model.info.input_size
    print(f"# {args.model} {h}x{w}, {model.device}, {versions()}")
    figures: dict = {"methods": {}}
    if not args.skip_first_map:
        figures["first_map"] = first_map_report(args.model)
    print(f"# {args.repeats} pairs (limit, ours) after warm-up; ratio = median of pair ratios")
    native = native_torch(args.model, x, args.repeats)
    if native:
        print(native, flush=True)
    if "eager_single" in lim:
        eager = paired(lim["eager_single"], lim["single"], args.repeats)
        figures["eager"] = eager
        print(
            f"eager fwd+bwd (peer style, no tf.function): {eager['ours'] * 1e3:.1f} ms = "
            f"{eager['ratio']:.2f}x one compiled fwd+bwd ({eager['limit'] * 1e3:.1f} ms)"
        )
    print(f"{'method':22s} {'ours ms':>8s} {'limit ms':>9s} {'ratio':>6s} {'target':>7s}  limit")
    ours: dict[str, float] = {}

    def all_limits() -> None:  # Guided Grad-CAM adds no pass: 5 single passes + the IG batch
        for _ in range(5):
            lim["single"]()
        lim["batch50"]()

    # the gradient and CAM methods that share the first passes; perturbation methods below
    gradient_ids = [m for m in method_ids() if m not in PERTURBATION + SAMPLED]
    chosen = args.methods.split(",") if args.methods else [*gradient_ids, "all"]
    for mid in chosen:
        methods = list(SEVEN) if mid == "all" else [mid]
        if mid == "integrated_gradients":
            limit, name, target = lim["batch50"], "1 fwd+bwd over 50 points", TARGETS["ig"]
        elif mid == "all":
            limit, name, target = all_limits, "5 fwd+bwd + 1 over 50 points", TARGETS["all"]
        else:
            limit, name, target = lim["single"], "1 fwd+bwd", TARGETS["single"]
        slow = mid in ("integrated_gradients", "all")
        r = paired(
            lambda m=methods: explain(model, pixels, methods=m, params=IG50),
            limit,
            max(args.repeats // 2, 3) if slow else args.repeats,
        )
        figures["methods"][mid] = r
        ours[mid] = r["ours"]
        flag = "ok" if r["ratio"] <= target else "OVER"
        print(
            f"{mid:22s} {r['ours'] * 1e3:8.1f} {r['limit'] * 1e3:9.1f} {r['ratio']:6.2f} "
            f"{target:7.2f}  {name}  {flag}"
        )
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)
    figures["peak_rss_gb"] = peak
    print(f"peak RSS of this run: {peak:.2f} GB", flush=True)
    if not args.skip_perturbation:
        figures["perturbation"] = bench_perturbation(
            model, image, x, max(args.repeats // 2, 3), args.rise_masks, paired
        )
    if args.peers_python and {"gradcam", "integrated_gradients"} <= set(ours):
        done = subprocess.run(
            [args.peers_python, str(HERE / "peers.py"), image], capture_output=True, text=True
        )
        print(done.stdout.rstrip() or done.stderr[-1500:])
        print(
            f"(ours, same input: gradcam {ours['gradcam'] * 1e3:.1f} ms, "
            f"integrated_gradients {ours['integrated_gradients'] * 1e3:.1f} ms)"
        )
    if not args.skip_memory:
        memory_check(args.memory_steps, figures, tuple(args.memory_archs.split(",")))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
