"""Export actions: the report and the raw arrays through the same functions as the command line
(`render.report.render_report`, `render.export.write_arrays`), the current view as a PNG at the
image's full resolution, and the clipboard. Files are written atomically; existing files are
replaced only after the user said so (the caller asks; these functions get `force`).

The work runs in a QThreadPool (matplotlib is used through its object API there, never pyplot),
so a 300 dpi report does not freeze the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from saliency_desktop.engine.types import Explanation
from saliency_desktop.render import maps

log = logging.getLogger(__name__)

REPORT_FORMATS = ("png", "pdf", "svg")


def report_paths(path_base: str | Path, formats: Sequence[str]) -> list[Path]:
    base = Path(path_base)
    return [base.with_name(f"{base.name}.{fmt}") for fmt in formats]


def array_paths(path_base: str | Path) -> list[Path]:
    base = Path(path_base)
    return [base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")]


def split_base(path: str | Path, suffixes: Sequence[str]) -> Path:
    """`photo_report.png` -> `photo_report` (a known suffix is dropped; others are kept)."""
    p = Path(path)
    return p.with_suffix("") if p.suffix.lower().lstrip(".") in suffixes else p


def render_kwargs(cmap: str | None, opacity: float) -> dict[str, Any]:
    """The renderer options the app's view corresponds to (as the CLI's --colormap etc.)."""
    return {"cmap": cmap, "signed_cmap": cmap, "opacity": float(opacity)}


def export_report(
    explanation: Explanation,
    path_base: str | Path,
    formats: Sequence[str] = ("png",),
    cmap: str | None = None,
    opacity: float = maps.DEFAULT_OPACITY,
    title: str | None = None,
    force: bool = False,
) -> list[Path]:
    """The report, exactly as `saliency-desktop explain` writes it for the same settings."""
    from saliency_desktop.render.panels import DEFAULT_DPI
    from saliency_desktop.render.report import render_report

    return render_report(
        explanation,
        path_base,
        tuple(formats),
        DEFAULT_DPI,
        force=force,
        title=title,
        **render_kwargs(cmap, opacity),
    )


def export_arrays(
    explanation: Explanation,
    path_base: str | Path,
    model_spec: str | None = None,
    image_path: str | None = None,
    force: bool = False,
    full_paths: bool = False,
) -> list[Path]:
    """The .npz and .json; the JSON has file names, not paths, unless `full_paths`."""
    from saliency_desktop.render.export import write_arrays

    extra = {"image": {"path": image_path}} if image_path else None
    return write_arrays(explanation, path_base, model_spec, extra, force, full_paths)


def view_rgb(explanation: Explanation, method: str, cmap: str | None, opacity: float) -> np.ndarray:
    """The single view as pixels at the image's resolution: `maps.overlay` of `method`."""
    if not method:
        return explanation.image
    from saliency_desktop.render.export import method_info

    info = method_info(method)
    signed = bool(info and info.signed)
    result = explanation.methods[method]
    scale = maps.scale_of(result.map, signed)  # as the report: the percentile of the raw map
    return maps.overlay(explanation.image, result.map, signed, cmap, opacity, scale=scale)


def export_view(
    explanation: Explanation,
    method: str,
    path: str | Path,
    cmap: str | None,
    opacity: float,
    force: bool = False,
) -> list[Path]:
    return write_png(view_rgb(explanation, method, cmap, opacity), path, force)


def write_png(rgb: np.ndarray, path: str | Path, force: bool = False) -> list[Path]:
    """An RGB picture (the single view's overlay, or the compare grid as shown) as a PNG."""
    from PIL import Image

    from saliency_desktop.render.export import atomic_file

    with atomic_file(path, "wb", force) as f:
        Image.fromarray(rgb).save(f, format="PNG")
    return [Path(path)]


def failure_message(exc: OSError, target: str = "") -> str:
    """One line for the user: what could not be written and why (no errno, no traceback)."""
    if isinstance(exc, FileExistsError) and not exc.strerror:
        return str(exc)  # OutputExistsError: its message names the file already
    where = target or exc.filename or "the file"
    return f"Cannot write {where}: {exc.strerror or exc}."


class _Task(QRunnable):
    """Runs `fn` on a pool thread and emits the owner's signals (queued to the GUI thread)."""

    def __init__(self, fn: Callable[[], list[Path]], owner: Exporter, target: str = "") -> None:
        super().__init__()
        self.fn, self.owner, self.target = fn, owner, target

    def run(self) -> None:
        try:
            self.owner.done.emit(self.fn())
        except OSError as exc:
            log.warning("export to %s failed", self.target or "?", exc_info=True)
            self.owner.failed.emit(failure_message(exc, self.target))
        except ValueError as exc:
            log.warning("export failed: %s", exc, exc_info=True)
            self.owner.failed.emit(str(exc))
        except Exception as exc:
            log.exception("export failed")
            self.owner.failed.emit(f"Unexpected error: {exc}. The details are in the log.")


class Exporter(QObject):
    """Runs export functions off the GUI thread, one at a time."""

    done = Signal(object)  # list[Path]
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def submit(self, fn: Callable[[], list[Path]], target: str = "") -> None:
        """Run `fn`; `target` (the files it writes) names them in a failure message."""
        self._pool.start(_Task(fn, self, target))

    def wait(self, msecs: int = 60000) -> bool:
        return self._pool.waitForDone(msecs)
