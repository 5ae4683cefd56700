"""TensorFlow adapter: `tf.function` passes (traced once per signature) and `GradientTape`.

`SALIENCY_DESKTOP_TF_XLA=1` compiles the passes with XLA (`jit_compile=True`); the benchmark
measured it against the plain graph on CPU (README, "Backends")."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

NAME = "tensorflow"
Spec = tuple[tuple[int | None, ...], str]


def configure(fast: bool) -> None:
    """TF32 on Ampere+ GPUs only when `fast` (TensorFlow allows it by default)."""
    import tensorflow as tf

    tf.config.experimental.enable_tensor_float_32_execution(fast)


def device_name() -> str:
    from saliency_desktop.engine import device

    return device.configure()


def is_gpu() -> bool:
    return device_name().startswith("GPU")


def xla() -> bool:
    return os.environ.get("SALIENCY_DESKTOP_TF_XLA", "") == "1"


def compile(
    fn: Callable[..., Any],
    specs: Sequence[Spec],
    variables: Any,
    grad: bool = True,
    batched: bool = False,
) -> Any:
    """`fn` as a `tf.function` with a fixed signature (None: any size), traced once."""
    import tensorflow as tf

    signature = [tf.TensorSpec(shape, dtype) for shape, dtype in specs]
    compiled = tf.function(fn, input_signature=signature, autograph=False, jit_compile=xla())
    # One function per pass kind and layer, each traced exactly once (the signature is
    # fixed); TensorFlow counts traces per Python code object, so several such functions
    # would read as "retracing" in its warning. Nothing here can retrace.
    compiled._omit_frequent_tracing_warning = True
    return compiled


def value_and_grad(
    forward: Callable[[Any, list[Any]], tuple[Any, Any]],
    x: Any,
    offset_shapes: Sequence[tuple[int, ...]],
) -> tuple[Any, list[Any]]:
    """(aux, [dT/dx, dT/d offsets...]) where forward(x, offsets) -> (T, aux), offsets zero."""
    import tensorflow as tf

    batch = tf.shape(x)[0]
    offsets = [tf.zeros(tf.concat([[batch], list(s)], 0), x.dtype) for s in offset_shapes]
    with tf.GradientTape() as tape:
        tape.watch(x)
        tape.watch(offsets)
        total, aux = forward(x, offsets)
    grads = tape.gradient(total, [x, *offsets], unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return aux, list(grads)


def pad_to(n: int) -> int:
    """Path passes take any number of points (no padding)."""
    return n


def trace(compiled: Any, example: Sequence[Any]) -> None:
    """Trace now (its Python side effects, such as `head_cut`, are known afterwards)."""
    compiled.get_concrete_function()


def tracing_count(compiled: Any) -> int:
    return int(compiled.experimental_get_tracing_count())


def gpu_total_bytes() -> int | None:
    """TensorFlow does not say how much memory the card has (memory growth is on): None."""
    return None


def gpu_peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """(fn(), peak GPU memory growth in bytes) from TensorFlow's allocator statistics."""
    import tensorflow as tf

    tf.config.experimental.reset_memory_stats("GPU:0")
    before = tf.config.experimental.get_memory_info("GPU:0")["current"]
    result = fn()
    return result, int(tf.config.experimental.get_memory_info("GPU:0")["peak"] - before)
