"""PyTorch adapter: passes run eagerly (Keras' torch backend) and differentiated with
`torch.autograd.grad`; forward-only passes run under `torch.no_grad`. TF32 is off for matmuls
and cuDNN unless the "fast" setting allows it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

NAME = "torch"


def configure(fast: bool) -> None:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = fast
    torch.backends.cudnn.allow_tf32 = fast


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    from saliency_desktop.engine.device import cpu_name

    return cpu_name()


def is_gpu() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _numpy(out: Any) -> Any:
    import keras

    return keras.tree.map_structure(keras.ops.convert_to_numpy, out)


def compile(
    fn: Callable[..., Any],
    specs: Sequence[Any],
    variables: Any,
    grad: bool = True,
    batched: bool = False,
) -> Any:
    """`fn` called eagerly on tensors made from numpy arguments; returns numpy."""
    import keras
    import torch

    def call(*args: Any) -> Any:
        tensors = [keras.ops.convert_to_tensor(a) for a in args]
        with torch.enable_grad() if grad else torch.no_grad():
            return _numpy(fn(*tensors))

    return call


def value_and_grad(
    forward: Callable[[Any, list[Any]], tuple[Any, Any]],
    x: Any,
    offset_shapes: Sequence[tuple[int, ...]],
) -> tuple[Any, list[Any]]:
    """(aux, [dT/dx, dT/d offsets...]) where forward(x, offsets) -> (T, aux), offsets zero."""
    import torch

    x = x.detach().requires_grad_(True)
    offsets = [
        torch.zeros((x.shape[0], *s), dtype=x.dtype, device=x.device, requires_grad=True)
        for s in offset_shapes
    ]
    total, aux = forward(x, offsets)
    wrt = [x, *offsets]
    grads = torch.autograd.grad(total, wrt, allow_unused=True)
    return aux, [torch.zeros_like(t) if g is None else g for g, t in zip(grads, wrt, strict=True)]


def pad_to(n: int) -> int:
    """Path passes take any number of points (no padding)."""
    return n


def trace(compiled: Any, example: Sequence[Any]) -> None:
    compiled(*example)


def tracing_count(compiled: Any) -> int:
    return 0


def gpu_total_bytes() -> int | None:
    """The first CUDA device's memory."""
    import torch

    return int(torch.cuda.get_device_properties(0).total_memory)


def gpu_peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    import torch

    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    result = fn()
    return result, int(torch.cuda.max_memory_allocated() - before)
