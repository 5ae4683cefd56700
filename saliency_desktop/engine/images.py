"""Reading images the way a user expects to see them: oriented, 8-bit RGB, alpha on white.

Pillow does the decoding. Conversions (all documented in the README):
* EXIF orientation is applied (`ImageOps.exif_transpose`).
* 16-bit grayscale/RGB are scaled to 8 bits (value / 257); float images are clipped to [0, 1]
  when their maximum is <= 1, else to [0, 255].
* Alpha (RGBA, LA, palette transparency) is composited on white.
* CMYK and other modes are converted to RGB by Pillow.
* Animated images (GIF, APNG, WebP): the first frame, with a note saying so.
* Images over `MAX_PIXELS` are refused from their header, before any pixel is decoded.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine.types import ImageError

MAX_PIXELS = 100_000_000  # 100 megapixels: far above any photo a classifier needs
IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
    ".jfif",
)


_CACHE: OrderedDict[tuple[str, int, int], tuple[np.ndarray, tuple[str, ...]]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_ITEMS, _CACHE_MAX_BYTES = 4, 64 * 1024 * 1024


def _cached(key: tuple[str, int, int], load: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """Decoded files are kept (read-only) while unchanged on disk: re-explaining an image for
    another class or method does not decode it again."""
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    rgb, notes = load()
    rgb.flags.writeable = False
    if rgb.nbytes <= _CACHE_MAX_BYTES:
        with _CACHE_LOCK:
            _CACHE[key] = (rgb, notes)
            while len(_CACHE) > _CACHE_ITEMS:
                _CACHE.popitem(last=False)
    return rgb, notes


def is_image_name(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _to_rgb(img: Any) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        arr = arr / 257.0 if arr.max(initial=0) > 255 or mode.startswith("I;16") else arr
        gray = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        arr = arr * 255.0 if np.nanmax(arr, initial=0) <= 1.0 else arr
        gray = np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def load_image(source: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """(RGB uint8 array (H, W, 3), notes) from a path, a PIL image or an array.

    Arrays decoded from files are read-only (they may be shared through the cache)."""
    from PIL import Image, ImageOps

    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 2:
            arr = arr[..., None]
        if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4) or arr.size == 0:
            raise ImageError(f"An image array must be HxW, HxWx1, HxWx3 or HxWx4, not {arr.shape}.")
        if arr.dtype != np.uint8:
            raise ImageError(f"An image array must be uint8, not {arr.dtype}.")
        if arr.shape[-1] == 1:
            arr = np.repeat(arr, 3, axis=-1)
        if arr.shape[-1] == 4:
            return _to_rgb(Image.fromarray(arr, "RGBA")), ()
        return np.ascontiguousarray(arr), ()
    if isinstance(source, Image.Image):
        return _to_rgb(ImageOps.exif_transpose(source) or source), ()

    path = Path(source)
    name = path.name
    if path.is_dir():
        raise ImageError(f"{name}: is a folder, not an image.")
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file (was it moved or deleted?).") from None
    except OSError as exc:
        raise ImageError(f"{name}: cannot read the file ({exc.strerror}).") from None
    if stat.st_size == 0:
        raise ImageError(f"{name}: the file is empty.")
    key = (str(path.absolute()), stat.st_size, stat.st_mtime_ns)
    return _cached(key, lambda: _decode(path, name))


def _decode(path: Path, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    notes: list[str] = []
    try:
        with warnings.catch_warnings():  # our own limit (below) replaces Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageError(
                    f"{name}: {w}x{h} pixels is over the limit of {MAX_PIXELS:,} "
                    "(refused before decoding, as a possible decompression bomb)."
                )
            if getattr(img, "n_frames", 1) > 1:
                notes.append(f"{name}: animated image; the first of {img.n_frames} frames is used.")
                img.seek(0)
            img.load()
            oriented = ImageOps.exif_transpose(img) or img
            return _to_rgb(oriented), tuple(notes)
    except ImageError:
        raise
    except PermissionError:
        raise ImageError(f"{name}: permission denied.") from None
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file (was it moved or deleted?).") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file Pillow can read.") from None
    except Image.DecompressionBombError:  # Pillow's own check, for sizes far over ours
        raise ImageError(
            f"{name}: over the limit of {MAX_PIXELS:,} pixels (refused before decoding, as a "
            "possible decompression bomb)."
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{name}: the image is damaged or truncated ({exc}).") from None
