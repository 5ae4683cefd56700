"""The Session's images: opening files, folders and pasted pixels, choosing one, decoding it
in the loader's pool and showing it (a part of `Session`, kept apart to keep files small)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Slot

from saliency_desktop.ui.images import ImageEntry, expand_paths, thumbnail

if TYPE_CHECKING:
    from saliency_desktop.ui.images import ImageLoader

log = logging.getLogger(__name__)


class SessionImages:
    """Mixed into `Session` (a QObject with the signals these methods emit)."""

    entries: dict[str, ImageEntry]
    current_key: str | None
    target: int | None
    loader: ImageLoader
    status: Any
    image_added: Any
    thumbnail_ready: Any
    image_shown: Any
    image_error: Any
    results_changed: Any
    _pasted: int
    _decoding: set[str]

    def explain_now(self) -> None:  # the Session's
        raise NotImplementedError

    def shown(self) -> Any:  # the Session's
        raise NotImplementedError

    def add_paths(self, paths: list[str], select: bool = True) -> list[ImageEntry]:
        added = []
        for given in paths:
            found = expand_paths([given])
            if not found:  # a folder (even one named like an image) without image files
                name = given.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
                self.status.emit(f"{name}: a folder with no image files in it.")
            for path in found:
                entry = ImageEntry(name=path.replace("\\", "/").rsplit("/", 1)[-1], path=path)
                self.entries[entry.key] = entry
                added.append(entry)
                self.image_added.emit(entry)
                self._decode(entry)
        if added and select:
            self.select(added[0].key)
        return added

    def add_array(self, rgb: np.ndarray, name: str = "") -> ImageEntry:
        self._pasted += 1
        entry = ImageEntry(name=name or f"Pasted image {self._pasted}", rgb=rgb)
        self.entries[entry.key] = entry
        self.image_added.emit(entry)
        self.thumbnail_ready.emit(entry.key, thumbnail(rgb))
        self.select(entry.key)
        return entry

    def select(self, key: str, target: int | None = None) -> None:
        """Show image `key`, explained for `target` (None: its top class)."""
        entry = self.entries.get(key)
        if entry is None or key == self.current_key:
            return
        previous = self.entries.get(self.current_key or "")
        if previous is not None and previous.path is not None:
            previous.rgb = None  # decoded again when chosen: a big folder must not fill memory
        self.current_key = key
        self.target = target
        if entry.rgb is not None:
            self._show(entry)
        elif entry.error:
            self.image_error.emit(key, entry.error)
        elif entry.path is not None:
            self.status.emit(f"Opening {entry.name}...")
            self._decode(entry)

    def _decode(self, entry: ImageEntry) -> None:
        if entry.key not in self._decoding and entry.path is not None:
            self._decoding.add(entry.key)
            self.loader.load(entry.key, entry.path)

    def current_entry(self) -> ImageEntry | None:
        return self.entries.get(self.current_key or "")

    def _show(self, entry: ImageEntry) -> None:
        self.image_shown.emit(entry)
        self.results_changed.emit(self.shown())
        for note in entry.notes:
            self.status.emit(note)
        self.explain_now()

    @Slot(str, object, object, object)
    def _on_image_loaded(
        self, key: str, rgb: np.ndarray, notes: tuple[str, ...], thumb: Any
    ) -> None:
        self._decoding.discard(key)
        entry = self.entries.get(key)
        if entry is None:
            return
        entry.error = None
        entry.notes = tuple(notes)
        self.thumbnail_ready.emit(key, thumb)
        if key == self.current_key:
            if entry.rgb is None:
                entry.rgb = rgb
                self._show(entry)

    @Slot(str, str)
    def _on_image_failed(self, key: str, message: str) -> None:
        self._decoding.discard(key)
        entry = self.entries.get(key)
        if entry is None:
            return
        entry.error = message
        log.warning("image failed: %s", message)
        self.image_error.emit(key, message)
