"""Which Keras 3 backend the engine runs on (TensorFlow, JAX or PyTorch), and its adapter.

Keras fixes its backend when it is first imported, from `KERAS_BACKEND`. `choose()` sets that
variable from (in order) its argument (the CLI's `--backend`), `SALIENCY_DESKTOP_BACKEND`, or
TensorFlow, and refuses plainly when the framework is not installed (naming the extra to
install) or when Keras was already imported with another backend.

The adapter (`adapter()`) gives each backend's answer to what Keras has no public API for:
the gradient of a scalar with respect to the inputs and to zero offsets added to intermediate
outputs, compilation of a pass, and the device in use. The passes themselves are `keras.ops`.

This package may import only numpy, `engine.types` and the standard library at module level;
each adapter module imports its own framework (TensorFlow, JAX or torch) and Keras inside
functions (tests/test_boundaries.py checks both).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from saliency_desktop.engine.types import EngineError

# The adapter's argument types (every `*_backend.py` module has the same functions):
# forward(x, offsets) -> (T, aux), the scalar T that `value_and_grad` differentiates with respect
# to x and to the zero offsets (one per shape in `Shapes`, batch dimension added) added to
# intermediate outputs; aux is whatever else the pass returns.
Forward = Callable[[Any, list[Any]], tuple[Any, Any]]
Shapes = Sequence[tuple[int, ...]]
# `compile(fn, specs, ...)`: a pass (tensors in, a tensor or a tuple of tensors out) and the
# (shape, dtype) of each of its arguments (None: any size)
Pass = Callable[..., Any]
Specs = Sequence[tuple[tuple[int | None, ...], str]]

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"
ENV = "SALIENCY_DESKTOP_BACKEND"
PRECISION_ENV = "SALIENCY_DESKTOP_PRECISION"  # "highest" (default) or "fast" (TF32 on GPUs)
_EXTRA = {"tensorflow": "saliency-desktop", "jax": "saliency-desktop[jax]",
          "torch": "saliency-desktop[torch]"}  # fmt: skip


def requested(name: str | None = None) -> str:
    """The backend asked for: `name`, else `SALIENCY_DESKTOP_BACKEND`, else TensorFlow."""
    chosen = (name or os.environ.get(ENV) or DEFAULT).strip().lower()
    chosen = {"tf": "tensorflow", "pytorch": "torch"}.get(chosen, chosen)
    if chosen not in BACKENDS:
        raise EngineError(f"Unknown backend {chosen!r}: choose one of {', '.join(BACKENDS)}.")
    return chosen


def choose(name: str | None = None) -> str:
    """Set `KERAS_BACKEND` for the requested backend before Keras is imported; return it."""
    chosen = requested(name)
    if importlib.util.find_spec(chosen) is None:
        raise EngineError(
            f"The {chosen} backend needs {chosen}, which is not installed: "
            f"pip install '{_EXTRA[chosen]}'."
        )
    keras = sys.modules.get("keras")
    if keras is not None:
        loaded = keras.backend.backend()
        if loaded != chosen:
            raise EngineError(
                f"Keras is already running on {loaded} in this process; the backend ({chosen}) "
                f"must be chosen before Keras is imported (start a new process)."
            )
        return chosen
    os.environ["KERAS_BACKEND"] = chosen
    return chosen


def switch(name: str) -> str:
    """Run Keras on `name` from now on, in this process (the app's Preferences).

    Before Keras is imported this is `choose()`. After, it is `keras.config.set_backend()`,
    which re-imports Keras: every Keras object made before (models, compiled passes) is unusable
    and must be made again (the app reloads its model from its file after a switch); the
    engine's own caches of Keras objects are dropped here. Returns the backend now in use.
    """
    chosen = requested(name)
    keras = sys.modules.get("keras")
    if keras is None or keras.backend.backend() == chosen:
        choose(chosen)
        os.environ[ENV] = chosen
        return chosen
    if importlib.util.find_spec(chosen) is None:
        choose(chosen)  # the one message naming the extra to install
    with warnings.catch_warnings():  # "set_backend is dangerous": the engine rebuilds all
        warnings.simplefilter("ignore")
        keras.config.set_backend(chosen)
    os.environ[ENV] = chosen
    _forget_keras_objects()
    return current()


_CACHED = (("device", "configure"), ("keras_compat", "probe"))


def _forget_keras_objects() -> None:
    """Clear the engine's caches that hold Keras objects or answers (only modules already
    loaded can hold any; read from sys.modules, so this package imports none of them)."""
    adapter.cache_clear()
    for module, function in _CACHED:
        loaded = sys.modules.get(f"saliency_desktop.engine.{module}")
        if loaded is not None:
            getattr(loaded, function).cache_clear()
    dataset = sys.modules.get("saliency_desktop.engine.dataset")
    if dataset is not None:
        dataset.forget_predictions()


def use_env() -> None:
    """`SALIENCY_DESKTOP_BACKEND` for scripts and the API: set `KERAS_BACKEND` from it when
    the engine is imported before Keras (a mismatch is reported by `adapter()`)."""
    if os.environ.get(ENV) and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = requested()


def current() -> str:
    """The backend Keras runs on in this process (imports Keras)."""
    import keras

    return str(keras.backend.backend())


def fast_matmul() -> bool:
    """True when TF32 matmuls are allowed on GPUs (`SALIENCY_DESKTOP_PRECISION=fast`)."""
    return os.environ.get(PRECISION_ENV, "highest").strip().lower() == "fast"


@cache
def adapter() -> Any:
    """The adapter module of the current backend (`backends/tensorflow.py`, ...)."""
    name = current()
    if os.environ.get(ENV) and requested() != name:
        raise EngineError(
            f"{ENV} asks for {requested()}, but Keras was imported on {name} first: set it "
            "before anything imports Keras (or call backends.choose() first)."
        )
    module = importlib.import_module(f"saliency_desktop.engine.backends.{name}_backend")
    module.configure(fast_matmul())
    return module


def precision_name() -> str:
    """How GPU matmuls run: "highest" (float32, the default) or "fast" (TF32 allowed)."""
    return "fast" if fast_matmul() else "highest"
