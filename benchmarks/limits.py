"""The limits bench_engine.py times our methods against, on the Keras backend in use, and the
pairing that times them: ours and a limit alternate, so drifting load hits both alike."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def limit_fns(model, x) -> dict[str, Callable[[], object]]:
    """The limits on the backend in use: one compiled forward+backward pass of the plain Keras
    model: TensorFlow `tf.function` + GradientTape, JAX `jax.jit(jax.grad)` over
    `stateless_call`, PyTorch eager autograd (its native way); and, on TensorFlow, the same
    pass run eagerly (how tf-keras-vis, alibi and PAIR saliency call a model).

    "single": one image from the host, its gradient back. "batch50": 50 points already on the
    device, their gradients summed there and one image back: IG-50's least work (no copy of the
    points either way), so an engine that builds the path on the device is held to it."""
    import keras
    import numpy as np

    backend = keras.backend.backend()
    one, fifty = x[None], np.repeat(x[None], 50, axis=0)
    single, summed, on_device = {"tensorflow": _tf_limit, "jax": _jax_limit,
                                 "torch": _torch_limit}[backend](model.keras_model)  # fmt: skip
    fifty = on_device(fifty)
    fns = {"single": lambda: single(one), "batch50": lambda: summed(fifty)}
    if backend == "tensorflow":
        fns["eager_single"] = _tf_eager(model.keras_model, one)
    return fns


def _tf_limit(km) -> tuple[Callable, Callable, Callable]:
    import tensorflow as tf

    def grad(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            s = tf.reduce_sum(km(batch, training=False)[:, 0])
        return tape.gradient(s, batch)

    xla = os.environ.get("SALIENCY_DESKTOP_TF_XLA") == "1"
    fwd_bwd = tf.function(grad, jit_compile=xla)
    summed = tf.function(lambda b: tf.reduce_sum(grad(b), axis=0), jit_compile=xla)
    return (lambda b: fwd_bwd(tf.constant(b)).numpy(), lambda b: summed(b).numpy(),
            tf.constant)  # fmt: skip


def _tf_eager(km, one) -> Callable:
    import tensorflow as tf

    def eager():
        batch = tf.constant(one)
        with tf.GradientTape() as tape:
            tape.watch(batch)
            s = tf.reduce_sum(km(batch, training=False)[:, 0])
        return tape.gradient(s, batch).numpy()

    return eager


def _jax_limit(km) -> tuple[Callable, Callable, Callable]:
    import jax
    import numpy as np

    def score(tv, ntv, batch):
        y, _ = km.stateless_call(tv, ntv, batch, training=False)
        return y[:, 0].sum()

    grad = jax.jit(jax.grad(score, argnums=2))
    summed = jax.jit(lambda tv, ntv, b: jax.grad(score, argnums=2)(tv, ntv, b).sum(0))
    tv = [v.value for v in km.trainable_variables]
    ntv = [v.value for v in km.non_trainable_variables]
    return (lambda b: np.asarray(grad(tv, ntv, b)), lambda b: np.asarray(summed(tv, ntv, b)),
            jax.device_put)  # fmt: skip


def _torch_limit(km) -> tuple[Callable, Callable, Callable]:
    import keras
    import torch

    def grad(batch):
        batch = batch.detach().requires_grad_(True)
        s = km(batch, training=False)[:, 0].sum()
        return torch.autograd.grad(s, batch)[0]

    def to_device(b):
        return keras.ops.convert_to_tensor(b)  # on Keras' device

    return (lambda b: grad(to_device(b)).detach().cpu().numpy(),
            lambda b: grad(b).sum(0).detach().cpu().numpy(), to_device)  # fmt: skip


def native_torch(name: str, x, repeats: int) -> str | None:
    """On the PyTorch backend, with torchvision at hand: Keras' forward+backward of the same
    architecture against torchvision's own eager pass (random weights, same input size), as a
    ratio (the issue's target: within 1.5x)."""
    import keras

    if keras.backend.backend() != "torch" or name not in ("MobileNetV2", "ResNet50"):
        return None
    try:
        import torch
        import torchvision
    except ImportError:
        return "torchvision not installed: no native comparison"
    import numpy as np

    build = {
        "MobileNetV2": torchvision.models.mobilenet_v2,
        "ResNet50": torchvision.models.resnet50,
    }
    device = "cuda" if torch.cuda.is_available() else "cpu"
    net = build[name]().eval().to(device)
    keras_fn = _torch_limit(keras.applications.__dict__[name](weights=None))[0]
    rows = []
    for n in (1, 50):
        xb = np.repeat(x[None], n, axis=0)
        t = torch.as_tensor(xb).permute(0, 3, 1, 2).contiguous().to(device)

        def eager(t=t):
            t = t.detach().requires_grad_(True)
            s = net(t)[:, 0].sum()
            return torch.autograd.grad(s, t)[0].cpu().numpy()

        r = paired(lambda xb=xb: keras_fn(xb), eager, repeats)
        ours, theirs = r["ours"] * 1e3, r["limit"] * 1e3
        rows.append(
            f"batch {n}: Keras {ours:.1f} ms, torchvision {theirs:.1f} ms, ratio {r['ratio']:.2f}"
        )
    return "PyTorch backend vs torchvision eager (same architecture, target <= 1.5): " + "; ".join(
        rows
    )


def paired(ours: Callable[[], object], limit: Callable[[], object], repeats: int) -> dict:
    """Alternate ours and the limit, so drifting load on a shared machine hits both alike;
    the ratio is the median of the per-pair ratios."""
    for _ in range(2):
        ours(), limit()
    ratios, ours_t, limit_t = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        limit()
        mid = time.perf_counter()
        ours()
        end = time.perf_counter()
        limit_t.append(mid - start)
        ours_t.append(end - mid)
        ratios.append((end - mid) / (mid - start))
    return {
        "ours": statistics.median(ours_t),
        "limit": statistics.median(limit_t),
        "ratio": statistics.median(ratios),
    }
