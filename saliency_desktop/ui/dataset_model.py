"""The data-set table: a Qt model over prediction rows, and a proxy for sorting and filters.

The model holds plain rows (`engine.dataset.PredictionRow`); the view asks only for what is on
screen, so 10,000 rows cost nothing until scrolled to. Thumbnails are decoded in a pool at a
small size (QImageReader scales JPEGs while decoding) and cached.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QImage, QImageReader, QPixmap

from saliency_desktop.render.labels import display_label

COLUMNS = ("", "File", "True", "Predicted", "P(predicted)", "P(true)", "Correct", "Margin")
THUMB = 40
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
AnyIndex = QModelIndex | QPersistentModelIndex


def human(label: str | None) -> str:
    return "" if label is None else display_label(label)


class _ThumbSignals(QObject):
    done = Signal(int, object)  # row, QImage or None


class _Thumb(QRunnable):
    def __init__(self, row: int, path: str, signals: _ThumbSignals) -> None:
        super().__init__()
        self.row, self.path, self.signals = row, path, signals

    def run(self) -> None:
        reader = QImageReader(self.path)
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid() and size.width() > 0 and size.height() > 0:
            reader.setScaledSize(
                size.scaled(QSize(THUMB, THUMB), Qt.AspectRatioMode.KeepAspectRatio)
            )
        image = reader.read()
        self.signals.done.emit(self.row, None if image.isNull() else image)


class DatasetTableModel(QAbstractTableModel):
    """One row per image: thumbnail, file, true label, prediction, probabilities, margin."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []
        self.labels: tuple[str, ...] = ()
        self._thumbs: dict[int, QPixmap | None] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._signals = _ThumbSignals(self)
        self._signals.done.connect(self._thumb_done)

    def set_rows(self, rows: Sequence[Any], labels: Sequence[str]) -> None:
        self.beginResetModel()
        self._pool.clear()
        self.rows, self.labels, self._thumbs = list(rows), tuple(labels), {}
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def label(self, index: int | None) -> str:
        if index is None:
            return ""
        return human(self.labels[index]) if 0 <= index < len(self.labels) else f"class {index}"

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, col = self.rows[index.row()], index.column()
        if role == ROW_ROLE:
            return r
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(r, col)
        if role == SORT_ROLE:
            return self._sort_key(r, col)
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return self._thumbnail(index.row())
        if role == Qt.ItemDataRole.ForegroundRole and col == 6 and r.correct is not None:
            return QBrush(QColor("#1a7f37" if r.correct else "#c0392b"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return r.error or str(r.item.path)
        return None

    def _text(self, r: Any, col: int) -> str:
        if col == 1:
            return r.item.name
        if col == 2:
            return self.label(r.item.true) if r.item.true is not None else human(r.item.label)
        if r.predicted is None:
            return "unreadable" if col == 3 else ""
        values = {
            3: self.label(r.predicted),
            4: f"{r.probability:.3f}",
            5: "" if r.true_probability is None else f"{r.true_probability:.3f}",
            6: {True: "yes", False: "no", None: ""}[r.correct],
            7: f"{r.margin:.3f}",
        }
        return values.get(col, "")

    def _sort_key(self, r: Any, col: int) -> Any:
        numbers = {4: r.probability, 5: r.true_probability, 7: r.margin}
        if col in numbers:
            value = numbers[col]
            return -1.0 if value is None or math.isnan(value) else float(value)
        if col == 6:
            return {True: 1, False: 0, None: -1}[r.correct]
        return self._text(r, col).lower()

    def _thumbnail(self, row: int) -> QPixmap | None:
        if row not in self._thumbs:
            self._thumbs[row] = None  # requested once; never for a file that failed to read
            if self.rows[row].error:
                return None
            self._pool.start(_Thumb(row, str(self.rows[row].item.path), self._signals))
        return self._thumbs[row]

    def _thumb_done(self, row: int, image: QImage | None) -> None:
        if row < len(self.rows) and image is not None:
            self._thumbs[row] = QPixmap.fromImage(image)
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def wait(self, msecs: int = 5000) -> bool:
        return self._pool.waitForDone(msecs)


class DatasetFilter(QSortFilterProxyModel):
    """Filters: misclassified only, true class, predicted class, confidence below, one cell."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.mistakes_only = False
        self.true_class: int | None = None
        self.predicted_class: int | None = None
        self.below: float = 1.0  # show rows whose P(predicted) is below this (1.0: all)

    def set_filters(self, **values: Any) -> None:
        begin = getattr(self, "beginFilterChange", None)  # Qt >= 6.10 (invalidateFilter is
        if begin is not None:  # deprecated there)
            begin()
        for name, value in values.items():
            if not hasattr(self, name):
                raise AttributeError(name)
            setattr(self, name, value)
        if begin is not None:
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, parent: AnyIndex) -> bool:  # noqa: N802
        r = self.sourceModel().rows[source_row]  # type: ignore[attr-defined]
        if self.mistakes_only and r.correct is not False:
            return False
        if self.true_class is not None and r.item.true != self.true_class:
            return False
        if self.predicted_class is not None and r.predicted != self.predicted_class:
            return False
        return not (self.below < 1.0 and not (r.probability < self.below))
