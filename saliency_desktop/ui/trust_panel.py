"""The Trust panel: which of the current image's maps can I trust?

A dock with one button. It measures the maps of the current explanation in the engine thread
(`trust_jobs`): deletion and insertion (Petsiuk et al. 2018) and, in the full check, ROAD
(Rong et al. 2022), the randomisation sanity check (Adebayo et al. 2018) and the random logit
test (Sixt et al. 2020). The figure (per method: curves and AUCs, and the map as the model is
randomised) is drawn by matplotlib in the app's thread pool and shown as a picture; a plain
summary is written under it. "Save figure..." writes the publication figure (png, pdf, svg).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from saliency_desktop.engine.types import Explanation
from saliency_desktop.ui.jobs import Kind, Progress, route
from saliency_desktop.ui.trust_jobs import FULL, QUICK, TRUST, EvaluateRequest, evaluate
from saliency_desktop.ui.worker import EngineClient

log = logging.getLogger(__name__)

CHECKS = (
    ("Quick: deletion and insertion", QUICK),
    ("Full: + ROAD, randomisation, random logit", FULL),
)
IDLE_TEXT = "Explain an image, then check how far its maps can be trusted."


class _RenderSignals(QObject):
    done = Signal(int, object)  # token, QImage


class _Render(QRunnable):
    """Draw the panel's figure to a QImage in the thread pool (matplotlib Agg, no pyplot)."""

    def __init__(self, token: int, evaluation: Any, width_px: int) -> None:
        super().__init__()
        self.token, self.evaluation, self.width_px = token, evaluation, width_px
        self.signals = _RenderSignals()

    def run(self) -> None:
        from saliency_desktop.render.evaluation import figure_rgba
        from saliency_desktop.render.trust_figure import trust_figure

        try:
            dpi = 100.0
            image = rgba_to_qimage(
                figure_rgba(trust_figure(self.evaluation, self.width_px / dpi), dpi)
            )
        except Exception:  # a figure that cannot be drawn must not take the app down
            log.exception("the trust figure could not be drawn")
            image = QImage()
        self.signals.done.emit(self.token, image)


class TrustPanel(QDockWidget):
    """The dock. `set_explanation` is called with each new explanation of the current image."""

    def __init__(self, client: EngineClient, parent: QWidget | None = None):
        super().__init__("Trust", parent)
        self.setObjectName("dock-trust")
        self.client = client
        self.explanation: Explanation | None = None
        self.evaluation: Any = None
        self._token = 0
        self._build()
        client.event.connect(
            route(
                {
                    (TRUST, Kind.PROGRESS): self._on_progress,
                    (TRUST, Kind.DONE): self._on_evaluated,
                    (TRUST, Kind.FAILED): self._on_failed,
                    (TRUST, Kind.FINISHED): self._on_finished,
                }
            )
        )
        self._update_buttons()

    def _build(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        row = QHBoxLayout()
        self.check_choice = QComboBox()
        for label, _ in CHECKS:
            self.check_choice.addItem(label)
        self.check_choice.setToolTip(
            "The full check re-explains the image as the model's layers are randomised "
            "(on a copy of the model): it takes several times longer."
        )
        self.run_button = QPushButton("Check maps")
        self.run_button.clicked.connect(self.run_check)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button = QPushButton("Save figure…")
        self.save_button.clicked.connect(self.save_figure)
        self.check_choice.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.check_choice.setMinimumContentsLength(10)  # a narrow dock elides the choice
        first = QHBoxLayout()
        first.addWidget(self.check_choice, 1)
        first.addWidget(self.run_button)
        layout.addLayout(first)
        for w in (self.cancel_button, self.save_button):  # two rows: the dock stays narrow
            row.addWidget(w)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.summary = QLabel(IDLE_TEXT)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.figure = QLabel()
        self.figure.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.addWidget(self.summary)
        inner_layout.addWidget(self.figure)
        inner_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(inner)
        layout.addWidget(self.scroll, 1)
        self.setWidget(body)

    # ---- inputs ----
    @Slot(object)
    def set_explanation(self, explanation: Explanation | None) -> None:
        """A new explanation (or None): earlier results no longer apply."""
        if explanation is self.explanation:
            return
        self.cancel()
        self.explanation = explanation
        self.evaluation = None
        self._token += 1
        self.figure.clear()
        self.summary.setText(IDLE_TEXT if explanation is None else "Press Check maps.")
        self._update_buttons()

    def run_check(self) -> None:
        if self.explanation is None:
            return
        metrics = CHECKS[self.check_choice.currentIndex()][1]
        self.evaluation = None
        self._token += 1
        self.figure.clear()
        self.summary.setText("Checking the maps…")
        self.progress.setValue(0)
        self.progress.show()
        evaluate(self.client, EvaluateRequest(self.explanation, tuple(metrics)))
        self._update_buttons()

    def cancel(self) -> None:
        self.client.cancel(TRUST)

    def is_busy(self) -> bool:
        return self.client.is_busy(TRUST)

    # ---- job events ----
    def _on_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(1000 * progress.fraction))
        self.progress.setFormat(progress.message)

    def _on_evaluated(self, evaluation: Any) -> None:
        self.evaluation = evaluation
        self.summary.setText(self.summary_html(evaluation))
        self._token += 1
        width = max(self.scroll.viewport().width() - 40, 320)
        job = _Render(self._token, evaluation, width)
        job.signals.done.connect(self._on_rendered)
        QThreadPool.globalInstance().start(job)
        self._update_buttons()

    def _on_rendered(self, token: int, image: QImage) -> None:
        if token == self._token and not image.isNull():
            self.figure.setPixmap(QPixmap.fromImage(image))

    def _on_failed(self, message: str) -> None:
        self.summary.setText(f"The check failed: {message}")

    def _on_finished(self, _payload: None = None) -> None:
        self.progress.hide()
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.is_busy()
        self.run_button.setEnabled(self.explanation is not None and not busy)
        self.cancel_button.setEnabled(busy)
        self.save_button.setEnabled(self.evaluation is not None and not busy)

    # ---- text and export ----
    def summary_html(self, evaluation: Any) -> str:
        from html import escape

        from saliency_desktop.render.panels import method_label
        from saliency_desktop.render.trust_text import method_summary

        parts = []
        for mid in evaluation.results:
            lines = method_summary(evaluation, mid, method_label(mid))
            parts.append("<p>" + "<br>".join(escape(line) for line in lines) + "</p>")
        return "".join(parts)

    def save_figure(self, path: str | None = None) -> list[Any]:
        """Write the evaluation figure (png, pdf or svg by the file's suffix)."""
        from pathlib import Path

        from saliency_desktop.render.evaluation import render_evaluation

        if self.evaluation is None or self.explanation is None:
            return []
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Save the evaluation figure", "evaluation.png", "Figures (*.png *.pdf *.svg)"
            )
            if not path:
                return []
        p = Path(path)
        fmt = p.suffix.lstrip(".").lower() or "png"
        row = ("current image", self.evaluation, self.explanation)
        return render_evaluation([row], p.with_suffix(""), [fmt], dpi=200, force=True)


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """An (H, W, 4) uint8 array as a QImage that owns its pixels."""
    h, w = rgba.shape[:2]
    data = np.ascontiguousarray(rgba)
    return QImage(data.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
