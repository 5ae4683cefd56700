"""Measuring what one batched pass costs in memory, to size the next batches from it.

Layer-output bytes are a poor guide on their own (ConvNeXt's `keras.ops` additions and layer
norms, XLA-free TensorFlow's temporaries): a batch sized from them peaked at three times the
budget. So IG's first batch is small and measured, and the rest are sized from that:

* on a GPU, the backend's own allocator statistics (TensorFlow's `get_memory_info` peak,
  JAX's `memory_stats`, PyTorch's `max_memory_allocated`);
* on a CPU (TensorFlow keeps no statistics there), the process's resident set size sampled
  every 2 ms from `/proc/self/statm` while the batch runs (Linux); elsewhere the growth of
  `ru_maxrss`, the process's peak.

The growth over the memory in use before the call, divided by the batch size, is charged to
each sample: one-time costs (the first call's graph optimisation) make it an over-estimate, so
the batches chosen err on the small side.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_STATM = "/proc/self/statm"


def _rss() -> int | None:
    try:
        with open(_STATM, "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _maxrss() -> int:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # bytes / KiB


def _on_gpu(fn: Callable[[], Any]) -> tuple[Any, int]:
    from saliency_desktop.engine import backends

    return backends.adapter().gpu_peak(fn)  # the backend's own allocator statistics


def _on_cpu(fn: Callable[[], Any]) -> tuple[Any, int]:
    before = _rss()
    if before is None:  # no /proc: the process peak, which grows only past its old maximum
        start = _maxrss()
        result = fn()
        return result, _maxrss() - start
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            rss = _rss()
            if rss is not None and rss > peak[0]:
                peak[0] = rss

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    end = _rss()
    return result, max(peak[0], end or 0) - before


def measure_growth(fn: Callable[[], Any], gpu: bool) -> tuple[Any, int]:
    """(fn(), bytes of memory growth while it ran, at its peak)."""
    return _on_gpu(fn) if gpu else _on_cpu(fn)


def batch_from_trial(growth: int, samples: int, budget: int, cap: int = 64) -> int:
    """Largest batch whose measured cost (growth per sample) fits `budget` (1 to `cap`)."""
    per_sample = max(growth, 1) / max(samples, 1)
    return int(min(max(budget // per_sample, 1), cap))
