"""The centre of the window: view toolbar, single view (canvas) or compare grid, and colorbar."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from saliency_desktop.engine.types import MethodInfo, MethodResult
from saliency_desktop.render import maps
from saliency_desktop.ui import tiles
from saliency_desktop.ui.canvas import ImageCanvas
from saliency_desktop.ui.colorbar import Colorbar
from saliency_desktop.ui.compare import CompareView
from saliency_desktop.ui.images import rgb_to_qimage
from saliency_desktop.ui.tiles import Tile

TILE_SIDE = 480
AUTO = "auto"


log = logging.getLogger(__name__)
BIG_PIXELS = 2_000_000  # heatmaps of larger images are coloured off the GUI thread


class _Colourer(QObject):
    """Carries a heatmap coloured in the pool thread back to the GUI thread (queued signal)."""

    done = Signal(object, object)  # cache key, RGB uint8 array


class ViewPanel(QWidget):
    method_changed = Signal(str)
    mode_changed = Signal(str)

    def __init__(self, infos: dict[str, MethodInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.infos = infos
        self.rgb: np.ndarray | None = None
        self._small: np.ndarray | None = None
        self._small_pixmap = QPixmap()
        self.results: dict[str, MethodResult] = {}
        self.pending: list[str] = []
        self.pending_note = tiles.COMPUTING
        self.skipped: dict[str, str] = {}
        self.crop: Any = None  # the face crop's Box: the maps cover only that part of the image
        self._preferred: str | None = None  # the user's choice; "" is the original image
        self._cache: dict[tuple[object, ...], QPixmap] = {}
        # full-resolution heatmaps of big images: coloured in one pool thread, never the GUI's
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="heatmap")
        self._colouring: dict[tuple[object, ...], np.ndarray] = {}  # key -> the image it is for
        self._colourer = _Colourer(self)
        self._colourer.done.connect(self._on_coloured)
        pool = self._pool
        self.destroyed.connect(lambda: pool.shutdown(wait=False, cancel_futures=True))
        self.canvas = ImageCanvas()
        self.compare = CompareView()
        self.compare.tile_activated.connect(self._open_tile)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.canvas)
        self.stack.addWidget(self.compare)
        self.colorbar = Colorbar()
        self.caption = QLabel()
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._build_toolbar()
        bottom = QHBoxLayout()
        bottom.setContentsMargins(8, 2, 8, 4)
        bottom.addWidget(self.caption, 1)
        bottom.addWidget(self.colorbar, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.stack, 1)
        layout.addLayout(bottom)

    def _build_toolbar(self) -> None:
        tb = self.toolbar = QToolBar("View")
        tb.setMovable(False)
        group = QActionGroup(self)
        self.single_action = QAction("Single", self, checkable=True, checked=True)
        self.single_action.setToolTip("One map over the image, zoomable (S)")
        self.single_action.setShortcut(QKeySequence("S"))
        self.compare_action = QAction("Compare", self, checkable=True)
        self.compare_action.setToolTip("Every computed method side by side (C)")
        self.compare_action.setShortcut(QKeySequence("C"))
        for action in (self.single_action, self.compare_action):
            group.addAction(action)
            tb.addAction(action)
        group.triggered.connect(
            lambda a: self.set_mode("compare" if a is self.compare_action else "single")
        )
        tb.addSeparator()
        tb.addWidget(QLabel(" Show: "))
        self.method_combo = QComboBox()
        self.method_combo.setMinimumContentsLength(16)
        self.method_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.method_combo.activated.connect(
            lambda i: self.set_current_method(self.method_combo.itemData(i) or "")
        )
        tb.addWidget(self.method_combo)
        self.fit_action = QAction(
            "Fit", self, shortcut=QKeySequence("F"), toolTip="Fit the image to the window (F)"
        )
        self.fit_action.triggered.connect(self.canvas.zoom_fit)
        self.zoom100_action = QAction(
            "100%", self, shortcut=QKeySequence("1"), toolTip="One image pixel per screen pixel (1)"
        )
        self.zoom100_action.triggered.connect(self.canvas.zoom_100)
        tb.addAction(self.fit_action)
        tb.addAction(self.zoom100_action)
        tb.addSeparator()
        tb.addWidget(QLabel(" Opacity: "))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setToolTip("Heatmap opacity (changes the view only; nothing reruns)")
        self.opacity_label = QLabel("50%")
        self.opacity_label.setMinimumWidth(
            self.opacity_label.fontMetrics().horizontalAdvance("100% ")
        )
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        tb.addWidget(self.opacity_slider)
        tb.addWidget(self.opacity_label)
        tb.addSeparator()
        tb.addWidget(QLabel(" Colormap: "))
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItem("auto", AUTO)
        for name in maps.colormap_names():
            self.cmap_combo.addItem(name, name)
        self.cmap_combo.setToolTip(
            "auto: inferno, a sequential map, for unsigned methods; RdBu_r, a diverging map "
            "centred on zero, for signed ones (Integrated Gradients)"
        )
        self.cmap_combo.currentIndexChanged.connect(self._on_cmap)
        tb.addWidget(self.cmap_combo)

    # ---- settings-like state ----
    def opacity(self) -> float:
        return self.opacity_slider.value() / 100.0

    def set_opacity(self, value: float) -> None:
        self.opacity_slider.setValue(round(float(value) * 100))

    def _on_opacity(self, value: int) -> None:
        self.opacity_label.setText(f"{value}%")
        self.canvas.set_opacity(value / 100.0)
        self.compare.set_opacity(value / 100.0)

    def colormap_setting(self) -> str:
        return str(self.cmap_combo.currentData())

    def set_colormap_setting(self, name: str) -> None:
        index = self.cmap_combo.findData(name)
        self.cmap_combo.setCurrentIndex(max(index, 0))

    def _on_cmap(self, _index: int) -> None:
        self._refresh()

    def report_cmap(self) -> str | None:
        """The colormap to pass to the renderer: None means each map's default (auto)."""
        setting = self.colormap_setting()
        return None if setting == AUTO else setting

    def cmap_for(self, mid: str) -> str:
        signed = self.infos[mid].signed if mid in self.infos else False
        return self.report_cmap() or (maps.DEFAULT_SIGNED_CMAP if signed else maps.DEFAULT_CMAP)

    def mode(self) -> str:
        return "compare" if self.stack.currentWidget() is self.compare else "single"

    def set_mode(self, mode: str) -> None:
        compare = mode == "compare"
        self.stack.setCurrentWidget(self.compare if compare else self.canvas)
        (self.compare_action if compare else self.single_action).setChecked(True)
        self.fit_action.setEnabled(not compare)
        self.zoom100_action.setEnabled(not compare)
        self.method_combo.setEnabled(not compare)
        self._refresh()
        self.mode_changed.emit(mode)

    # ---- content ----
    def set_image(self, rgb: np.ndarray | None) -> None:
        self.rgb = rgb
        self.crop = None
        self._cache.clear()
        self.results = {}
        self.canvas.set_image(rgb)
        if rgb is not None:
            h, w = rgb.shape[:2]
            s = min(1.0, TILE_SIDE / max(h, w))
            size = (max(round(h * s), 1), max(round(w * s), 1))
            from PIL import Image

            small = Image.fromarray(rgb).resize(size[::-1], Image.Resampling.LANCZOS)
            self._small = np.asarray(small)
            self._small_pixmap = QPixmap.fromImage(rgb_to_qimage(self._small))
        else:
            self._small = None
            self._small_pixmap = QPixmap()
        self._refresh()

    def set_results(
        self,
        results: dict[str, MethodResult],
        pending: list[str],
        pending_note: str = tiles.COMPUTING,
        skipped: dict[str, str] | None = None,
    ) -> None:
        """The maps to show; `pending` methods get a tile saying `pending_note` (computing, or
        cancelled), `skipped` ones (id -> reason) a tile saying why they did not run."""
        stale = [k for k in self._cache if k[0] not in results or k[1] != id(results[k[0]])]
        for k in stale:
            del self._cache[k]
        self.results = dict(results)
        self.pending = list(pending)
        self.pending_note = pending_note
        self.skipped = dict(skipped or {})
        self._refresh()

    def current_method(self) -> str:
        """The method shown in the single view ("" for the original image)."""
        pref = self._preferred
        if pref is not None and (pref == "" or pref in self.results):
            return pref
        return next(iter(self.results), "")

    def set_current_method(self, mid: str) -> None:
        self._preferred = mid
        self._refresh()
        self.method_changed.emit(mid)

    def _open_tile(self, key: str) -> None:
        self.set_current_method(key)
        self.set_mode("single")

    def heatmap(self, mid: str, small: bool = False) -> QPixmap | None:
        """The coloured heatmap of `mid` at the image's resolution (or the tiles').

        For an image over BIG_PIXELS the full-resolution heatmap is coloured in a pool thread:
        None until it is ready, then the view refreshes itself."""
        result = self.results[mid]
        cmap = self.cmap_for(mid)
        key = (mid, id(result), cmap, small, self.crop)
        if key not in self._cache:
            image = self._small if small else self.rgb
            assert image is not None
            signed = self.infos[mid].signed if mid in self.infos else False
            scale = maps.scale_of(result.map, signed)  # as the report and the PNG export
            args = (result.map, self._map_size(image), signed, cmap)
            if small or image.shape[0] * image.shape[1] <= BIG_PIXELS:
                rgb = maps.heatmap_rgb(*args, scale=scale)
                self._cache[key] = QPixmap.fromImage(rgb_to_qimage(rgb))
            else:
                if key not in self._colouring:
                    self._colouring[key] = image
                    self._pool.submit(self._colour, key, args, scale)
                return None
        return self._cache[key]

    def _map_size(self, image: np.ndarray) -> tuple[int, int]:
        """(height, width) the map covers on `image`: all of it, or the face crop's part."""
        if self.crop is None or self.rgb is None:
            return image.shape[:2]
        s = image.shape[0] / self.rgb.shape[0]
        return max(round(self.crop.h * s), 1), max(round(self.crop.w * s), 1)

    def set_crop(self, box: Any) -> None:
        """The face crop the maps were computed on (None: the whole image)."""
        if box != self.crop:
            self.crop = box
            self._refresh()

    def _crop_fraction(self) -> tuple[float, float, float, float] | None:
        if self.crop is None or self.rgb is None:
            return None
        h, w = self.rgb.shape[:2]
        c = self.crop
        return c.x / w, c.y / h, c.w / w, c.h / h

    def _colour(self, key: tuple[object, ...], args: tuple[Any, ...], scale: float) -> None:
        """In the pool thread: numpy and Pillow only, no Qt object but the signal."""
        try:
            rgb = maps.heatmap_rgb(*args, scale=scale)
        except Exception:  # noqa: BLE001 - logged; the view keeps working without this overlay
            log.exception("colouring the heatmap %s failed", key[0])
            rgb = None
        try:
            self._colourer.done.emit(key, rgb)
        except RuntimeError:  # the window was closed meanwhile
            pass

    def _on_coloured(self, key: tuple[object, ...], rgb: np.ndarray | None) -> None:
        image = self._colouring.pop(key, None)
        mid = key[0]
        current = (
            image is not None
            and image is self.rgb
            and isinstance(mid, str)
            and mid in self.results
            and id(self.results[mid]) == key[1]
        )
        if rgb is not None and current:
            self._cache[key] = QPixmap.fromImage(rgb_to_qimage(rgb))
            self._refresh()

    def label_of(self, mid: str) -> str:
        return self.infos[mid].label if mid in self.infos else mid

    def _refresh(self) -> None:
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        self.method_combo.addItem("Original image", "")
        for mid in self.results:
            self.method_combo.addItem(self.label_of(mid), mid)
        self.method_combo.setCurrentIndex(max(self.method_combo.findData(self.current_method()), 0))
        self.method_combo.blockSignals(False)
        mid = self.current_method()
        if self.rgb is None:
            self.colorbar.setVisible(False)  # no map, no scale
            self.canvas.set_overlay(None)
            self.compare.set_tiles([])
            self.caption.setText("")
            return
        offset = (self.crop.x, self.crop.y) if self.crop is not None else (0, 0)
        self.canvas.set_overlay(self.heatmap(mid) if mid else None, offset)
        self.canvas.set_box(self.crop)
        if mid:
            signed = self.infos[mid].signed if mid in self.infos else False
            self.colorbar.set_colormap(
                self.cmap_for(mid), signed, maps.scale_of(self.results[mid].map, signed)
            )
        self.colorbar.setVisible(bool(mid) and self.mode() == "single")
        self._update_tiles()

    def _update_tiles(self) -> None:
        h, w = self.rgb.shape[:2] if self.rgb is not None else (0, 0)
        shown = [Tile("", "Original", f"{w} \u00d7 {h} px", self._small_pixmap)]
        for mid in self.results:
            shown.append(self._method_tile(mid))
        for mid in self.pending:
            if mid not in self.results:
                shown.append(
                    Tile(mid, self.label_of(mid), "", self._small_pixmap, None, self.pending_note)
                )
        for mid, reason in self.skipped.items():
            if mid not in self.results and mid not in self.pending:
                shown.append(
                    Tile(mid, self.label_of(mid), "not run", self._small_pixmap, None, reason)
                )
        self.compare.set_tiles(shown)

    def _method_tile(self, mid: str) -> Tile:
        result = self.results[mid]
        info = self.infos.get(mid)
        signed = bool(info and info.signed)
        subtitle, warn = tiles.subtitle(result, info)
        note = tiles.note(result)
        legend = None
        if not note.startswith("zero"):
            legend = tiles.legend(self.cmap_for(mid), signed, maps.scale_of(result.map, signed))
        heat = self.heatmap(mid, small=True)
        return Tile(
            mid, self.label_of(mid), subtitle, self._small_pixmap, heat, note, legend, warn,
            self._crop_fraction(),
        )  # fmt: skip

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)
