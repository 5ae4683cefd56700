"""Layer activations (and dS/dA) kept per model and input, for the Neurons browser.

The explainer's passes leave the CAM layer's activations here (`remember`, called by
`PassCache`), keyed by the model and a hash of the preprocessed input, so that the browser
needs no second pass; `neurons.py` reads them back (`cached`) and adds the all-layer capture.
A module of its own so that the passes (which fill it) and the browser (which runs passes)
import it without an import circle. At most `MAX_BYTES` per model, oldest dropped first.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_BYTES = 256 * 1024 * 1024  # cached activations per model, oldest dropped first


@dataclass
class Entry:
    """One layer's activations for one input, and dS/dA by (target, score)."""

    acts: np.ndarray  # (h, w, K)
    grads: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return self.acts.nbytes + sum(g.nbytes for g in self.grads.values())


_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary[Any, OrderedDict[tuple[str, str], Entry]] = (
    weakref.WeakKeyDictionary()
)
_TOP1: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


_LAST_KEY: tuple[Any, str] | None = None  # (weak reference to a read-only input, its key)


def input_key(x: np.ndarray) -> str:
    """A hash of the preprocessed input (its bytes and shape).

    The key of the last read-only input (the model's prepared input of a decoded file, reused
    while the image is unchanged) is kept: hashing costs about a millisecond per call, as much as
    a compiled pass on a GPU."""
    global _LAST_KEY
    last = _LAST_KEY
    if last is not None and last[0]() is x:
        return last[1]
    h = hashlib.blake2b(np.ascontiguousarray(x, np.float32).tobytes(), digest_size=16)
    h.update(repr(x.shape).encode())
    key = h.hexdigest()
    if not x.flags.writeable:
        _LAST_KEY = (weakref.ref(x), key)
    return key


def remember(
    model: Any,
    x: np.ndarray,
    layer: str,
    acts: np.ndarray,
    grad_a: np.ndarray | None = None,
    target: int | None = None,
    score: str = "logit",
    top1: int | None = None,
) -> None:
    """Keep `layer`'s activations (and dS/dA for `target`) of input `x` for the browser."""
    key = (input_key(x), layer)
    with _LOCK:
        entries = _CACHE.setdefault(model, OrderedDict())
        entry = entries.get(key)
        if entry is None:
            entry = entries[key] = Entry(np.asarray(acts, np.float32))
        entries.move_to_end(key)
        if grad_a is not None and target is not None:
            entry.grads[(int(target), score)] = np.asarray(grad_a, np.float32)
        if top1 is not None:
            _TOP1.setdefault(model, {})[key[0]] = int(top1)
        total = sum(e.nbytes for e in entries.values())
        while total > MAX_BYTES and len(entries) > 1:
            _, old = entries.popitem(last=False)
            total -= old.nbytes


def cached(model: Any, xkey: str, layer: str) -> Entry | None:
    """The entry of input `xkey` (see `input_key`) at `layer`, or None."""
    with _LOCK:
        return _CACHE.get(model, OrderedDict()).get((xkey, layer))


def top1(model: Any, xkey: str) -> int | None:
    """The top-1 class remembered for input `xkey`, or None."""
    with _LOCK:
        return _TOP1.get(model, {}).get(xkey)
