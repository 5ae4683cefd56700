"""A horizontal colorbar for the shown map, in the map's raw units (as the report's colorbars)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from saliency_desktop.render import maps
from saliency_desktop.ui.tiles import colormap_strip, scale_labels


class Colorbar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cmap = maps.DEFAULT_CMAP
        self._signed = False
        self._scale = 1.0
        self._strip = colormap_strip(self._cmap, False)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(
            f"Colour scale in the map's own units: full colour at its "
            f"{maps.DEFAULT_PERCENTILE:g}th percentile (of |value| for signed maps); "
            "brighter pixels saturate."
        )

    def set_colormap(self, cmap: str, signed: bool, scale: float = 1.0) -> None:
        if (cmap, signed) != (self._cmap, self._signed):
            self._strip = colormap_strip(cmap, signed)
        self._cmap, self._signed, self._scale = cmap, signed, float(scale)
        self.update()

    def colormap(self) -> tuple[str, bool]:
        return self._cmap, self._signed

    def labels(self) -> tuple[str, str, str]:
        return scale_labels(self._signed, self._scale)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(260, 2 * self.fontMetrics().height() + 8)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(140, 2 * self.fontMetrics().height() + 8)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        fm = self.fontMetrics()
        lo, mid, hi = self.labels()
        pad = max(fm.horizontalAdvance(lo), fm.horizontalAdvance(hi)) // 2 + 2
        bar = QRect(pad, 3, max(self.width() - 2 * pad, 10), fm.height() - 2)
        painter.drawImage(bar, self._strip)
        painter.setPen(self.palette().mid().color())
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        painter.setPen(self.palette().windowText().color())
        y = bar.bottom() + 2
        for frac, text in ((0.0, lo), (0.5, mid), (1.0, hi)):
            x = bar.left() + round(frac * (bar.width() - 1))
            painter.drawLine(x, bar.bottom() - 2, x, bar.bottom() + 1)
            w = fm.horizontalAdvance(text) + 2
            painter.drawText(
                QRect(x - w // 2, y, w, fm.height()), Qt.AlignmentFlag.AlignCenter, text
            )
        painter.end()
