"""The top-5 predictions; choosing a class explains the image for that class."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from saliency_desktop.engine.types import Explanation, Prediction
from saliency_desktop.render.labels import display_label

TOP = 5
UNSURE = 0.5  # below this top-1 probability, say what the model was trained on
ROLE_INDEX = Qt.ItemDataRole.UserRole
ROLE_PROB = Qt.ItemDataRole.UserRole + 1


class _BarDelegate(QStyledItemDelegate):
    """Draws the probability as a bar in the palette's highlight colour behind its number."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        prob = index.data(ROLE_PROB)
        if isinstance(prob, float):
            r = option.rect.adjusted(2, 3, -2, -3)  # type: ignore[attr-defined]
            painter.save()
            color = option.palette.highlight().color()  # type: ignore[attr-defined]
            color.setAlpha(110)
            painter.fillRect(
                QRect(r.left(), r.top(), round(r.width() * min(prob, 1.0)), r.height()), color
            )
            painter.restore()
        super().paint(painter, option, index)


class PredictionsPanel(QWidget):
    target_chosen = Signal(int)
    contrast_chosen = Signal(object)  # a class index to explain against, or None (issue 16)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Class", "Probability"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.tree.header().resizeSection(1, 110)
        self.tree.header().setStretchLastSection(False)
        self.tree.setItemDelegateForColumn(1, _BarDelegate(self.tree))
        self.tree.setToolTip("Click a class to see the maps for it")
        self.tree.itemClicked.connect(self._on_clicked)
        self.tree.itemActivated.connect(self._on_clicked)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.target_label = QLabel("No prediction yet.")
        self.target_label.setWordWrap(True)
        self.target_label.setMinimumHeight(4 * self.target_label.fontMetrics().lineSpacing())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.target_label)
        self._target: int | None = None
        self.domain = ""  # what the model knows, e.g. "19 dog breeds" (catalogue entry)

    def set_domain(self, domain: str) -> None:
        self.domain = domain

    def set_loading(self, label: str) -> None:
        """A model is loading: the old model's classes are gone until the new ones arrive."""
        self.tree.clear()
        self._target = None
        self.target_label.setText(f"Loading model {label}...")

    def domain_note(self, top_k: list[Prediction]) -> str:
        """Plain words when the model is unsure: what it was trained on ("" when it is sure)."""
        if not top_k or top_k[0].probability >= UNSURE:
            return ""
        knows = self.domain or "the classes it was trained on"
        return f"<br><b>Top-1 is below 50 %:</b> this model only knows {knows}."

    def set_explanation(self, explanation: Explanation | None) -> None:
        if explanation is None:
            self.tree.clear()
            self.target_label.setText("No prediction yet.")
            return
        self.set_predictions(explanation.top_k, explanation.target, explanation.score)
        if explanation.contrast_label is not None:
            vs = html.escape(explanation.contrast_label)
            self.target_label.setText(
                self.target_label.text().replace("</b>", f"</b> vs <b>{vs}</b>", 1)
            )

    def set_predictions(self, top_k: list[Prediction], target: int, score: str = "logit") -> None:
        """The top classes, the explained one in bold (the maps may still be coming)."""
        self.tree.clear()
        self._target = target
        target_label = next((p.label for p in top_k if p.index == target), f"class {target}")
        target_label = display_label(target_label)
        in_top = False
        for p in top_k[:TOP]:
            item = QTreeWidgetItem(self.tree, [display_label(p.label), f"{p.probability:.1%}"])
            item.setData(0, ROLE_INDEX, p.index)
            item.setData(1, ROLE_PROB, float(p.probability))
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(0, f"class {p.index}: {p.label}")
            if p.index == target:
                in_top = True
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
                item.setFont(1, font)
                item.setSelected(True)
        score = "logit" if score == "logit" else "probability"
        where = "" if in_top else " (not in the top 5)"
        self.target_label.setText(
            f"Explaining <b>{html.escape(target_label)}</b>{where} "
            f"(class {target}, score: {score}).{self.domain_note(top_k)}"
        )

    def _context_menu(self, pos: Any) -> None:
        """Right-click a class: explain the target against it (S_target - S_class), or alone."""
        from PySide6.QtWidgets import QMenu

        item = self.tree.itemAt(pos)
        index = item.data(0, ROLE_INDEX) if item is not None else None
        menu = QMenu(self)
        if isinstance(index, int) and index != self._target:
            menu.addAction(
                "Explain against this class", lambda: self.contrast_chosen.emit(index)
            ).setToolTip("Why the target and not this class: maps of the score difference")
        menu.addAction("Explain the target alone", lambda: self.contrast_chosen.emit(None))
        menu.popup(self.tree.viewport().mapToGlobal(pos))
        self.context_menu = menu  # kept for the tests

    def clear(self) -> None:
        self.set_explanation(None)

    def _on_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        index = item.data(0, ROLE_INDEX)
        if isinstance(index, int) and index != self._target:
            self._target = index
            self.target_chosen.emit(index)
