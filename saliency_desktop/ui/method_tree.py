"""The method tree, built from the engine registry's descriptions (`list_methods()`).

Families are top-level items (Gradients, CAM, Path) with tri-state checkboxes; each method is a
checkable item with its parameters as children (editors in the second column). The CAM layer
is one editor under the CAM family: every CAM method of a job uses the same layer.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from saliency_desktop.engine.types import MethodInfo, ModelInfo, ParamInfo
from saliency_desktop.ui.param_editors import LayerPicker, make_editor

FAMILIES = {"gradients": "Gradients", "cam": "CAM", "path": "Path"}
ROLE_ID = Qt.ItemDataRole.UserRole
LAYER_ROW = "CAM layer"
HEAVY = ("n_steps",)  # parameters whose cost grows with their value: an estimate beside them
CHECK = Qt.ItemDataRole.CheckStateRole


class _FamilyItem(QTreeWidgetItem):
    """A family row whose checkbox reflects its methods only (the CAM layer row has none, and
    Qt's own tri-state would then show no checkbox at all for CAM)."""

    def data(self, column: int, role: int) -> Any:  # type: ignore[override]
        if column == 0 and role == CHECK:
            states = {
                self.child(i).checkState(0)
                for i in range(self.childCount())
                if self.child(i).data(0, ROLE_ID)
            }
            if states:
                if len(states) > 1:
                    return Qt.CheckState.PartiallyChecked
                return states.pop()
        return super().data(column, role)


def method_tooltip(info: MethodInfo, reason: str = "") -> str:
    parts = [
        f"<b>{html.escape(info.label)}</b>",
        html.escape(info.summary),
        f"<i>{html.escape(info.paper)}</i>",
    ]
    if info.caveat:
        parts.append(f"\u26a0 {html.escape(info.caveat)}")
    if reason:
        parts.append(f"<b>Not available for this model:</b> {html.escape(reason)}.")
    return "<p>" + "<br>".join(parts) + "</p>"


class MethodTree(QTreeWidget):
    changed = Signal()

    def __init__(self, methods: list[MethodInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.infos = {m.id: m for m in methods}
        self.setColumnCount(2)
        self.setHeaderLabels(["Method", "Setting"])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setAllColumnsShowFocus(False)
        self.setIndentation(14)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._editors: dict[tuple[str, str], tuple[ParamInfo, QWidget]] = {}
        self._family_items: dict[str, QTreeWidgetItem] = {}
        self._estimates: dict[tuple[str, str], QLabel] = {}
        self._default_on: dict[str, bool] = {}
        self._unavailable: dict[str, dict[str, str]] = {}  # param -> choice -> reason
        self._building = True
        for info in methods:
            family = self._family(info.family)
            item = QTreeWidgetItem(family, [info.label])
            item.setData(0, ROLE_ID, info.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = info.default_on  # heavy methods wait to be asked for
            item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            item.setToolTip(0, method_tooltip(info))
            self._items[info.id] = item
            self._default_on[info.id] = info.default_on
            for p in info.params:
                self._add_param(item, info.id, p)
        cam = self._family_items.get("cam")
        self.layer_combo = QComboBox()
        # the row spans both columns: the combo gets the panel's width, long names show whole
        self.layer_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.layer_combo.setMinimumContentsLength(8)
        self.layer_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.layer_combo.setToolTip(
            "The feature-map layer of the CAM methods (default: the last one with spatial size > 1)"
        )
        self.layer_combo.currentIndexChanged.connect(self._emit)
        self.layer_combo.setEnabled(False)
        if cam is not None:
            row = QTreeWidgetItem()
            cam.insertChild(0, row)
            row.setFirstColumnSpanned(True)
            cell = QWidget()
            box = QHBoxLayout(cell)
            box.setContentsMargins(0, 0, 4, 0)
            box.addWidget(QLabel(LAYER_ROW))
            box.addWidget(self.layer_combo, 1)
            cell.setToolTip(self.layer_combo.toolTip())
            row.setSizeHint(0, cell.sizeHint())
            self.setItemWidget(row, 0, cell)
        self.expandAll()
        for item in self._items.values():
            self._show_settings(item)
        self._building = False
        self.itemChanged.connect(self._on_item_changed)

    def _family(self, family: str) -> QTreeWidgetItem:
        if family not in self._family_items:
            item = _FamilyItem(self, [FAMILIES.get(family, family.title())])
            item.setFlags(
                item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsAutoTristate
            )
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            item.setFirstColumnSpanned(False)
            self._family_items[family] = item
        return self._family_items[family]

    def _add_param(self, parent: QTreeWidgetItem, mid: str, p: ParamInfo) -> None:
        row = QTreeWidgetItem(parent, [p.label])
        row.setToolTip(0, p.help or p.label)
        editor = make_editor(p, self._emit)
        cell: QWidget = editor
        if p.name in HEAVY:  # the editor and its estimated time side by side
            cell = QWidget()
            box = QHBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.addWidget(editor, 1)
            estimate = QLabel("")
            estimate.setToolTip("Estimated time of this method on this model, from its last run")
            box.addWidget(estimate)
            self._estimates[(mid, p.name)] = estimate
        row.setSizeHint(1, cell.sizeHint())
        self.setItemWidget(row, 1, cell)
        self._editors[(mid, p.name)] = (p, editor)

    def _emit(self, *_args: Any) -> None:
        if not self._building:
            self.changed.emit()

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0 and item.data(0, ROLE_ID):
            self._show_settings(item)
            self._emit()

    @staticmethod
    def _show_settings(item: QTreeWidgetItem) -> None:
        """A method's settings are shown while it is chosen (its arrow still opens them)."""
        if item.childCount():
            item.setExpanded(item.checkState(0) == Qt.CheckState.Checked)

    # ---- selection ----
    def selected(self) -> list[str]:
        return [
            mid for mid, item in self._items.items() if item.checkState(0) == Qt.CheckState.Checked
        ]

    def set_selected(self, ids: list[str] | None) -> None:
        """Check exactly `ids` (None: the methods on by default)."""
        self._building = True
        for mid, item in self._items.items():
            on = self._default_on[mid] if ids is None else mid in ids
            item.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self._show_settings(item)
        self._building = False
        self.changed.emit()

    def item(self, mid: str) -> QTreeWidgetItem:
        return self._items[mid]

    # ---- parameters ----
    def params(self) -> dict[str, dict[str, Any]]:
        """Each method's parameters, by method id: `explain(params=...)`'s form."""
        out: dict[str, dict[str, Any]] = {}
        for (mid, name), (_p, editor) in self._editors.items():
            out.setdefault(mid, {})[name] = editor.value()  # type: ignore[attr-defined]
        return out

    def set_params(self, values: dict[str, Any]) -> None:
        """Set editors from `{method id: {name: value}}`. An old flat `{name: value}` (settings
        written before parameters were kept per method) sets that name in every method;
        unknown names and bad values keep the editor's value."""
        self._building = True
        try:
            for key, value in values.items():
                if isinstance(value, dict):
                    targets = [(key, name, v) for name, v in value.items()]
                else:
                    targets = [(mid, n, value) for (mid, n) in self._editors if n == key]
                for mid, name, v in targets:
                    self._set_one(mid, name, v)
        finally:
            self._building = False
        self.changed.emit()

    def _set_one(self, mid: str, name: str, value: Any) -> None:
        if (mid, name) not in self._editors:
            return
        if str(value) in self._unavailable.get(name, {}):
            return  # e.g. a stored "alibi" when alibi is not installed: keep native
        try:
            self._editors[(mid, name)][1].set_value(value)  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            pass  # a bad stored value keeps the default

    def editor(self, mid: str, name: str) -> QWidget:
        return self._editors[(mid, name)][1]

    def set_unavailable_choices(self, choices: dict[str, dict[str, str]]) -> None:
        """Disable choices that cannot run here (param -> choice -> reason, as a tooltip)."""
        self._unavailable = {k: dict(v) for k, v in choices.items()}
        for (_mid, name), (p, combo) in self._editors.items():
            reasons = self._unavailable.get(name)
            if not reasons or not isinstance(combo, QComboBox):
                continue
            model = combo.model()
            for i in range(combo.count()):
                reason = reasons.get(combo.itemText(i), "")
                if isinstance(model, QStandardItemModel) and model.item(i) is not None:
                    model.item(i).setEnabled(not reason)
                combo.setItemData(i, reason or None, Qt.ItemDataRole.ToolTipRole)
            if combo.currentText() in reasons:
                combo.setCurrentText(str(p.default))
            off = "; ".join(f"{c}: {r}" for c, r in reasons.items())
            combo.setToolTip(f"{p.help or p.label}\nNot available here \u2014 {off}")

    def heavy(self) -> list[tuple[str, str]]:
        """(method, parameter) of the editors that show an estimated time."""
        return list(self._estimates)

    def set_estimate(self, mid: str, name: str, seconds: float | None) -> None:
        """Show the estimated time beside a heavy parameter ("" when nothing is known)."""
        label = self._estimates.get((mid, name))
        if label is not None:
            label.setText("" if seconds is None else f"\u2248 {_duration(seconds)}")

    def layer(self) -> str | None:
        """The chosen CAM layer path, or None for the model's default layer."""
        if self.layer_combo.currentIndex() <= 0:
            return None
        return self.layer_combo.currentData()

    def _layer_tip(self, text: str) -> None:
        self.layer_combo.setItemData(
            self.layer_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole
        )

    # ---- model ----
    def set_model_info(self, info: ModelInfo) -> None:
        """Fill the layer list and disable the methods this model cannot run."""
        self._building = True
        self.layer_combo.clear()
        if info.default_layer:
            default = next((li for li in info.layers if li.path == info.default_layer), None)
            name = info.default_layer.rsplit("/", 1)[-1]
            self.layer_combo.addItem(f"{name} (default)", info.default_layer)
            if default is not None:
                self._layer_tip(f"{default.path} {_shape(default.shape)}")
        for layer in reversed(info.layers):
            self.layer_combo.addItem(layer.path.rsplit("/", 1)[-1], layer.path)
            self._layer_tip(f"{layer.path} {_shape(layer.shape)}")
        self.layer_combo.setEnabled(bool(info.layers))
        layers = [(li.path, _shape(li.shape)) for li in info.layers]
        for _p, editor in self._editors.values():
            if isinstance(editor, LayerPicker):
                editor.set_layers(layers)
        for mid, item in self._items.items():
            reason = info.unavailable.get(mid, "")
            item.setDisabled(bool(reason))
            item.setToolTip(0, method_tooltip(self.infos[mid], reason))
        self._building = False


def _duration(seconds: float) -> str:
    if seconds < 1.0:
        return "< 1 s"
    if seconds < 90.0:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def _shape(shape: tuple[int, int, int]) -> str:
    return f"{shape[0]}\u00d7{shape[1]}\u00d7{shape[2]}"
