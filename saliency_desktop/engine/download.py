"""Downloading ImageNet weights into the Keras cache: progress, cancel, hash check, atomic.

The file is written through `saliency_desktop.atomic.atomic_file` (a temporary name beside its
final place), hashed as it streams in, checked against the hash Keras publishes (md5 or sha256,
told apart by length), and only then renamed into place, so a broken or tampered download
leaves nothing in the cache. `SALIENCY_DESKTOP_WEIGHTS_URL` replaces the
base address (a mirror, or the tests' server on 127.0.0.1).
"""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from saliency_desktop.atomic import atomic_file
from saliency_desktop.engine.catalogue import CatalogueEntry, keras_cache_dir
from saliency_desktop.engine.types import CancelledError, ModelError

CHUNK = 1 << 16
DownloadProgress = Callable[[int, int | None], None]  # (bytes so far, total or None)


def weights_url(entry: CatalogueEntry) -> str:
    base = os.environ.get("SALIENCY_DESKTOP_WEIGHTS_URL") or entry.url
    return base.rstrip("/") + "/" + entry.file


def _offline_message(entry: CatalogueEntry, url: str, reason: str) -> str:
    return (
        f"Could not download the ImageNet weights for {entry.id} from {url} ({reason}). "
        f"Put {entry.file} into {keras_cache_dir()} by hand, or open a model file instead "
        "(--model PATH, or Model > Open model file...)."
    )


def fetch_weights(
    entry: CatalogueEntry,
    progress: DownloadProgress | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 30.0,
) -> Path:
    """The cached weights file for `entry`, downloading it first if needed."""
    cache = keras_cache_dir()
    final = cache / entry.file
    if final.is_file():
        return final
    url = weights_url(entry)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"Cannot create the Keras cache folder {cache}: {exc.strerror}.") from None
    expected = (entry.file_hash or "").lower()
    digest = hashlib.new("md5" if len(expected) == 32 else "sha256")  # as Keras publishes them
    with atomic_file(final, "wb", force=True, suffix=".part") as out:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelError(_offline_message(entry, url, str(reason))) from None
        with response:
            total_header = response.headers.get("Content-Length")
            total = int(total_header) if total_header else None
            done = 0
            while True:
                if cancel is not None and cancel.is_set():
                    raise CancelledError("Download cancelled.")
                try:
                    block = response.read(CHUNK)
                except (OSError, urllib.error.URLError) as exc:
                    raise ModelError(_offline_message(entry, url, f"broke off: {exc}")) from None
                if not block:
                    break
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress is not None:
                    progress(done, total)
        if total is not None and done != total:
            raise ModelError(
                _offline_message(entry, url, f"broke off after {done:,} of {total:,} bytes")
            )
        if expected and digest.hexdigest() != expected:
            raise ModelError(
                f"The downloaded weights for {entry.id} do not match their published hash; "
                "the file was discarded. Try again, or check your network or proxy."
            )
    return final
