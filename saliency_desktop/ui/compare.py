"""The compare view: the original and every computed method side by side, each tile labelled
and with its own colour scale (a small legend under the picture, diverging for signed maps).

Tiles are painted (no child widgets): the image, then the heatmap with the shared opacity, so
the opacity slider repaints without recolouring. The grid picks the column count that gives the
largest tiles for the view's shape.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from saliency_desktop.ui.tiles import Legend, Tile

GAP = 10
WARN_COLOUR = QColor(200, 90, 0)
CROP_PEN = QPen(QColor(80, 220, 255), 2, Qt.PenStyle.DashLine)


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
        """Title and subtitle above the picture, the legend below it."""
        fm = self.fontMetrics()
        return 2 * fm.height() + 6 + self._legend_height()

    def _legend_height(self) -> int:
        return 2 * self.fontMetrics().height() + 4

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
        self._rects = self._grid()
        if not self.tiles:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(
                self.rect(),
                Qt.AlignmentFlag.AlignCenter,
                "The methods' maps appear here side by side as they finish.",
            )
            return
        for tile, cell in zip(self.tiles, self._rects, strict=True):
            self._paint_tile(painter, tile, cell)
        painter.end()

    def _paint_texts(self, painter: QPainter, tile: Tile, cell: QRect) -> None:
        pal, fm = self.palette(), self.fontMetrics()
        bold = QFont(self.font())
        bold.setBold(True)
        top = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        text_rect = QRect(cell.left(), cell.top(), cell.width(), fm.height() + 2)
        painter.setPen(pal.windowText().color())
        painter.setFont(bold)
        painter.drawText(
            text_rect, top, fm.elidedText(tile.title, Qt.TextElideMode.ElideRight, cell.width())
        )
        painter.setFont(self.font())
        painter.setPen(WARN_COLOUR if tile.warn else pal.placeholderText().color())
        sub = fm.elidedText(tile.subtitle, Qt.TextElideMode.ElideRight, cell.width())
        painter.drawText(text_rect.translated(0, fm.height() + 2), top, sub)

    def picture_rect(self, tile: Tile, cell: QRect) -> QRect:
        """Where the tile's picture is drawn inside its cell."""
        cap = 2 * self.fontMetrics().height() + 6
        area = QRect(
            cell.left(), cell.top() + cap, cell.width(), cell.height() - self._caption_height()
        )
        size = tile.base.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(QPoint(0, 0), size)
        target.moveCenter(area.center())
        target.moveTop(area.top())
        return target

    def _paint_tile(self, painter: QPainter, tile: Tile, cell: QRect) -> None:
        self._paint_texts(painter, tile, cell)
        target = self.picture_rect(tile, cell)
        painter.setOpacity(1.0)
        painter.drawPixmap(QRectF(target), tile.base, QRectF(tile.base.rect()))
        if tile.heat is not None and not tile.heat.isNull():
            where = QRectF(target)
            if tile.crop is not None:  # a face crop's map, at the crop's place
                fx, fy, fw, fh = tile.crop
                where = QRectF(
                    target.x() + fx * target.width(),
                    target.y() + fy * target.height(),
                    fw * target.width(),
                    fh * target.height(),
                )
            painter.setOpacity(self._opacity)
            painter.drawPixmap(where, tile.heat, QRectF(tile.heat.rect()))
            painter.setOpacity(1.0)
            if tile.crop is not None:
                painter.setPen(CROP_PEN)
                painter.drawRect(where)
        painter.setPen(self.palette().mid().color())
        painter.drawRect(target.adjusted(0, 0, -1, -1))
        if tile.note:
            self._paint_note(painter, tile.note, target)
        if tile.legend is not None:
            self._paint_legend(painter, tile.legend, target)

    def _paint_note(self, painter: QPainter, text: str, target: QRect) -> None:
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        box = painter.boundingRect(target.adjusted(8, 8, -8, -8), flags, text).adjusted(
            -6, -4, 6, 4
        )
        painter.fillRect(box, QColor(0, 0, 0, 170))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, flags, text)

    def legend_layout(
        self, legend: Legend, target: QRect
    ) -> tuple[QRect, list[tuple[QRect, Qt.AlignmentFlag, str]]]:
        """The legend's bar under the picture and its labels' boxes. The end labels stay inside
        the bar's width (as the report's), so neighbouring tiles never overlap; the middle
        label is left out when the tile is too narrow for three, the low one when too narrow
        for two."""
        fm = self.fontMetrics()
        lo, mid, hi = legend.labels
        w_lo, w_mid, w_hi = (fm.horizontalAdvance(t) + 2 for t in (lo, mid, hi))
        bar = QRect(0, target.bottom() + 4, min(target.width(), 260), max(fm.height() // 2, 6))
        bar.moveLeft(target.left() + (target.width() - bar.width()) // 2)
        y, h = bar.bottom() + 1, fm.height()
        w_hi = min(w_hi, bar.width())  # a tile narrower than its label clips it (many methods)
        labels = [(QRect(bar.right() - w_hi + 1, y, w_hi, h), Qt.AlignmentFlag.AlignRight, hi)]
        if w_lo + w_hi + 4 <= bar.width():
            labels.append((QRect(bar.left(), y, w_lo, h), Qt.AlignmentFlag.AlignLeft, lo))
        if w_lo + w_mid + w_hi + 12 <= bar.width():
            box = QRect(bar.center().x() - w_mid // 2, y, w_mid, h)
            labels.append((box, Qt.AlignmentFlag.AlignCenter, mid))
        return bar, labels

    def _paint_legend(self, painter: QPainter, legend: Legend, target: QRect) -> None:
        """A small colorbar under the picture, in the map's raw units."""
        bar, labels = self.legend_layout(legend, target)
        painter.drawImage(bar, legend.strip)
        painter.setPen(self.palette().mid().color())
        painter.drawRect(bar.adjusted(0, 0, -1, -1))
        painter.setPen(self.palette().windowText().color())
        for box, align, text in labels:
            painter.drawText(box, align, text)

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
        if tile is None:
            self.setToolTip("")
        else:  # the whole subtitle, which a narrow tile elides
            sub = f"<br>{html.escape(tile.subtitle)}" if tile.subtitle else ""
            self.setToolTip(
                f"<b>{html.escape(tile.title)}</b>{sub}<br>double-click to open it alone"
            )
