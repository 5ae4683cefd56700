"""One editor per method parameter (`ParamInfo`), for the method tree's second column.

Every editor has `value()` and `set_value(v)` and calls `changed()` when the user changes it:
spin boxes (int, float, int_or_auto with "auto" below the minimum), a combo (choice), a layer
picker fed by the model's layers (several layers where the parameter takes a list, as
Layer-CAM's `layers`) and a folder editor with "Browse..." (Expected Gradients' references).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from saliency_desktop.engine import is_image_name
from saliency_desktop.engine.types import ParamInfo

Changed = Callable[[], None]
BAD = "QLineEdit { border: 1px solid #c0392b; }"


class Combo(QComboBox):
    def __init__(self, p: ParamInfo, changed: Changed) -> None:
        super().__init__()
        self.addItems(list(p.choices))
        self.setCurrentText(str(p.default))
        self.currentIndexChanged.connect(lambda _i: changed())
        self.choices = p.choices

    def value(self) -> str:
        return self.currentText()

    def set_value(self, v: Any) -> None:
        if str(v) in self.choices:
            self.setCurrentText(str(v))


class FloatSpin(QDoubleSpinBox):
    def __init__(self, p: ParamInfo, changed: Changed) -> None:
        super().__init__()
        self.setDecimals(3)
        low = p.minimum if p.minimum is not None else -1e9
        self.setRange(low, p.maximum if p.maximum is not None else 1e9)
        self.setValue(float(p.default))
        self.setKeyboardTracking(False)  # recompute on Enter or leaving the box, not per key
        self.valueChanged.connect(lambda _v: changed())

    def set_value(self, v: Any) -> None:
        self.setValue(float(v))


class IntSpin(QSpinBox):
    """int, or int_or_auto: the value below the minimum reads "auto"."""

    def __init__(self, p: ParamInfo, changed: Changed) -> None:
        super().__init__()
        self.auto = p.kind == "int_or_auto"
        low = int(p.minimum) if p.minimum is not None else 0
        high = int(p.maximum) if p.maximum is not None else 2**31 - 1
        self.setRange(low - 1 if self.auto else low, high)
        self.setKeyboardTracking(False)
        if self.auto:
            self.setSpecialValueText("auto")
        self.set_value(p.default)
        self.valueChanged.connect(lambda _v: changed())

    def value(self) -> Any:  # type: ignore[override]
        v = super().value()
        return "auto" if self.auto and v == self.minimum() else int(v)

    def set_value(self, v: Any) -> None:
        self.setValue(self.minimum() if v == "auto" else int(v))


class CheckedLine(QWidget):
    """A line edit with a button beside it. The text is checked (`problem`) whenever it is set
    or edited; a problem marks the line, with the reason in its tooltip (`message`)."""

    def __init__(self, p: ParamInfo, changed: Changed, placeholder: str, button: str) -> None:
        super().__init__()
        self.changed, self.help, self.message = changed, p.help or p.label, ""
        self.line = QLineEdit(str(p.default or ""))
        self.line.setPlaceholderText(placeholder)
        self.line.editingFinished.connect(self._edited)
        self.button = QToolButton()
        self.button.setText(button)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.line, 1)
        box.addWidget(self.button)

    def problem(self) -> str:
        return ""

    def set_value(self, v: Any) -> None:
        self.line.setText(str(v or ""))
        self._check()

    def _edited(self) -> None:
        self._check()
        self.changed()

    def _check(self) -> None:
        self.message = self.problem()
        self.line.setStyleSheet(BAD if self.message else "")
        self.line.setToolTip(f"{self.message}\n{self.help}" if self.message else self.help)


class LayerPicker(CheckedLine):
    """Layer names, comma-separated (paths or last names), checked against the model's layers;
    "Choose..." lists them (with their shapes) for picking one, or several when `multi`."""

    def __init__(self, p: ParamInfo, changed: Changed, multi: bool) -> None:
        super().__init__(p, changed, "(the CAM layer)", "Choose...")
        self.multi = multi
        self.layers: list[tuple[str, str]] = []  # (path, shape text), input to output
        self.button.setToolTip("Pick from the model's feature-map layers")
        self.button.clicked.connect(self.choose)
        self.button.setEnabled(False)

    def set_layers(self, layers: Sequence[tuple[str, str]]) -> None:
        self.layers = list(layers)
        self.button.setEnabled(bool(layers))
        self._check()

    def names(self) -> list[str]:
        return [n.strip() for n in self.line.text().split(",") if n.strip()]

    def _resolve(self, name: str) -> str | None:
        paths = [path for path, _ in self.layers]
        if name in paths:
            return name
        matches = [path for path in paths if path.rsplit("/", 1)[-1] == name]
        return matches[0] if len(matches) == 1 else None

    def value(self) -> str:
        """The valid layers, as paths ("" for the CAM layer): unknown names are left out."""
        if not self.layers:
            return ",".join(self.names())
        found = [self._resolve(n) for n in self.names()]
        return ",".join(dict.fromkeys(p for p in found if p))

    def problem(self) -> str:
        bad = [n for n in self.names() if self.layers and self._resolve(n) is None]
        if not self.multi and len(self.names()) > 1:
            return "One layer only."
        if bad:
            return f"Not a feature-map layer of this model (left out): {', '.join(bad)}"
        return ""

    def dialog(self) -> QDialog:
        """The picker: the model's layers, deepest first, the current ones selected."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Layers to fuse" if self.multi else "Layer")
        listing = QListWidget(dialog)
        listing.setObjectName("layers")
        mode = QAbstractItemView.SelectionMode
        listing.setSelectionMode(mode.MultiSelection if self.multi else mode.SingleSelection)
        chosen = set(self.value().split(","))
        for path, shape in reversed(self.layers):
            item = QListWidgetItem(f"{path.rsplit('/', 1)[-1]}   {shape}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            listing.addItem(item)
            item.setSelected(path in chosen)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        box = QVBoxLayout(dialog)
        hint = "Click each layer to fuse (deepest first)." if self.multi else "Pick a layer."
        box.addWidget(QLabel(hint + " None: the CAM layer of the tree."))
        box.addWidget(listing)
        box.addWidget(buttons)
        dialog.resize(360, 420)
        return dialog

    def choose(self) -> None:
        dialog = self.dialog()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.accept_dialog(dialog)
        dialog.deleteLater()

    def accept_dialog(self, dialog: QDialog) -> None:
        listing = dialog.findChild(QListWidget, "layers")
        picked = [listing.item(i) for i in range(listing.count()) if listing.item(i).isSelected()]
        self.line.setText(",".join(i.data(Qt.ItemDataRole.UserRole) for i in reversed(picked)))
        self._edited()


class FolderEditor(CheckedLine):
    """A folder path and "Browse..."; a folder with no readable image is marked at once (the
    tile of its method says the same, and the method is not run)."""

    def __init__(self, p: ParamInfo, changed: Changed) -> None:
        super().__init__(p, changed, "(none)", "Browse...")
        self.button.clicked.connect(self.browse)

    def value(self) -> str:
        return self.line.text().strip()

    def problem(self) -> str:
        return folder_problem(self.value())

    def browse(self) -> None:
        from saliency_desktop.ui import file_dialogs

        start = self.value() or str(Path.home())
        path = file_dialogs.existing_dir(self, "Reference images (a folder)", start)
        if path:
            self.line.setText(path)
            self._edited()


def folder_problem(folder: str) -> str:
    """Why `folder` cannot serve as a folder of images ("" when it can, or when empty)."""
    if not folder:
        return ""
    p = Path(folder).expanduser()
    try:
        return _folder_problem(str(p), p.stat().st_mtime_ns if p.is_dir() else 0)
    except OSError as exc:
        return f"Cannot read the folder {folder}: {exc.strerror or exc}."


@lru_cache(maxsize=16)
def _folder_problem(folder: str, _mtime: int) -> str:
    from PIL import Image, UnidentifiedImageError

    p = Path(folder)
    if not p.is_dir():
        return f"No such folder: {folder}."
    for child in sorted(p.iterdir()):
        if child.is_file() and is_image_name(child):
            try:
                with Image.open(child) as im:
                    im.verify()
                return ""
            except (OSError, UnidentifiedImageError, SyntaxError):
                continue
    return f"No readable image in the folder {folder}."


def make_editor(p: ParamInfo, changed: Changed) -> QWidget:
    """The editor of one parameter; `changed` is called on each change by the user."""
    editor: QWidget
    if p.kind == "choice":
        editor = Combo(p, changed)
    elif p.kind == "float":
        editor = FloatSpin(p, changed)
    elif p.kind == "folder":
        editor = FolderEditor(p, changed)
    elif p.kind == "layer":
        editor = LayerPicker(p, changed, multi=p.name.endswith("s"))  # "layers": a list
    else:
        editor = IntSpin(p, changed)
    editor.setToolTip(p.help or p.label)
    return editor
