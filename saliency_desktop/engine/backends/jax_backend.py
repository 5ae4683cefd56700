"""JAX adapter: passes compiled with `jax.jit` over the model's variables (passed in through
`keras.StatelessScope`, as `stateless_call` does) and differentiated with `jax.value_and_grad`.

Compiled programs are kept in JAX's persistent compilation cache under the user cache dir, so a
second start skips most of the compile. Matmul precision is "highest" (float32) unless the
"fast" setting allows TF32 on GPUs."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saliency_desktop.engine.backends import Forward, Pass, Shapes, Specs

import numpy as np

NAME = "jax"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "saliency-desktop" / "jax"


def configure(fast: bool) -> None:
    import jax

    jax.config.update("jax_default_matmul_precision", "default" if fast else "highest")
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(cache_dir()))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    except OSError:  # a read-only home: compile each start
        pass


def device_name() -> str:
    import jax

    dev = jax.devices()[0]
    if dev.platform == "cpu":
        from saliency_desktop.engine.device import cpu_name

        return cpu_name()
    return f"GPU: {getattr(dev, 'device_kind', dev.platform)}"


def is_gpu() -> bool:
    import jax

    return jax.devices()[0].platform == "gpu"


MIN_BUCKET = 8


def _bucket(n: int) -> int:
    """The padded batch size: the next power of two, at least 8 (a few programs serve every
    batch: a compile costs seconds, a few padded rows far less)."""
    return max(1 << max(n - 1, 0).bit_length(), MIN_BUCKET)


def pad_to(n: int) -> int:
    """The padded length of a path pass's points: a multiple of 8 up to 128, of 16 up to 256,
    and so on (at most 1/8 of the rows wasted, 16 programs per doubling; IG-50's 51 points run
    as 56, where the next power of two would waste a fifth)."""
    step = max(MIN_BUCKET, 1 << max(max(n - 1, 0).bit_length() - 4, 0))
    return -(-max(n, 1) // step) * step


def _padded(x: Any) -> Any:
    n = len(x)
    if _bucket(n) == n:
        return x
    return np.concatenate([x, np.zeros((_bucket(n) - n, *x.shape[1:]), x.dtype)])


def compile(fn: Pass, specs: Specs, variables: Any, grad: bool, batched: bool) -> Any:
    """`fn` jitted (one program per input shape); called with numpy, returns numpy.

    `batched`: every output is per sample of the first argument, so that argument is padded
    with zeros to the next power of two and the outputs cut back (JAX compiles a program per
    shape: IG's batches would otherwise compile one each)."""
    import jax
    import keras

    variables = list(variables)

    def run(values: list[Any], *args: Any) -> Any:
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))):
            return fn(*args)

    jitted = jax.jit(run)

    def call(*args: Any) -> Any:
        n = len(args[0]) if batched else 0
        if batched:
            args = (_padded(np.asarray(args[0])), *args[1:])
        out = jitted([v.value for v in variables], *args)
        return jax.tree.map(lambda o: np.asarray(o)[:n] if batched else np.asarray(o), out)

    call.jitted = jitted  # type: ignore[attr-defined]
    call.example = lambda *args: jax.eval_shape(run, [v.value for v in variables], *args)  # type: ignore[attr-defined]
    return call


def value_and_grad(forward: Forward, x: Any, offset_shapes: Shapes) -> tuple[Any, list[Any]]:
    """`jax.value_and_grad` of `forward` (a `Forward`): (aux, [dT/dx, dT/d offsets...])."""
    import jax
    import jax.numpy as jnp

    offsets = [jnp.zeros((x.shape[0], *s), x.dtype) for s in offset_shapes]
    (_, aux), (gx, goffsets) = jax.value_and_grad(forward, argnums=(0, 1), has_aux=True)(x, offsets)
    return aux, [gx, *goffsets]


def trace(compiled: Any, example: Sequence[Any]) -> None:
    compiled.example(*example)


def tracing_count(compiled: Any) -> int:
    jitted = getattr(compiled, "jitted", None)
    return int(jitted._cache_size()) if jitted is not None else 0


def gpu_total_bytes() -> int | None:
    """The memory JAX may use on the first device (its allocator's limit)."""
    import jax

    return (jax.devices()[0].memory_stats() or {}).get("bytes_limit")


def gpu_peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    import jax

    dev = jax.devices()[0]
    before = (dev.memory_stats() or {}).get("bytes_in_use", 0)
    result = fn()
    peak = (dev.memory_stats() or {}).get("peak_bytes_in_use", before)
    return result, int(max(peak - before, 0))
