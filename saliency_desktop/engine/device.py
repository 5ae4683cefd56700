"""The device: memory growth on GPUs with TensorFlow (a desktop app must not take the whole
card); the JAX and PyTorch devices through their adapters (`engine/backends/`)."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from functools import cache
from importlib import metadata

log = logging.getLogger(__name__)

_DEFAULT_BUDGET_MB = {"cpu": 1536, "gpu": 2048}


@contextlib.contextmanager
def _native_stderr_to_log() -> Iterator[None]:
    """Send what TensorFlow's C++ side prints while it starts (absl/CUDA probing lines, which
    TF_CPP_MIN_LOG_LEVEL does not silence) to the log instead of the user's terminal."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (GUI launcher, pytest capture)
        yield
        return
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace").strip()
            if text:
                log.debug("TensorFlow start-up output:\n%s", text)


def cpu_name() -> str:
    cpu = platform.processor() or platform.machine()
    return f"CPU ({cpu}, {os.cpu_count()} cores)"


@cache
def configure() -> str:
    """Name the device in use; on TensorFlow, import it once and turn on GPU memory growth."""
    from saliency_desktop.engine import backends

    if backends.current() != "tensorflow":
        return str(backends.adapter().device_name())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _native_stderr_to_log():
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as exc:  # already initialised by someone else: keep going
            log.warning("could not set GPU memory growth: %s", exc)
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return cpu_name()


def is_gpu() -> bool:
    return configure().startswith("GPU")


def batch_memory_bytes() -> int:
    """Memory budget for one batch of a batched pass (env SALIENCY_DESKTOP_BATCH_MB overrides).

    On a GPU whose size the backend reports (JAX, PyTorch), an eighth of it when that is more
    than the default: a 2 GB budget on an 80 GB card split IG's 50 points into small batches."""
    env = os.environ.get("SALIENCY_DESKTOP_BATCH_MB")
    if env:
        return int(env) * 1024 * 1024
    if not is_gpu():
        return _DEFAULT_BUDGET_MB["cpu"] * 1024 * 1024
    from saliency_desktop.engine import backends

    total = backends.adapter().gpu_total_bytes() or 0
    return max(_DEFAULT_BUDGET_MB["gpu"] * 1024 * 1024, total // 8)


def versions() -> dict[str, str]:
    """Versions of this package, TensorFlow, Keras, numpy and Python (without importing TF), and
    the backend in use (see `backend_record`)."""
    from saliency_desktop import __version__

    out = {"saliency_desktop": __version__}
    for module, dists in (
        ("tensorflow", ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tf-nightly")),
        ("keras", ("keras",)),
        ("numpy", ("numpy",)),
    ):
        loaded = sys.modules.get(module)
        version = getattr(loaded, "__version__", None) if loaded is not None else None
        for dist in dists if version is None else ():
            with contextlib.suppress(metadata.PackageNotFoundError):
                version = metadata.version(dist)
                break
        out[module] = str(version) if version else "not installed"
    out["python"] = platform.python_version()
    out.update(backend_record())
    return out


def backend_record() -> dict[str, str]:
    """The Keras backend and GPU matmul precision (every JSON record carries them), and the
    version of the backend's framework when it is not TensorFlow."""
    from saliency_desktop.engine import backends

    keras = sys.modules.get("keras")
    if keras is not None:
        name = keras.backend.backend()
    else:  # what Keras will load: KERAS_BACKEND once chosen, else the request
        name = os.environ.get("KERAS_BACKEND") or backends.requested()
    record = {"backend": str(name), "matmul_precision": backends.precision_name()}
    if name != "tensorflow":
        loaded = sys.modules.get(name)
        version = getattr(loaded, "__version__", None)
        if version is None:
            with contextlib.suppress(metadata.PackageNotFoundError):
                version = metadata.version(name)
        record[name] = str(version or "not installed")
    return record
