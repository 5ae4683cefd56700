"""The data-set view: predictions for a labelled folder, the confusion matrix, and mistakes.

`DatasetPanel` asks the engine thread for predictions (a task of the one engine worker, with
progress and cancel), shows accuracy, a clickable confusion matrix (a cell filters the table to
its images) and a sortable, filterable table. Selecting a row asks the window to explain that
image (`explain_requested(path, target, contrast)`): the predicted class, or for a mistake,
"predicted vs true" one click away.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from saliency_desktop.ui.dataset_model import ROW_ROLE, DatasetFilter, DatasetTableModel, human
from saliency_desktop.ui.jobs import Kind, Progress, route

log = logging.getLogger(__name__)
TASK = "predict_dataset"
MISTAKES_TASK = "export_mistakes"


class ConfusionWidget(QTableWidget):
    """Rows = true class, columns = predicted class; the last column is recall, the last row
    precision. Clicking a count emits `cell_chosen(true, predicted)`; clicking it again clears."""

    cell_chosen = Signal(object, object)  # true index or None, predicted index or None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.cellClicked.connect(self._clicked)
        self._chosen: tuple[int, int] | None = None
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def show_confusion(self, c: Any) -> None:
        n = len(c.labels)
        self.clear()
        self.setRowCount(n + 1)
        self.setColumnCount(n + 1)
        self.setVerticalHeaderLabels(
            [f"{i} {human(lab)}" for i, lab in enumerate(c.labels)] + ["precision"]
        )
        self.setHorizontalHeaderLabels([str(i) for i in range(n)] + ["recall"])
        for j, lab in enumerate(c.labels):
            self.horizontalHeaderItem(j).setToolTip(f"predicted: {human(lab)}")
        totals = c.matrix.sum(axis=1)
        for i in range(n):
            for j in range(n):
                count = int(c.matrix[i, j])
                item = QTableWidgetItem(str(count) if count else "")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                frac = count / totals[i] if totals[i] else 0.0
                item.setBackground(QBrush(_blue(frac)))
                item.setForeground(QBrush(QColor("white" if frac > 0.55 else "black")))
                item.setToolTip(
                    f"true {human(c.labels[i])}, predicted {human(c.labels[j])}: {count}"
                )
                self.setItem(i, j, item)
            self.setItem(i, n, _percent(c.recall[i]))
        for j in range(n):
            self.setItem(n, j, _percent(c.precision[j]))
        used = (totals > 0) | (c.matrix.sum(axis=0) > 0)  # 1000 ImageNet classes: only these
        for i in range(n):
            self.setRowHidden(i, not used[i])
            self.setColumnHidden(i, not used[i])
        self._chosen = None

    def _clicked(self, row: int, col: int) -> None:
        n = self.rowCount() - 1
        if row >= n or col >= n or (row, col) == self._chosen:
            self._chosen = None
            self.clearSelection()
            self.cell_chosen.emit(None, None)
            return
        self._chosen = (row, col)
        self.cell_chosen.emit(row, col)


def _blue(frac: float) -> QColor:
    return QColor.fromRgbF(1.0 - 0.85 * frac, 1.0 - 0.6 * frac, 1.0 - 0.25 * frac)


def _percent(value: float) -> QTableWidgetItem:
    item = QTableWidgetItem("" if value != value else f"{100 * value:.0f}%")
    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    return item


class DatasetPanel(QWidget):
    """Accuracy, confusion matrix, the table with its filters, and the exports."""

    explain_requested = Signal(str, int, object)  # path, target class, contrast class or None
    status = Signal(str)

    def __init__(self, client: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.result: Any = None
        self.methods: list[str] = []  # the methods chosen in the app (for the mistakes grid)
        self.source = ""
        self.model = DatasetTableModel(self)
        self.proxy = DatasetFilter(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        client.event.connect(
            route(
                {
                    (TASK, Kind.PROGRESS): self._on_progress,
                    (TASK, Kind.DONE): self.show_result,
                    (TASK, Kind.FAILED): self.summary.setText,
                    (TASK, Kind.FINISHED): self._on_finished,
                    (MISTAKES_TASK, Kind.DONE): self._on_mistakes_saved,
                    (MISTAKES_TASK, Kind.FAILED): self._on_mistakes_failed,
                }
            )
        )

    def _build(self) -> None:
        self.summary = QLabel(
            "Open a folder whose subfolders are class names (File > Open data set)."
        )
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(lambda: self.client.cancel(TASK))
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.progress)
        top.addWidget(self.cancel_button)
        self.mistakes = QCheckBox("Misclassified only")
        self.mistakes.toggled.connect(lambda on: self.proxy.set_filters(mistakes_only=on))
        self.true_combo, self.pred_combo = QComboBox(), QComboBox()
        self.true_combo.currentIndexChanged.connect(self._combo_filters)
        self.pred_combo.currentIndexChanged.connect(self._combo_filters)
        self.below = QDoubleSpinBox()
        self.below.setRange(0.0, 1.0)
        self.below.setSingleStep(0.05)
        self.below.setValue(1.0)
        self.below.setPrefix("confidence below ")
        self.below.setToolTip("Show images whose top probability is below this (1.00: all)")
        self.below.valueChanged.connect(lambda v: self.proxy.set_filters(below=float(v)))
        clear = QPushButton("Clear filters")
        clear.clicked.connect(self.clear_filters)
        filters = QHBoxLayout()
        for w in (
            self.mistakes,
            QLabel("True:"),
            self.true_combo,
            QLabel("Predicted:"),
            self.pred_combo,
            self.below,
            clear,
        ):
            filters.addWidget(w)
        filters.addStretch(1)
        self.confusion = ConfusionWidget()
        self.confusion.cell_chosen.connect(self._cell_chosen)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(0, 0, 0, 0)
        caption = QLabel(
            "Confusion: rows = true class, columns = predicted (click a count); classes "
            "with no image are hidden"
        )
        caption.setWordWrap(True)  # its width must not push the splitter
        box.addWidget(caption)
        box.addWidget(self.confusion, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.table)
        split.setSizes([380, 620])
        self.contrast_button = QPushButton("Explain predicted vs true")
        self.contrast_button.setEnabled(False)
        self.contrast_button.setToolTip(
            "For a mistake: why the predicted class and not the true one"
        )
        self.contrast_button.clicked.connect(self._explain_contrast)
        exports = QHBoxLayout()
        exports.addWidget(self.contrast_button)
        exports.addStretch(1)
        for text, slot in (
            ("Export table (CSV)...", self.export_csv),
            ("Export confusion figure...", self.export_confusion),
            ("Export mistakes grid...", self.export_mistakes),
        ):
            button = QPushButton(text)
            button.clicked.connect(slot)
            exports.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(filters)
        layout.addWidget(split, 1)
        layout.addLayout(exports)

    # ---- predictions ----
    def open_source(self, source: str) -> None:
        """Predict every image of a folder or CSV (in the engine thread)."""
        self.source = source
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.summary.setText(f"Predicting {Path(source).name}...")
        self.client.run_task(TASK, str(source))

    def _on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(100 * progress.fraction))
        self.progress.setFormat(progress.message or "%p%")

    def _on_mistakes_saved(self, paths: list[str]) -> None:
        self.status.emit(f"Saved {', '.join(Path(p).name for p in paths)}")

    def _on_mistakes_failed(self, message: str) -> None:
        QMessageBox.warning(self, "Export failed", message)

    def _on_finished(self, _payload: None) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        if self.result is None:
            self.summary.setText(
                "Cancelled." if "Predicting" in self.summary.text() else self.summary.text()
            )

    def show_result(self, result: Any) -> None:
        """Fill the summary, the confusion matrix, the filters and the table."""
        self.result = result
        self.model.set_rows(result.rows, result.labels)
        self.confusion.show_confusion(result.confusion)
        for combo in (self.true_combo, self.pred_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("any", None)
            for i, lab in enumerate(result.labels):
                combo.addItem(human(lab), i)
            combo.blockSignals(False)
        self.summary.setText(summary_text(result))
        self.table.resizeColumnsToContents()

    # ---- filters ----
    def _combo_filters(self) -> None:
        self.proxy.set_filters(
            true_class=self.true_combo.currentData(), predicted_class=self.pred_combo.currentData()
        )

    def _cell_chosen(self, true: int | None, predicted: int | None) -> None:
        for combo, value in ((self.true_combo, true), (self.pred_combo, predicted)):
            combo.blockSignals(True)
            combo.setCurrentIndex(0 if value is None else value + 1)
            combo.blockSignals(False)
        self.proxy.set_filters(true_class=true, predicted_class=predicted)

    def clear_filters(self) -> None:
        self.mistakes.setChecked(False)
        self.below.setValue(1.0)
        self._cell_chosen(None, None)

    # ---- explain on click ----
    def selected_row(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(ROW_ROLE) if rows else None

    def _selected(self, _sel: QItemSelection, _old: QItemSelection) -> None:
        r = self.selected_row()
        self.contrast_button.setEnabled(bool(r and r.correct is False))
        if r is not None and r.predicted is not None:
            self.explain_requested.emit(str(r.item.path), int(r.predicted), None)

    def _explain_contrast(self) -> None:
        r = self.selected_row()
        if r is not None and r.correct is False:
            self.explain_requested.emit(str(r.item.path), int(r.predicted), int(r.item.true))

    # ---- exports ----
    def _ask(self, title: str, name: str, filters: str) -> str:
        if self.result is None:
            QMessageBox.information(self, title, "Open a data set first.")
            return ""
        path, _ = QFileDialog.getSaveFileName(self, title, name, filters)
        return path

    def export_csv(self, path: str = "") -> None:
        from saliency_desktop.render.confusion import predictions_csv
        from saliency_desktop.render.export import atomic_file

        path = path or self._ask("Export table", "predictions.csv", "CSV (*.csv)")
        if path:
            self._write(
                path,
                lambda: _write_text(
                    path, predictions_csv(list(self.result.rows), self.result.labels), atomic_file
                ),
            )

    def export_confusion(self, path: str = "") -> None:
        from saliency_desktop.render.confusion import render_confusion

        path = path or self._ask(
            "Export confusion figure", "confusion.png", "PNG (*.png);;PDF (*.pdf);;SVG (*.svg)"
        )
        if path:
            p = Path(path)
            fmt = p.suffix.lstrip(".").lower() or "png"
            self._write(
                path,
                lambda: render_confusion(
                    self.result.confusion, p.with_suffix(""), [fmt], force=True
                ),
            )

    def export_mistakes(self, path: str = "", k: int = 8, methods: list[str] | None = None) -> None:
        path = path or self._ask(
            "Export mistakes grid", "mistakes.png", "PNG (*.png);;PDF (*.pdf);;SVG (*.svg)"
        )
        if not path:
            return
        p = Path(path)
        fmt = p.suffix.lstrip(".").lower() or "png"
        methods = methods or self.default_methods()
        if not methods:
            QMessageBox.information(self, "Export mistakes grid", "Choose methods first.")
            return
        self.client.run_task(
            MISTAKES_TASK, list(self.result.rows), k, methods, str(p.with_suffix("")), [fmt]
        )

    def default_methods(self) -> list[str]:
        """Methods for the mistakes grid: those chosen in the app's method tree (the window
        keeps `methods` up to date)."""
        return list(self.methods)

    def _write(self, path: str, write: Any) -> None:
        try:
            write()
            self.status.emit(f"Saved {Path(path).name}")
        except (OSError, ValueError) as exc:
            log.warning("export to %s failed", path, exc_info=True)
            QMessageBox.warning(self, "Export failed", f"{Path(path).name}: {exc}")


def _write_text(path: str, text: str, atomic_file: Any) -> None:
    with atomic_file(path, "w", True) as f:
        f.write(text)


def summary_text(result: Any) -> str:
    c = result.confusion
    rows = result.rows
    bad = sum(1 for r in rows if r.error)
    parts = [f"{len(rows)} images"]
    if c.n_images:
        right = int(c.matrix.trace())
        parts.append(f"accuracy {100 * c.accuracy:.1f} % ({right}/{c.n_images} labelled)")
    else:
        parts.append("no labels matched the model's classes: no accuracy")
    if bad:
        parts.append(f"{bad} unreadable")
    parts += list(result.dataset.notes)
    return " · ".join(parts)
