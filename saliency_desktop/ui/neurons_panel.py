"""The Neurons dock: which neurons fired, layer by layer, for the current image.

A layer tree (the same layers as `saliency-desktop layers MODEL`, nested models as branches)
with each layer's one-line summary (fraction of units active, mean and max activation), so the
series of layers from input to output reads as a strip; under it the chosen layer's top
channels, each a small map with its index and value. Clicking a channel overlays its map on the
canvas like a saliency map. The activations come from the engine thread (`neurons_job`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from saliency_desktop.render import maps
from saliency_desktop.ui.images import rgb_to_qimage
from saliency_desktop.ui.jobs import Kind, route
from saliency_desktop.ui.neurons_job import NEURONS, NeuronsRequest, NeuronsResult, neurons_job

ROLE_PATH = Qt.ItemDataRole.UserRole
ROLE_CHANNEL = Qt.ItemDataRole.UserRole
CMAP = "viridis"
ICON = 72


class NeuronsPanel(QWidget):
    overlay_ready = Signal(object, str)  # the clicked channel's QPixmap (image size), caption

    def __init__(self, session: Any, client: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.client = client  # EngineClient
        self.result: NeuronsResult | None = None
        self._dirty = True
        self._layer_items: dict[str, QTreeWidgetItem] = {}
        self.rank = QComboBox()
        self.rank.addItem("Mean", "mean")
        self.rank.addItem("Contribution", "contribution")
        # elided rather than widening the dock it shares with Details and Trust
        self.rank.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.rank.setMinimumContentsLength(6)
        self.rank.setToolTip(
            "Mean: the channel's mean activation. Contribution: Grad-CAM's channel weight "
            "(mean gradient of the class score) × mean activation"
        )
        self.top = QSpinBox()
        self.top.setRange(1, 64)
        self.top.setValue(16)
        self.top.setPrefix("top ")
        self.tree = QTreeWidget()
        # the mean is in each layer's tooltip and the note: the dock is narrow, names come first
        self.tree.setHeaderLabels(["Layer", "Active", "Max"])
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.tree.setIndentation(10)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setToolTip("Active: fraction of the layer's units > 0; Max: largest activation")
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(ICON, ICON))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSpacing(4)
        self.grid.setToolTip("Click a channel to overlay it on the image")
        self.note = QLabel("Open an image to see its activations.")
        self.note.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Rank by"))
        controls.addWidget(self.rank, 1)
        controls.addWidget(self.top)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.grid)
        split.setSizes([220, 320])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(split, 1)
        layout.addWidget(self.note)
        self.tree.currentItemChanged.connect(lambda *_: self.refresh())
        self.rank.currentIndexChanged.connect(lambda *_: self.refresh())
        self.top.valueChanged.connect(lambda *_: self.refresh())
        self.grid.itemClicked.connect(self._on_channel)
        done, failed = (NEURONS, Kind.DONE), (NEURONS, Kind.FAILED)
        client.event.connect(route({done: self.show_result, failed: self.note.setText}))

    # ---- inputs ----
    def set_layers(self, layers: list[Any], default: str | None) -> None:
        """The model's feature layers (`LayerInfo`s), nested by path; `default` selected."""
        self.tree.clear()
        self._layer_items = {}
        branches: dict[str, QTreeWidgetItem] = {}
        for info in layers:
            parts = info.path.split("/")
            parent: Any = self.tree
            for depth in range(1, len(parts)):
                key = "/".join(parts[:depth])
                if key not in branches:
                    branches[key] = QTreeWidgetItem(parent, [parts[depth - 1]])
                    branches[key].setExpanded(True)
                parent = branches[key]
            h, w, c = info.shape
            item = QTreeWidgetItem(parent, [parts[-1]])
            item.setData(0, ROLE_PATH, info.path)
            item.setToolTip(0, f"{info.path}: {h}×{w}×{c}")
            self._layer_items[info.path] = item
        self.invalidate()
        if default in self._layer_items:
            self.tree.setCurrentItem(self._layer_items[default])
            self.tree.scrollToItem(self._layer_items[default])

    def invalidate(self) -> None:
        """A new image or model: clear the channels and recompute when visible."""
        self.result = None
        self.grid.clear()
        for item in self._layer_items.values():
            for col in (1, 2):
                item.setText(col, "")
        self._dirty = True
        self.refresh()

    def current_layer(self) -> str | None:
        item = self.tree.currentItem()
        path = item.data(0, ROLE_PATH) if item is not None else None
        return path if isinstance(path, str) else None

    def refresh(self) -> None:
        """Ask the engine for the current layer's channels (only while the panel is shown)."""
        entry = self.session.current_entry()
        layer = self.current_layer()
        if not self.isVisible() or entry is None or entry.rgb is None or layer is None:
            return
        if self.session.model is None:
            return
        target = self.session.target
        explanation = self.session.explanation()
        if target is None and explanation is not None:
            target = explanation.target
        self.note.setText(f"Computing {layer}...")
        request = NeuronsRequest(
            entry.rgb, layer, self.top.value(), str(self.rank.currentData()), target, self._dirty
        )
        self.client.submit(NEURONS, neurons_job(request))
        self._dirty = False

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self.refresh()

    # ---- results ----
    def show_result(self, result: NeuronsResult) -> None:
        self.result = result
        acts = result.activations
        for s in result.summaries or []:
            item = self._layer_items.get(s.layer)
            if item is not None:
                item.setText(1, f"{100 * s.active_fraction:.0f} %")
                item.setText(2, f"{s.max:.2g}")
                h, w, c = s.shape
                item.setToolTip(
                    0,
                    f"{s.layer}: {h}×{w}×{c}; {100 * s.active_fraction:.1f} % of units active, "
                    f"mean {s.mean:.3g}, max {s.max:.3g}",
                )
        if self.tree.currentItem() is not None:
            self.tree.scrollToItem(self.tree.currentItem())
        self.grid.clear()
        scale = max(float(np.max(acts.maps)), 1e-12)
        for i, (k, value) in enumerate(zip(acts.indices, acts.values, strict=True)):
            rgb = maps.heatmap_rgb(acts.maps[i], (ICON, ICON), False, CMAP, 100.0, scale)
            item = QListWidgetItem(
                QIcon(QPixmap.fromImage(rgb_to_qimage(rgb))), f"#{int(k)}\n{float(value):.3g}"
            )
            item.setData(ROLE_CHANNEL, i)
            item.setToolTip(f"channel {int(k)}: {acts.rank} {float(value):.4g}")
            self.grid.addItem(item)
        s = acts.summary
        what = "mean activation" if acts.rank == "mean" else f"contribution to class {acts.target}"
        self.note.setText(
            f"{s.layer} ({'×'.join(map(str, s.shape))}): {100 * s.active_fraction:.1f} % of "
            f"units active, mean {s.mean:.3g}, max {s.max:.3g}; top {len(acts.indices)} by {what}."
        )

    def _on_channel(self, item: QListWidgetItem) -> None:
        i = item.data(ROLE_CHANNEL)
        entry = self.session.current_entry()
        if self.result is None or not isinstance(i, int) or entry is None or entry.rgb is None:
            return
        acts = self.result.activations
        caption = (
            f"<b>Neurons</b> · {acts.layer} · channel #{int(acts.indices[i])} "
            f"({acts.rank}: {float(acts.values[i]):.3g})"
        )
        self.overlay_ready.emit(self.channel_pixmap(i, entry.rgb), caption)

    def channel_pixmap(self, i: int, image: np.ndarray) -> QPixmap:
        """Channel i's map coloured at the image's resolution, on the grid's colour scale."""
        assert self.result is not None
        acts = self.result.activations
        scale = max(float(np.max(acts.maps)), 1e-12)
        rgb = maps.heatmap_rgb(acts.maps[i], image.shape[:2], False, CMAP, 100.0, scale)
        return QPixmap.fromImage(rgb_to_qimage(rgb))
