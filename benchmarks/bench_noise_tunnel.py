"""SmoothGrad with the noise drawn on the device against the host path it replaced, paired.

    python benchmarks/bench_noise_tunnel.py [--backend tensorflow|jax|torch]
        [--model dog-breeds|MobileNetV2|ResNet50] [--samples 50] [--of vanilla_gradients]
        [--repeats 7]

"device": today's noise tunnel (engine/noise.py: counter-based noise drawn inside the compiled
pass, which returns only each batch's sums). "host": the path before it, kept here only as this
benchmark's baseline: numpy draws each copy's noise (float64, `default_rng([seed, i])`), the
noisy batch goes to the device and every gradient comes back to be summed on the host. Both run
through the public `explain()` on the same model and photo, alternating (limits.py
`paired`); the ratio is the median of the per-pair ratios device / host (< 1: device faster).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def host_moments(ctx: Any, params: dict[str, Any], job: Any) -> tuple[Any, Any]:
    """The previous noise tunnel (gradient bases only): host noise, per-sample gradients."""
    import numpy as np

    from saliency_desktop.engine.batched import batched_gradients
    from saliency_desktop.engine.methods.integrated import make_baseline
    from saliency_desktop.engine.methods.noise_tunnel import RULES, TIMES_INPUT

    x, base, n = ctx.x, params["of"], params["nt_samples"]
    sigma = float(params["noise"]) * float(x.max() - x.min())
    black = make_baseline(ctx, "black").astype(np.float32)
    total = np.zeros(x.shape, np.float64)
    total_sq = np.zeros(x.shape, np.float64)
    noisy: dict[int, Any] = {}

    def make_batch(start: int, stop: int) -> Any:
        for i in range(start, stop):
            rng = np.random.default_rng([params["seed"], i])
            noisy[i] = x + (sigma * rng.standard_normal(x.shape)).astype(np.float32)
        return np.stack([noisy[i] for i in range(start, stop)])

    def consume(start: int, stop: int, points: Any, grads: Any) -> None:
        nonlocal total, total_sq
        for k in range(start, stop):
            a = grads[k - start].astype(np.float64)
            if base in TIMES_INPUT:
                a = (noisy[k] - black) * a
            del noisy[k]
            total += a
            total_sq += a * a

    batched_gradients(ctx, make_batch, n, job, "noise tunnel", consume, RULES.get(base))
    return total / n, total_sq / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default=None)
    parser.add_argument("--model", default="dog-breeds")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--of", default="vanilla_gradients")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from saliency_desktop.engine import backends

    backends.choose(args.backend)
    import numpy as np
    from bench_engine import load
    from limits import paired

    from saliency_desktop.engine import explain
    from saliency_desktop.engine.methods import noise_tunnel

    model, image = load(args.model)
    params = {"smoothgrad": {"nt_samples": args.samples, "of": args.of}}
    device_moments = noise_tunnel.noise_tunnel_moments

    def run(moments: Any) -> Any:
        noise_tunnel.noise_tunnel_moments = moments
        try:
            return explain(model, image, methods=["smoothgrad"], params=params)
        finally:
            noise_tunnel.noise_tunnel_moments = device_moments

    a, b = run(device_moments), run(host_moments)  # warm-up; and the two noises' maps
    corr = np.corrcoef(a.methods["smoothgrad"].map.ravel(), b.methods["smoothgrad"].map.ravel())
    r = paired(lambda: run(device_moments), lambda: run(host_moments), args.repeats)
    where = f"{backends.adapter().device_name()} ({backends.current()})"
    print(f"{where}; {args.model}; SmoothGrad-{args.samples} of {args.of}; "
          f"batch size {model.batch_size}")  # fmt: skip
    print(f"device noise {r['ours'] * 1e3:.0f} ms, host noise {r['limit'] * 1e3:.0f} ms, "
          f"ratio device/host {r['ratio']:.2f} (median of {args.repeats} pairs); "
          f"maps' correlation (different noise) {corr[0, 1]:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
