"""The localization box on the canvas: the Grad-CAM paper's box of the shown map (issue 16).

A rectangle item above the heatmap, in image pixels (the scene's units): the bounding box of the
largest connected component where the map, resized to the image, is at least 15 % of its
maximum (`engine.localization.map_box`, numpy and OpenCV only: no TensorFlow here).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsView

from saliency_desktop.engine import BOX_THRESHOLD as DEFAULT_THRESHOLD
from saliency_desktop.engine import Box, map_box

COLOUR = "#39ff14"


class BoxOverlay:
    """Owns one QGraphicsRectItem in the canvas's scene; hidden unless enabled and a map has one."""

    def __init__(self, canvas: QGraphicsView, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self.enabled = False
        self.box: Box | None = None
        self.item = QGraphicsRectItem()
        pen = QPen(QColor(COLOUR))
        pen.setCosmetic(True)  # 2 screen pixels at any zoom
        pen.setWidthF(2.0)
        self.item.setPen(pen)
        self.item.setZValue(3)
        self.item.hide()
        canvas.scene().addItem(self.item)

    def update(self, heat: np.ndarray | None, size: tuple[int, int] | None) -> Box | None:
        """Show the box of `heat` resized to `size` (the image's height, width), or hide it."""
        self.box = None
        if self.enabled and heat is not None and size is not None:
            self.box = map_box(heat, size, self.threshold)
        if self.box is None:
            self.item.hide()
            return None
        x0, y0, x1, y1 = self.box
        self.item.setRect(QRectF(x0, y0, x1 - x0 + 1, y1 - y0 + 1))
        self.item.show()
        return self.box
