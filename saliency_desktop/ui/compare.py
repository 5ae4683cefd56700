"""The compare view: the original and every computed method side by side, each tile labelled.

Tiles are painted (no child widgets): the image, then the heatmap with the shared opacity, so
the opacity slider repaints without recolouring. The grid picks the column count that gives the
largest tiles for the view's shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

GAP = 10


@dataclass
class Tile:
    key: str  # "" for the original, else the method id
    title: str
    subtitle: str
    base: QPixmap
    heat: QPixmap | None = None


class CompareView(QWidget):
    tile_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tiles: list[Tile] = []
        self._opacity = 0.5
        self._rects: list[QRect] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)

    def set_tiles(self, tiles: list[Tile]) -> None:
        self.tiles = tiles
        self.update()

    def set_opacity(self, opacity: float) -> None:
        self._opacity = float(opacity)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, 600)

    def _caption_height(self) -> int:
        fm = self.fontMetrics()
        return 2 * fm.height() + 6

    def _grid(self) -> list[QRect]:
        n = len(self.tiles)
        if n == 0:
            return []
        base = self.tiles[0].base
        iw, ih = max(base.width(), 1), max(base.height(), 1)
        W, H = self.width() - GAP, self.height() - GAP  # noqa: N806
        cap = self._caption_height()
        best, best_cols = -1.0, 1
        for cols in range(1, n + 1):
            rows = -(-n // cols)
            cw, ch = W / cols - GAP, H / rows - GAP - cap
            scale = min(cw / iw, ch / ih)
            if scale > best:
                best, best_cols = scale, cols
        cols = best_cols
        rows = -(-n // cols)
        cw = W // cols
        ch = min(H // rows, round(best * ih) + cap + GAP)  # no tall empty cells
        x0 = (self.width() - cols * cw) // 2 + GAP // 2
        y0 = max((self.height() - rows * ch) // 2, GAP // 2) + GAP // 2
        rects = []
        for i in range(n):
            r, c = divmod(i, cols)
            rects.append(QRect(x0 + c * cw, y0 + r * ch, cw - GAP, ch - GAP))
        return rects

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        pal = self.palette()
        self._rects = self._grid()
        if not self.tiles:
            painter.setPen(pal.placeholderText().color())
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "The methods' maps appear here side by side as they finish.",
            )
            return
        cap = self._caption_height()
        fm = self.fontMetrics()
        bold = QFont(self.font())
        bold.setBold(True)
        for tile, cell in zip(self.tiles, self._rects, strict=True):
            text_rect = QRect(cell.left(), cell.top(), cell.width(), fm.height() + 2)
            painter.setPen(pal.windowText().color())
            painter.setFont(bold)
            painter.drawText(
                text_rect,
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                fm.elidedText(tile.title, Qt.TextElideMode.ElideRight, cell.width()),
            )
            painter.setFont(self.font())
            painter.setPen(pal.placeholderText().color())
            sub_rect = text_rect.translated(0, fm.height() + 2)
            painter.drawText(
                sub_rect,
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                fm.elidedText(tile.subtitle, Qt.TextElideMode.ElideRight, cell.width()),
            )
            area = QRect(cell.left(), cell.top() + cap, cell.width(), cell.height() - cap)
            size = tile.base.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(QPoint(0, 0), size)
            target.moveCenter(area.center())
            target.moveTop(area.top())
            painter.setOpacity(1.0)
            painter.drawPixmap(QRectF(target), tile.base, QRectF(tile.base.rect()))
            if tile.heat is not None and not tile.heat.isNull():
                painter.setOpacity(self._opacity)
                painter.drawPixmap(QRectF(target), tile.heat, QRectF(tile.heat.rect()))
                painter.setOpacity(1.0)
            painter.setPen(pal.mid().color())
            painter.drawRect(target.adjusted(0, 0, -1, -1))
        painter.end()

    def tile_at(self, pos: QPoint) -> Tile | None:
        for tile, rect in zip(self.tiles, self._rects or self._grid(), strict=False):
            if rect.contains(pos):
                return tile
        return None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        tile = self.tile_at(event.position().toPoint())
        if tile is not None:
            self.tile_activated.emit(tile.key)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        tile = self.tile_at(event.position().toPoint())
        self.setToolTip("" if tile is None else f"{tile.title}: double-click to open it alone")
