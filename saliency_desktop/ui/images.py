"""Images in the app: entries, decoding off the GUI thread, samples, numpy <-> QImage."""

from __future__ import annotations

import importlib.util
import itertools
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage

from saliency_desktop.engine import is_image_name, load_image
from saliency_desktop.engine.types import ImageError

log = logging.getLogger(__name__)

THUMB = 96
_counter = itertools.count(1)


@dataclass
class ImageEntry:
    """One image of the session: from a file, or pasted (then `rgb` is set from the start)."""

    name: str
    path: str | None = None
    rgb: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None
    key: str = field(default_factory=lambda: f"img{next(_counter)}")


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of an (H, W, 3) uint8 array ((H, W, 4): with its alpha)."""
    n = 4 if rgb.shape[-1] == 4 else 3
    arr = np.ascontiguousarray(rgb[..., :n], dtype=np.uint8)
    h, w = arr.shape[:2]
    fmt = QImage.Format.Format_RGBA8888 if n == 4 else QImage.Format.Format_RGB888
    return QImage(arr.data, w, h, n * w, fmt).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """(H, W, 3) uint8 from any QImage (alpha composited on white, as the engine does)."""
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB888)
        flat.fill(Qt.GlobalColor.white)
        from PySide6.QtGui import QPainter

        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return np.ascontiguousarray(buf[:, : 3 * w].reshape(h, w, 3))


def thumbnail(rgb: np.ndarray, size: int = THUMB) -> QImage:
    image = rgb_to_qimage(rgb).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    if min(image.width(), image.height()) * 8 < size:
        # a sliver (a 10000x50 image is 96x1 here): the strip's smaller icon would scale it to
        # nothing (a null pixmap, QPainter warnings); centred on a clear square, it stays visible
        from PySide6.QtGui import QPainter

        square = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        square.fill(Qt.GlobalColor.transparent)
        painter = QPainter(square)
        painter.drawImage((size - image.width()) // 2, (size - image.height()) // 2, image)
        painter.end()
        image = square
    return image


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given (images or not: a bad one gets a message), folders as their images."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(str(c) for c in sorted(path.iterdir()) if c.is_file() and is_image_name(c))
        else:
            out.append(str(path))
    return out


def _package_dir(name: str) -> Path | None:
    """A package's folder found without importing it (skimage imports slowly)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def sample_images() -> list[tuple[str, str]]:
    """(menu label, path) of the bundled photos and of those in installed packages."""
    found: list[tuple[str, str]] = []
    bundled = resources.files("saliency_desktop.resources").joinpath("samples")
    for item in sorted(bundled.iterdir(), key=lambda i: i.name):  # see its SOURCES.md
        if item.is_file() and item.name.lower().endswith((".png", ".jpg")):
            found.append((f"{item.name} (bundled)", str(item)))
    skimage = _package_dir("skimage")
    if skimage is not None:
        for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"):
            path = skimage / "data" / name
            if path.is_file():
                found.append((f"{name} (scikit-image)", str(path)))
    mpl = _package_dir("matplotlib")
    if mpl is not None:
        path = mpl / "mpl-data" / "sample_data" / "grace_hopper.jpg"
        if path.is_file():
            found.append(("grace_hopper.jpg (Matplotlib)", str(path)))
    return found


class _Decode(QRunnable):
    """Decodes on a pool thread and emits the loader's signals (queued to the GUI thread)."""

    def __init__(self, key: str, path: str, owner: ImageLoader) -> None:
        super().__init__()
        self.key, self.path, self.owner = key, path, owner

    def run(self) -> None:
        try:
            rgb, notes = load_image(self.path)
            self.owner.loaded.emit(self.key, rgb, notes, thumbnail(rgb))
        except ImageError as exc:
            self.owner.failed.emit(self.key, str(exc))
        except Exception as exc:  # a decoder bug must not take the app down
            log.exception("decoding %s failed", self.path)
            self.owner.failed.emit(self.key, f"{Path(self.path).name}: cannot be read ({exc}).")


class ImageLoader(QObject):
    """Decodes image files in a small thread pool, so a drop never blocks the GUI thread."""

    loaded = Signal(str, object, object, object)  # key, rgb, notes, thumbnail QImage
    failed = Signal(str, str)  # key, message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)

    def load(self, key: str, path: str) -> None:
        self._pool.start(_Decode(key, path, self))

    def wait(self, msecs: int = 10000) -> bool:
        return self._pool.waitForDone(msecs)
