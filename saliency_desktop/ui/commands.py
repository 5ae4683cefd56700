"""User commands that go through dialogs: open, paste, model files, export, About, the log."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from saliency_desktop.engine import IMAGE_SUFFIXES
from saliency_desktop.ui import dialogs, export, file_dialogs
from saliency_desktop.ui.images import qimage_to_rgb, rgb_to_qimage
from saliency_desktop.ui.log import current_log

if TYPE_CHECKING:
    from saliency_desktop.engine.types import Explanation
    from saliency_desktop.ui.engine_api import ModelRequest
    from saliency_desktop.ui.session import Session
    from saliency_desktop.ui.settings import Settings
    from saliency_desktop.ui.view_panel import ViewPanel

log = logging.getLogger(__name__)
IMAGE_FILTER = "Images ({});;All files (*)".format(" ".join(f"*{s}" for s in IMAGE_SUFFIXES))
CSV_FILTER = "CSV files (*.csv);;All files (*)"
REPORT_FILTERS = {
    "png": "PNG image (*.png)",
    "pdf": "PDF document (*.pdf)",
    "svg": "SVG drawing (*.svg)",
}
NO_CONFIRM = QFileDialog.Option.DontConfirmOverwrite  # we ask once for all files written


def text_paths(text: str) -> list[str]:
    """Existing files or folders named in `text`, one per line (plain paths or file:// URLs,
    quoted or not, as file managers and terminals copy them)."""
    found = []
    for line in text.splitlines():
        item = line.strip().strip("'\"")
        if item.startswith("file:"):
            item = QUrl(item).toLocalFile()
        item = os.path.expanduser(item)
        if item and os.path.exists(item):
            found.append(item)
    return found


def _names(paths: list[Path]) -> str:
    return " and ".join(str(p) for p in paths)


@dataclass(frozen=True)
class CommandParts:
    """What the commands need (the main window gives them; they never reach into it)."""

    parent: QWidget  # of the dialogs
    session: Session
    settings: Settings
    view: ViewPanel
    show_message: Callable[..., None]  # (text, milliseconds=0): the status bar
    open_paths: Callable[[list[str]], None]
    open_dataset: Callable[[str], None]
    load_model: Callable[[ModelRequest], None]


class Commands(QObject):
    def __init__(self, parts: CommandParts) -> None:
        super().__init__(parts.parent)
        self.parts = parts
        self.session, self.settings, self.view = parts.session, parts.settings, parts.view
        self.exporter = export.Exporter(self)
        self.exporter.done.connect(self._exported)
        self.exporter.failed.connect(self._export_failed)
        self._download: dialogs.DownloadDialog | None = None

    # ---- images ----
    def open_images(self) -> None:
        paths = file_dialogs.open_files(
            self.parts.parent, "Open images", self.settings.last_dir("images"), IMAGE_FILTER
        )
        if paths:
            self.parts.open_paths(paths)

    def open_folder(self) -> None:
        path = file_dialogs.existing_dir(
            self.parts.parent, "Open a folder of images", self.settings.last_dir("images")
        )
        if path:
            self.parts.open_paths([path])

    def open_dataset(self) -> None:
        """A folder whose subfolders are class names (or a flat folder: no accuracy)."""
        path = file_dialogs.existing_dir(
            self.parts.parent, "Open a data set (a folder of class folders)", self._dataset_dir()
        )
        if path:
            self.parts.open_dataset(path)

    def open_dataset_csv(self) -> None:
        """A CSV of `path,label` rows."""
        path = file_dialogs.open_file(
            self.parts.parent, "Open a data set (CSV: path,label)", self._dataset_dir(), CSV_FILTER
        )
        if path:
            self.parts.open_dataset(path)

    def _dataset_dir(self) -> str:
        st = self.settings
        return st.last_dir("datasets") or st.last_dir("images")

    def paste(self) -> None:
        """An image, image files (URLs), or paths / file URLs copied as text."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasUrls():
            paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if paths:
                self.parts.open_paths(paths)
                return
        image = QGuiApplication.clipboard().image()
        if not image.isNull():
            self.session.add_array(qimage_to_rgb(image))
            return
        text = mime.text() if mime is not None and mime.hasText() else ""
        paths = text_paths(text)
        if paths:
            self.parts.open_paths(paths)
        elif text.strip():
            first = text.strip().splitlines()[0][:80]
            self.parts.show_message(f"No such file or image on the clipboard: {first}", 8000)
        else:
            self.parts.show_message("The clipboard holds no image.", 5000)

    # ---- models ----
    def open_model_file(self) -> None:
        dialog = dialogs.OpenModelDialog(self.parts.parent, self.settings.last_dir("models"))
        accepted = dialog.exec() == dialogs.QDialog.DialogCode.Accepted
        request = dialog.request()
        dialog.deleteLater()
        if accepted:
            self.settings.set_last_dir("models", request.spec)
            self.parts.load_model(request)

    def download_progress(self, done: int, total: int | None) -> None:
        if self._download is None:
            label = self.session.loading_label or "the model"
            self._download = dialogs.DownloadDialog(label, self.parts.parent)
            self._download.canceled.connect(self.session.client.cancel_model_load)
            self._download.show()
        self._download.update_progress(int(done), None if total is None else int(total))

    def close_download(self) -> None:
        if self._download is not None:
            self._download.blockSignals(True)
            self._download.close()
            self._download.deleteLater()
            self._download = None

    # ---- export ----
    def _explanation_or_warn(self) -> Explanation | None:
        e = self.session.explanation()
        if e is None or not e.methods:
            dialogs.show_error(
                self.parts.parent,
                "Nothing to export",
                "Open an image and wait for at least one map first.",
            )
            return None
        return e

    def _default(self, suffix: str) -> str:
        entry = self.session.current_entry()
        stem = Path(entry.name).stem if entry else "saliency"
        return str(Path(self.settings.last_dir("export") or Path.home()) / f"{stem}{suffix}")

    def _confirm(self, paths: list[Path]) -> bool | None:
        """None: cancelled; else the `force` flag for the writer."""
        existing = [p for p in paths if p.exists()]
        if not existing:
            return False
        return True if dialogs.ask_overwrite(self.parts.parent, existing) else None

    def _ask_path(self, title: str, suffix: str, filters: str) -> tuple[str, str]:
        """The file to export to and the filter chosen ("" when cancelled or nothing to export)."""
        if self._explanation_or_warn() is None:
            return "", ""
        return file_dialogs.save_file(
            self.parts.parent, title, self._default(suffix), filters, options=NO_CONFIRM
        )

    def _start(self, paths: list[Path]) -> tuple[Explanation, bool] | None:
        """The explanation to export and the writer's `force` flag, or None (nothing to export,
        or the user keeps the files there); the folder is remembered."""
        e = self._explanation_or_warn()
        force = self._confirm(paths) if e is not None else None
        if e is None or force is None:
            return None
        self.settings.set_last_dir("export", str(paths[0].parent))
        return e, force

    def export_report(self) -> None:
        filters = ";;".join(REPORT_FILTERS.values())
        path, chosen = self._ask_path("Export report", "_report.png", filters)
        if not path:
            return
        fmt = Path(path).suffix.lower().lstrip(".")
        if fmt not in REPORT_FILTERS:
            fmt = next((k for k, v in REPORT_FILTERS.items() if v == chosen), "png")
        self.export_report_to(export.split_base(path, REPORT_FILTERS), (fmt,))

    def export_report_to(self, base: Path, formats: tuple[str, ...]) -> bool:
        """Export the report (asking before replacing files); False when nothing was started."""
        started = self._start(export.report_paths(base, formats))
        if started is None:
            return False
        e, force = started
        cmap, opacity = self.view.report_cmap(), self.view.opacity()
        title = self.session.current_entry().name if self.session.current_entry() else None
        self.parts.show_message("Writing the report...")
        self.exporter.submit(
            lambda: export.export_report(e, base, formats, cmap, opacity, title, force=force),
            _names(export.report_paths(base, formats)),
        )
        return True

    def export_view(self) -> None:
        path, _ = self._ask_path("Export view as PNG", "_view.png", "PNG image (*.png)")
        if path:
            self.export_view_to(Path(path).with_suffix(".png"))

    def export_view_to(self, path: Path) -> bool:
        started = self._start([path])
        if started is None:
            return False
        e, force = started
        if self.view.mode() == "compare":  # the grid on screen, as it is
            grid = qimage_to_rgb(self.view.compare.grab().toImage())
            self.exporter.submit(lambda: export.write_png(grid, path, force), str(path))
            return True
        method, cmap, opacity = (
            self.view.current_method(),
            self.view.report_cmap(),
            self.view.opacity(),
        )
        self.exporter.submit(
            lambda: export.export_view(e, method, path, cmap, opacity, force), str(path)
        )
        return True

    def export_arrays(self) -> None:
        filters = "NumPy arrays + JSON record (*.npz)"
        path, _ = self._ask_path("Export raw maps (npz + json)", ".npz", filters)
        if path:
            self.export_arrays_to(export.split_base(path, ("npz", "json")))

    def export_arrays_to(self, base: Path) -> bool:
        started = self._start(export.array_paths(base))
        if started is None:
            return False
        e, force = started
        model = self.session.model
        spec = model.request.spec if model else None
        entry = self.session.current_entry()
        image_path = entry.path if entry else None
        full = self.settings.full_paths
        self.exporter.submit(
            lambda: export.export_arrays(e, base, spec, image_path, force, full),
            _names(export.array_paths(base)),
        )
        return True

    def copy_view(self) -> None:
        e = self._explanation_or_warn()
        if e is None:
            return
        view = self.view
        if view.mode() == "compare":  # the grid on screen, as it is
            QGuiApplication.clipboard().setImage(view.compare.grab().toImage())
        else:
            rgb = export.view_rgb(e, view.current_method(), view.report_cmap(), view.opacity())
            QGuiApplication.clipboard().setImage(rgb_to_qimage(rgb))
        self.parts.show_message("The view is on the clipboard.", 4000)

    def _export_failed(self, message: str) -> None:
        self.parts.show_message("Export failed.", 8000)
        dialogs.show_error(self.parts.parent, "Export failed", message)

    def _exported(self, paths: list[Path]) -> None:
        names = ", ".join(str(p) for p in paths)
        log.info("exported %s", names)
        self.parts.show_message(f"Saved {names}", 8000)

    # ---- help ----
    def about(self) -> None:
        model = self.session.model
        text = dialogs.about_html(
            model.versions if model else {}, model, self.session.engine.catalogue(),
            self.session.backend,
        )  # fmt: skip
        dialog = dialogs.AboutDialog(text, self.parts.parent)
        dialog.exec()
        dialog.deleteLater()

    def show_log(self) -> None:
        dialog = dialogs.LogDialog(current_log(), self.parts.parent)
        dialog.exec()
        dialog.deleteLater()
