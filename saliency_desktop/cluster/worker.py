"""The Ray actor: loads the model once, then computes one image at a time.

No Ray import here: the driver wraps `ImageWorker` with `ray.remote`, so this module is plain
Python that a test can also run in-process. A worker computes exactly what a local run computes
(`compute.run_work`); the driver writes the files.

The model reaches a worker as a catalogue id (each worker loads it as a local run would) or as
the bytes of a model file or folder (through Ray's object store: no shared file system); the
bytes are written into the worker's own temporary folder under the file's own name. Images
arrive as the file's bytes (read by the driver) or as a location the worker reads itself: a
path that exists on every node, or an `s3://`, `gs://`, ... URI read through fsspec.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saliency_desktop.compute import run_work


@dataclass(frozen=True)
class ModelSource:
    """What a worker needs to load the model: `spec` (catalogue id or file name) and options.

    `payload` is the model file's bytes, or a tar of a SavedModel/model folder (`is_folder`);
    None for a catalogue id. `labels` is the --labels file's (name, bytes)."""

    spec: str
    payload: bytes | None = None
    is_folder: bool = False
    preprocessing: str | None = None
    labels: tuple[str, bytes] | None = None
    trust_model: bool = False
    output_index: int | None = None


def pack_model(spec: str, args: Any) -> ModelSource:
    """The model as the driver sees it, packed for the workers (a catalogue id stays an id)."""
    from saliency_desktop.engine import CATALOGUE

    labels = None
    if args.labels is not None:
        labels = (Path(args.labels).name, Path(args.labels).read_bytes())
    options = dict(
        preprocessing=args.preprocessing,
        labels=labels,
        trust_model=args.trust_model,
        output_index=getattr(args, "output_index", None),
    )
    if spec in CATALOGUE:
        return ModelSource(spec, **options)
    path = Path(spec)
    if path.is_dir():
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(path, arcname=path.name)
        return ModelSource(path.name, buffer.getvalue(), True, **options)
    return ModelSource(path.name, path.read_bytes(), **options)


def read_uri(location: str) -> bytes:
    """The bytes at a path on this node, or at a URI that fsspec can open (s3://, gs://, ...)."""
    if "://" in location and not location.startswith("file://"):
        try:
            import fsspec
        except ImportError:
            raise OSError(f"{location}: reading URIs needs fsspec (pip install fsspec)") from None
        with fsspec.open(location, "rb") as f:
            return f.read()
    return Path(location.removeprefix("file://")).read_bytes()


class ImageWorker:
    """One model, loaded once; `run(kind, index, name, image, kwargs)` computes one image."""

    def __init__(self, source: ModelSource) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="saliency-worker-"))
        self.error: str | None = None
        try:
            self.model = self._load(source)
        except Exception as exc:  # reported by ready(), so the driver gives one clear line
            self.error = f"{type(exc).__name__}: {exc}"

    def _load(self, source: ModelSource) -> Any:
        from saliency_desktop.engine import load_model

        spec = source.spec
        if source.payload is not None:
            model_dir = self.folder / "model"
            model_dir.mkdir()
            if source.is_folder:
                with tarfile.open(fileobj=io.BytesIO(source.payload)) as tar:
                    tar.extractall(model_dir, filter="data")
            else:
                (model_dir / spec).write_bytes(source.payload)
            spec = str(model_dir / spec)
        labels = None
        if source.labels is not None:
            labels = self.folder / source.labels[0]
            labels.write_bytes(source.labels[1])
        return load_model(
            spec,
            preprocessing=source.preprocessing,
            labels=labels,
            trust_model=source.trust_model,
            output_index=source.output_index,
        )

    def ready(self) -> tuple[str | None, str]:
        """(the load error or None, the device this worker computes on)."""
        import socket

        device = "" if self.error else str(getattr(self.model, "device", ""))
        return self.error, f"{socket.gethostname()} {device}".strip()

    def run(
        self, kind: str, index: int, name: str, image: bytes | str, kwargs: dict[str, Any]
    ) -> tuple[bool, Any]:
        """(True, result) or (False, the exception): a bad image is a value, not a task error.

        `image` is the file's bytes, or a location to read here; it is put in a folder of its
        own under its own `name`, so that messages and notes read as in a local run."""
        folder = self.folder / str(index)
        folder.mkdir(exist_ok=True)
        try:
            path = folder / name
            path.write_bytes(_fetch(image, name) if isinstance(image, str) else image)
            return True, run_work(kind, self.model, path, kwargs)
        except Exception as exc:
            return False, _picklable(exc)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _fetch(location: str, name: str) -> bytes:
    """`read_uri`, its failure given as a local run gives an unreadable image."""
    from saliency_desktop.engine.types import ImageError

    try:
        return read_uri(location)
    except OSError as exc:
        raise ImageError(f"{name}: cannot read the file ({exc.strerror or exc}).") from None


def _picklable(exc: Exception) -> Exception:
    """The exception itself when it survives pickling (its type decides the message)."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
