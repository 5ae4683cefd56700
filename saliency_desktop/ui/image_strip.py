"""The list of opened images (thumbnails and names); choosing one shows and explains it."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QStyle, QWidget

from saliency_desktop.ui.images import THUMB, ImageEntry

ROLE_KEY = Qt.ItemDataRole.UserRole
HINT = "Drop images here, or File > Open / Samples"


class ImageStrip(QListWidget):
    image_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIconSize(QSize(THUMB // 2 + 16, THUMB // 2 + 16))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setAcceptDrops(False)  # drops go to the main window
        self.currentItemChanged.connect(self._on_current)
        self._items: dict[str, QListWidgetItem] = {}
        self._placeholder = self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        """The empty list says how to fill it."""
        super().paintEvent(event)
        if self.count() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().placeholderText().color())
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.viewport().rect().adjusted(12, 12, -12, -12), flags, HINT)
            painter.end()

    def add_entry(self, entry: ImageEntry) -> None:
        item = QListWidgetItem(self._placeholder, entry.name)
        item.setData(ROLE_KEY, entry.key)
        item.setToolTip(entry.path or entry.name)
        self.addItem(item)
        self._items[entry.key] = item

    def set_thumbnail(self, key: str, image: QImage) -> None:
        item = self._items.get(key)
        if item is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def set_error(self, key: str, message: str) -> None:
        item = self._items.get(key)
        if item is not None:
            item.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning))
            item.setToolTip(message)

    def select_key(self, key: str) -> None:
        item = self._items.get(key)
        if item is not None and self.currentItem() is not item:
            self.blockSignals(True)
            self.setCurrentItem(item)
            self.blockSignals(False)

    def step(self, delta: int) -> None:
        if self.count():
            row = (max(self.currentRow(), 0) + delta) % self.count()
            self.setCurrentRow(row)

    def _on_current(self, current: QListWidgetItem | None, _prev: object) -> None:
        if current is not None:
            self.image_chosen.emit(str(current.data(ROLE_KEY)))
