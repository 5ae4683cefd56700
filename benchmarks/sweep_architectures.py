"""Every method on every keras.applications architecture (random weights): what ran, what was
refused and why.

    python benchmarks/sweep_architectures.py [--size 128] [--steps 8] [--only ConvNeXtTiny,...]

Each architecture is built with `weights=None` at size x size (smaller than 224 to keep the sweep
cheap on a CPU: the graph, and so what the engine decides, does not depend on the size), plus the
fine-tuning patterns users build (augmentation layers and a nested base model before a binary
head). For each it prints the default CAM layer, the guided/deconv rule's census (re-routed ReLUs,
gates left plain, other activations), each method's time and whether its map is finite and not
all zero, and every method the model cannot run, with the engine's reason. Times are those of
`explain()` on the CPU or GPU at hand; the guided and deconv times include their first trace.
"""

from __future__ import annotations

import argparse
import os
import time
import traceback
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ARCHITECTURES = (
    "ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "InceptionResNetV2",
    "InceptionV3", "MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large",
    "NASNetMobile", "DenseNet169", "ResNet101", "ResNet50", "ResNet50V2", "ResNet101V2", "VGG16",
    "VGG19", "Xception",
)  # fmt: skip
MIN_SIZE = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}


def finetune(binary: bool) -> Callable[[int], Any]:
    """The Keras transfer-learning tutorial's model: augmentation, a MobileNetV2 base (nested),
    pooling, dropout and a new head (one logit for a binary task, else 5 softmax classes)."""

    def build(size: int) -> Any:
        import keras

        inp = keras.Input((size, size, 3))
        augment = keras.Sequential(
            [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.2)],
            name="augmentation",
        )
        base = keras.applications.MobileNetV2(
            input_shape=(size, size, 3), include_top=False, weights=None
        )
        x = keras.layers.GlobalAveragePooling2D()(base(augment(inp)))
        x = keras.layers.Dropout(0.2)(x)
        head = keras.layers.Dense(1) if binary else keras.layers.Dense(5, activation="softmax")
        return keras.Model(inp, head(x), name="finetune_" + ("binary" if binary else "5way"))

    return build


def application(name: str) -> Callable[[int], Any]:
    def build(size: int) -> Any:
        import keras

        side = max(size, MIN_SIZE.get(name, 32))
        return getattr(keras.applications, name)(weights=None, input_shape=(side, side, 3))

    return build


def sweep_one(name: str, build: Callable[[int], Any], size: int, steps: int) -> list[str]:
    import keras
    import numpy as np

    from saliency_desktop.engine import explain, get_method, method_ids
    from saliency_desktop.engine.models import from_keras

    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    model = from_keras(build(size), preprocessing="unit", name=name)
    built = time.perf_counter() - start
    lines = [f"## {name}: input {model.info.input_size}, {model.n_classes} classes, "
             f"final {model.info.final_activation}, built in {built:.1f} s"]  # fmt: skip
    c = model.activations
    lines.append(f"  CAM layer (default): {model.info.default_layer}")
    lines.append(f"  guided/deconv census: {len(c.rerouted)} ReLU re-routed, gates left plain "
                 f"{c.gate_kinds or '-'}, other activations {c.others or '-'}")  # fmt: skip
    h, w = model.info.input_size
    image = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    # warm-up: the plain pass (with the CAM layer) is traced out of the times; the guided and
    # deconv times include their own first trace
    explain(model, image, methods=["gradcam"])
    try:
        e = explain(model, image, methods="all", n_steps=steps)
    except Exception as exc:  # noqa: BLE001 - a sweep reports every failure and goes on
        lines.append(f"  FAILED explain(all): {type(exc).__name__}: {exc}")
        lines.append("  " + traceback.format_exc().strip().splitlines()[-1])
        return lines
    for mid in method_ids():
        label = get_method(mid).info.label
        if mid in e.skipped:
            lines.append(f"  refused  {label}: {e.skipped[mid]}")
            continue
        r = e.methods[mid]
        ok = bool(np.all(np.isfinite(r.map))) and bool(np.any(r.map != 0))
        extra = ""
        if "convergence_delta" in r.extras:
            span = r.extras["score"] - r.extras["baseline_score"]
            extra = f", delta {r.extras['convergence_delta']:.3g} of S(x)-S(x') {span:.3g}"
        if "note" in r.extras:
            extra += f"; note: {r.extras['note']}"
        lines.append(f"  ran      {label}: {r.seconds:.2f} s, "
                     f"{'ok' if ok else 'ZERO OR NOT FINITE'}{extra}")  # fmt: skip
    lines.append(f"  IG batch: {model.batch_size} (measured: {model.batch_measured})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8, help="IG steps")
    parser.add_argument("--only", default="", help="comma-separated architecture names")
    args = parser.parse_args()
    models: dict[str, Callable[[int], Any]] = {n: application(n) for n in ARCHITECTURES}
    models["finetune_binary"] = finetune(True)
    models["finetune_5way"] = finetune(False)
    only = [n for n in args.only.split(",") if n]
    from saliency_desktop.engine.device import versions

    print(f"# sweep: size {args.size}, IG {args.steps} steps, {versions()}")
    for name, build in models.items():
        if only and name not in only:
            continue
        try:
            lines = sweep_one(name, build, args.size, args.steps)
        except Exception as exc:  # noqa: BLE001
            lines = [f"## {name}: FAILED to build or load: {type(exc).__name__}: {exc}"]
        print("\n".join(lines), flush=True)
        import keras

        keras.backend.clear_session()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
