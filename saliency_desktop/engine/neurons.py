"""Which neurons fired: a layer's activations for one image, ranked, and a strip of layers.

`layer_activations` gives a layer's top channels (by mean activation, or by their contribution
to the target: Grad-CAM's channel weight alpha_k (Selvaraju et al. 2017, eq. 1) times the
channel's mean activation), each channel's map upsampled to the model input, and a one-line
summary of the layer. `layer_summaries` gives that summary for every feature layer, from one
forward pass that captures all of them.

No second pass when the maps were just computed: the explainer's passes leave the CAM layer's
activations (and dS/dA) here (`remember`, called by `PassCache`), keyed by the model and a hash
of the preprocessed input; the all-layer capture is kept the same way. A forward pass capturing
every feature layer holds their outputs at once: for MobileNetV2 at 160x160 about 20 MB.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from saliency_desktop.engine.types import EngineError

RANKS = ("mean", "contribution")
_MAX_BYTES = 256 * 1024 * 1024  # cached activations per model, oldest dropped first


@dataclass(frozen=True)
class LayerSummary:
    """One layer in one line: fraction of units > 0, mean and max activation."""

    layer: str
    shape: tuple[int, int, int]  # (h, w, channels)
    active_fraction: float
    mean: float
    max: float


@dataclass(frozen=True)
class LayerActivations:
    """A layer's top channels for one image (plain arrays, no TensorFlow)."""

    layer: str
    shape: tuple[int, int, int]
    rank: str  # "mean" or "contribution"
    indices: np.ndarray  # (top,) channel indices, best first
    values: np.ndarray  # (top,) the ranking value of each
    means: np.ndarray  # (top,) each channel's mean activation
    maps: np.ndarray  # (top, H, W) float32: each channel upsampled to the model input
    summary: LayerSummary
    target: int | None = None  # the class of the contribution ranking


@dataclass
class _Entry:
    acts: np.ndarray  # (h, w, K)
    grads: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)  # (target, score)


_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary[Any, OrderedDict[tuple[str, str], _Entry]] = (
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
            entry = entries[key] = _Entry(np.asarray(acts, np.float32))
        entries.move_to_end(key)
        if grad_a is not None and target is not None:
            entry.grads[(int(target), score)] = np.asarray(grad_a, np.float32)
        if top1 is not None:
            _TOP1.setdefault(model, {})[key[0]] = int(top1)
        total = sum(
            e.acts.nbytes + sum(g.nbytes for g in e.grads.values()) for e in entries.values()
        )
        while total > _MAX_BYTES and len(entries) > 1:
            _, old = entries.popitem(last=False)
            total -= old.acts.nbytes + sum(g.nbytes for g in old.grads.values())


def _cached(model: Any, xkey: str, layer: str) -> _Entry | None:
    with _LOCK:
        return _CACHE.get(model, OrderedDict()).get((xkey, layer))


def _capture_all(model: Any, x: np.ndarray) -> None:
    """One forward pass capturing every feature layer; each is remembered."""
    layers = tuple(info.path for info in model.info.layers)
    if not layers:
        raise EngineError("This model has no 4-D feature-map layer to show.")
    with model.lock:
        out = [np.asarray(o) for o in model.runtime.capture(layers)(x[None])]
    for path, acts in zip(layers, out[1:], strict=True):
        remember(model, x, path, acts[0], top1=int(np.argmax(out[0][0])))


def _gradient(model: Any, x: np.ndarray, layer: str, target: int | None, score: str) -> tuple:
    """(dS/dA, target) for `layer`: from the cache, else one forward+backward pass."""
    xkey = input_key(x)
    t = target if target is not None else _TOP1.get(model, {}).get(xkey)
    entry = _cached(model, xkey, layer)
    if t is not None and entry is not None and (t, score) in entry.grads:
        return entry.grads[(t, score)], t
    fn = model.runtime.single(None, layer, score, True)
    with model.lock:
        out = [np.asarray(o) for o in fn(x[None], np.int32(-1 if t is None else t))]
    t = int(out[2])
    remember(model, x, layer, out[5][0], out[6][0], t, score, int(np.argmax(out[0][0])))
    return out[6][0].astype(np.float32), t


def summarize(layer: str, acts: np.ndarray) -> LayerSummary:
    h, w, k = acts.shape
    return LayerSummary(
        layer, (h, w, k), float((acts > 0).mean()), float(acts.mean()), float(acts.max())
    )


def _prepared(model: Any, image: Any) -> np.ndarray:
    from saliency_desktop.engine.images import load_image

    rgb, _ = load_image(image)
    return model.prepare(rgb)[1].astype(np.float32)


def layer_activations(
    model: Any,
    image: Any,
    layer: str | None = None,
    top: int = 16,
    rank: str = "mean",
    target: int | str | None = None,
    score: str = "logit",
) -> LayerActivations:
    """The `top` channels of `layer` (a path or a unique name; default the CAM layer).

    rank "mean": by mean activation (1/Z) sum_ij A^k_ij. rank "contribution": by Grad-CAM's
    weight times the mean activation, alpha_k (1/Z) sum_ij A^k_ij with alpha_k =
    (1/Z) sum_ij dS/dA^k_ij (Selvaraju et al. 2017, eq. 1): the channel's first-order share of
    the score S of `target` (top-1 when None). `image` is a path, PIL image or uint8 array.
    """
    from saliency_desktop.engine.explainer import resolve_layer
    from saliency_desktop.engine.methods.cam import resize_bilinear

    if rank not in RANKS:
        raise EngineError(f"rank must be one of {', '.join(RANKS)}, not {rank!r}.")
    if int(top) < 1:
        raise EngineError("top must be at least 1.")
    path = resolve_layer(model, layer)
    if path is None:
        raise EngineError("This model has no 4-D feature-map layer to show.")
    x = _prepared(model, image)
    t = None if target is None else model.class_index(target)
    entry = _cached(model, input_key(x), path)
    if entry is None and rank == "mean":
        _capture_all(model, x)
    if rank == "contribution":
        grads, t = _gradient(model, x, path, t, score)
    entry = _cached(model, input_key(x), path)
    assert entry is not None
    acts = entry.acts.astype(np.float64)
    means = acts.mean(axis=(0, 1))
    values = means if rank == "mean" else grads.astype(np.float64).mean(axis=(0, 1)) * means
    order = np.argsort(-values, kind="stable")[: int(top)]
    size = model.info.input_size
    maps = np.stack([resize_bilinear(entry.acts[..., k], size) for k in order])
    return LayerActivations(
        layer=path,
        shape=tuple(int(d) for d in acts.shape),  # type: ignore[arg-type]
        rank=rank,
        indices=order.astype(np.int64),
        values=values[order].astype(np.float32),
        means=means[order].astype(np.float32),
        maps=maps.astype(np.float32),
        summary=summarize(path, entry.acts),
        target=t if rank == "contribution" else None,
    )


def layer_summaries(model: Any, image: Any) -> list[LayerSummary]:
    """A summary of every feature layer, input to output (one forward pass, or none if cached)."""
    x = _prepared(model, image)
    xkey = input_key(x)
    paths = [info.path for info in model.info.layers]
    if any(_cached(model, xkey, p) is None for p in paths):
        _capture_all(model, x)
    out = []
    for p in paths:
        entry = _cached(model, xkey, p)
        assert entry is not None
        out.append(summarize(p, entry.acts))
    return out
