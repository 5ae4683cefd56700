"""The image canvas: a QGraphicsView with the image and the heatmap as two separate items.

The overlay item holds the coloured heatmap at the image's own resolution and is drawn with the
item's opacity, which is exactly `render.maps.overlay`'s alpha blend; moving the opacity slider
only changes that number (no job, no recolouring).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from saliency_desktop.ui.images import rgb_to_qimage

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
PLACEHOLDER = "Drop images or folders here\nor use File > Open (Ctrl+O) or File > Samples"


class ImageCanvas(QGraphicsView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.image_item = QGraphicsPixmapItem()
        self.overlay_item = QGraphicsPixmapItem()
        for z, item in enumerate((self.image_item, self.overlay_item)):
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            item.setZValue(z)
            self.scene().addItem(item)
        self.overlay_item.setOpacity(0.5)
        self.box_item = QGraphicsRectItem()  # the face crop's outline (face models)
        pen = QPen(QColor(80, 220, 255), 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)  # 2 screen pixels at any zoom
        self.box_item.setPen(pen)
        self.box_item.setZValue(2)
        self.box_item.hide()
        self.scene().addItem(self.box_item)
        self.setRenderHints(
            QPainter.RenderHint.SmoothPixmapTransform | QPainter.RenderHint.Antialiasing
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(False)  # drops go to the main window
        self.viewport().setAcceptDrops(False)
        self._fit = True
        self._has_image = False

    # ---- content ----
    def set_image(self, rgb: np.ndarray | None) -> None:
        self.overlay_item.setPixmap(QPixmap())
        if rgb is None:
            self.image_item.setPixmap(QPixmap())
            self._has_image = False
        else:
            self.image_item.setPixmap(QPixmap.fromImage(rgb_to_qimage(rgb)))
            self._has_image = True
            self.scene().setSceneRect(QRectF(self.image_item.pixmap().rect()))
        self.zoom_fit()
        self.viewport().update()

    def set_overlay(self, pixmap: QPixmap | None, offset: tuple[int, int] = (0, 0)) -> None:
        """The heatmap, its top-left corner at `offset` (a face crop's place) in image pixels."""
        self.overlay_item.setPixmap(pixmap if pixmap is not None else QPixmap())
        self.overlay_item.setPos(float(offset[0]), float(offset[1]))
        self.overlay_item.setVisible(pixmap is not None)

    def set_box(self, box: Any) -> None:
        """Outline the face crop (x, y, w, h in image pixels); None hides it."""
        if box is None:
            self.box_item.hide()
        else:
            self.box_item.setRect(QRectF(box.x, box.y, box.w, box.h))
            self.box_item.show()

    def set_opacity(self, opacity: float) -> None:
        self.overlay_item.setOpacity(float(opacity))

    def has_overlay(self) -> bool:
        return self.overlay_item.isVisible() and not self.overlay_item.pixmap().isNull()

    # ---- zoom and pan ----
    def zoom(self) -> float:
        return float(self.transform().m11())

    def zoom_fit(self) -> None:
        self._fit = True
        if self._has_image:
            self.fitInView(self.image_item, Qt.AspectRatioMode.KeepAspectRatio)

    def zoom_100(self) -> None:
        self._fit = False
        self.resetTransform()

    def zoom_by(self, factor: float) -> None:
        new = min(max(self.zoom() * factor, MIN_ZOOM), MAX_ZOOM)
        factor = new / self.zoom()
        self._fit = False
        self.scale(factor, factor)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt name)
        delta = event.angleDelta().y()
        if delta == 0 or not self._has_image:
            return super().wheelEvent(event)
        self.zoom_by(1.25 ** (delta / 120.0))
        event.accept()

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        super().resizeEvent(event)
        if self._fit:
            self.zoom_fit()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        if self._has_image:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(self.palette().placeholderText().color())
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        painter.setFont(font)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap  # narrow windows too
        painter.drawText(self.viewport().rect().adjusted(12, 0, -12, 0), flags, PLACEHOLDER)
        painter.restore()
