"""The main window: composes the widgets, menus and docks, and wires them to the session."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QToolButton,
    QWidget,
)

from saliency_desktop.engine.types import Explanation, Prediction
from saliency_desktop.render import maps
from saliency_desktop.render.labels import display_label
from saliency_desktop.ui import dialogs, layout, menus, tiles
from saliency_desktop.ui.commands import CommandParts, Commands
from saliency_desktop.ui.dataset_dock import DatasetDock, is_dataset_source
from saliency_desktop.ui.details import DetailsPanel
from saliency_desktop.ui.engine_api import EngineAdapter, EngineLike, LoadedModelState, ModelRequest
from saliency_desktop.ui.icons import app_icon
from saliency_desktop.ui.image_strip import ImageStrip
from saliency_desktop.ui.images import ImageEntry, qimage_to_rgb
from saliency_desktop.ui.insight import attach_insight
from saliency_desktop.ui.method_tree import MethodTree
from saliency_desktop.ui.predictions import PredictionsPanel
from saliency_desktop.ui.session import Session, Shown
from saliency_desktop.ui.settings import Settings
from saliency_desktop.ui.trust_panel import TrustPanel
from saliency_desktop.ui.view_panel import ViewPanel

log = logging.getLogger(__name__)
TITLE = "Saliency Desktop"


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self,
        engine: EngineLike | None = None,
        settings: Settings | None = None,
        persist: bool = True,
    ) -> None:
        super().__init__()
        self.engine: EngineLike = engine or EngineAdapter()
        self.settings = settings or Settings()
        self.persist = persist  # False: read nothing back and save nothing (screenshot mode)
        self.setWindowTitle(TITLE)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.session = Session(self.engine, self)
        infos = list(self.session.infos.values())
        self.view = ViewPanel(self.session.infos)
        self.setCentralWidget(self.view)
        self.tree = MethodTree(infos)
        self.strip = ImageStrip()
        self.predictions = PredictionsPanel()
        self.details = DetailsPanel()
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.dock_areas = [left, left, right, right]
        self.docks = [
            self._dock("Images", self.strip, left),
            self._dock("Methods", self.tree, left),
            self._dock("Predictions", self.predictions, right),
            self._dock("Details", self.details, right),
        ]
        layout.apply_minimums(self)
        self.tree.set_unavailable_choices(getattr(self.engine, "unavailable_choices", dict)())
        self._layout_checked = False
        self.trust = TrustPanel(self.session.client, self)  # issue 13
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.trust)
        self.tabifyDockWidget(self.docks[3], self.trust)
        self.session.explanation_ready.connect(self.trust.set_explanation)
        self.dataset = DatasetDock(self.session, self)  # issue 19: hidden until a data set opens
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dataset)
        self.dataset.hide()
        self._build_status_bar()
        self.commands = Commands(self._command_parts())
        self.menus = menus.build_menus(self.menuBar(), self._menu_parts())
        self.insight = attach_insight(  # Neurons dock, A-vs-B maps, localization box
            self, self.session, self.view, self.predictions, self.docks[3], self._dock
        )
        self._connect()
        self._restore()

    # ---- construction ----
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _command_parts(self) -> CommandParts:
        return CommandParts(
            self, self.session, self.settings, self.view, self.statusBar().showMessage,
            self.open_paths, self.open_dataset, self.load_model,
        )  # fmt: skip

    def _menu_parts(self) -> menus.MenuParts:
        return menus.MenuParts(
            self, self.commands, self.session, self.settings, self.view, self.strip,
            self.close, self.reset_layout, self.set_face_crop, self.open_paths, self.load_model,
            self.clear_recent, docks=(*self.docks, self.trust, self.dataset),
        )  # fmt: skip

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.model_label = QLabel("No model")
        self.model_label.setToolTip("The model, the device and the Keras backend it runs on")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc)")
        self.cancel_button.clicked.connect(self.session.cancel)
        self.cancel_button.hide()
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)

    def _connect(self) -> None:
        s = self.session
        s.status.connect(lambda text: self.statusBar().showMessage(text))
        s.busy.connect(self._on_busy)
        s.progress.connect(self._on_progress)
        s.image_added.connect(self.strip.add_entry)
        s.thumbnail_ready.connect(self.strip.set_thumbnail)
        s.image_shown.connect(self._on_image_shown)
        s.image_error.connect(self._on_image_error)
        s.model_loading.connect(self._on_model_loading)
        s.model_ready.connect(self._on_model_ready)
        s.model_error.connect(self._on_model_error)
        s.model_cancelled.connect(self.commands.close_download)
        s.download.connect(self.commands.download_progress)
        s.results_changed.connect(self._on_results)
        s.explanation_ready.connect(self._on_explanation)
        s.predictions_ready.connect(self._on_predictions)
        s.job_failed.connect(lambda msg: dialogs.show_error(self, "Cannot explain the image", msg))
        self.tree.changed.connect(self._on_methods_changed)
        self.dataset.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.predictions.target_chosen.connect(s.set_target)
        self.strip.image_chosen.connect(s.select)
        self.view.method_changed.connect(lambda _m: self._update_caption())
        self.view.mode_changed.connect(lambda _m: self._update_caption())

    def _restore(self) -> None:
        st = self.settings
        self.resize(1440, 900)
        layout.default_layout(self)
        if self.persist:
            geometry, state = st.geometry(), st.window_state()
            if geometry is not None:
                self.restoreGeometry(geometry)
            layout.restore(self, state)
            self.session.rates.update(st.rates())
            self.session.confirm_heavy = self._confirm_heavy
            self.view.set_opacity(st.opacity)
            self.view.set_colormap_setting(st.colormap)
            self.tree.set_params(st.method_params())
            self.tree.set_selected(st.methods())
            menus.fill_recent(self.menus, st.recent_files())
        else:
            menus.fill_recent(self.menus, [])
        self._on_methods_changed(debounce=False)

    # ---- commands used by menus and app.run ----
    def open_paths(self, paths: list[str], recent: bool = True) -> None:
        paths = [os.path.abspath(p) for p in paths]
        if recent and self.persist:
            for path in reversed(paths):
                menus.fill_recent(self.menus, self.settings.add_recent(path))
            self.settings.set_last_dir("images", paths[0])
        self.session.add_paths(paths)

    def open_dataset(self, source: str) -> None:
        """A labelled folder or a `path,label` CSV, predicted in the data-set dock."""
        if self.persist:
            self.settings.set_last_dir("datasets", source)
        self.dataset.open_source(source)

    def reset_layout(self) -> None:
        """View > Reset layout: every panel back in place at its default size."""
        layout.default_layout(self)

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        super().showEvent(event)
        if not self._layout_checked:  # a restored layout that came out collapsed: the default
            self._layout_checked = True
            QTimer.singleShot(0, lambda: layout.collapsed(self) and layout.default_layout(self))

    def _offer_face_crop(self, face_model: bool) -> None:
        """Face crop: on by default for face models; disabled, with why, without a detector."""
        from saliency_desktop.engine import face_detector_missing as available

        action = self.menus.actions["face_crop"]
        reason = available()
        action.setEnabled(not reason)
        action.setToolTip(reason or action.statusTip())
        action.setChecked(face_model and not reason)
        self.session.face_crop = action.isChecked()

    def set_face_crop(self, on: bool) -> None:
        self.session.set_face_crop(on)

    def _confirm_heavy(self, seconds: float) -> bool:
        return dialogs.ask_heavy_job(self, seconds)

    def clear_recent(self) -> None:
        self.settings.clear_recent()
        menus.fill_recent(self.menus, [])

    def load_model(self, request: ModelRequest, label: str = "") -> None:
        catalogue = self.engine.catalogue()
        if not label:
            entry = catalogue.get(request.spec)
            label = entry.label if entry else request.spec.replace("\\", "/").rsplit("/", 1)[-1]
        self.session.load_model(request, label)

    # ---- session -> widgets ----
    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setValue(0)
        self._on_results(self.session.shown())

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(round(1000 * fraction))
        if message == "predicting":
            self.statusBar().showMessage("Predicting the class...")
        elif message and message not in ("done", "starting", "predicted"):
            n, total = len(self.session.results()), len(self.session.wanted())
            self.statusBar().showMessage(f"Computing the maps: {n} of {total} done ({message}).")

    def _on_image_shown(self, entry: ImageEntry) -> None:
        self.view.set_image(entry.rgb)
        self.strip.select_key(entry.key)
        self.predictions.clear()
        if self.session.explanation() is not None:  # kept from before: shown at once
            self.predictions.set_explanation(self.session.explanation())
        self.setWindowTitle(f"{entry.name} \u2014 {TITLE}")

    def _on_image_error(self, key: str, message: str) -> None:
        self.strip.set_error(key, message)
        self.statusBar().showMessage(message)  # also for the other images of a batch
        if key == self.session.current_key:
            self.view.set_image(None)
            self.predictions.clear()
            dialogs.show_error(self, "Cannot open the image", message)

    def _on_model_loading(self, label: str) -> None:
        self.model_label.setText(f"Loading {label}...")
        self.predictions.set_loading(label)

    def _on_model_ready(self, state: LoadedModelState) -> None:
        self.commands.close_download()
        self.model_label.setText(self.session.model_text())
        self.tree.set_model_info(state.info)
        entry = self.engine.catalogue().get(state.request.spec)
        domain = getattr(entry, "domain", "") if entry is not None else ""
        self._offer_face_crop(bool(getattr(entry, "faces", False)))
        self.predictions.set_domain(domain or f"its {len(state.info.labels)} classes")
        if self.session.current_key is None:  # no image to explain: not "Loading model..."
            self.predictions.clear()
        action = self.menus.models.get(state.request.spec)
        if action is not None:
            action.setChecked(True)
            action.setText(state.info.label)  # no "(download)" any more
        elif self.menus.model_group and self.menus.model_group.checkedAction():
            self.menus.model_group.checkedAction().setChecked(False)
        if self.persist:
            self.settings.set_last_model(state.request)
        self._on_methods_changed(debounce=False)

    def _on_model_error(self, message: str) -> None:
        self.commands.close_download()
        self.model_label.setText(self.session.model_text() if self.session.model else "No model")
        if self.session.model is None:  # not "Loading model..." for ever
            self.predictions.clear()
        dialogs.show_error(self, "Cannot load the model", message)

    def _on_methods_changed(self, debounce: bool = True) -> None:
        self.session.set_methods(
            self.tree.selected(), self.tree.params(), self.tree.layer(), debounce=debounce
        )
        self.dataset.panel.methods = self.tree.selected()  # for its mistakes grid

    def _on_results(self, shown: Shown) -> None:
        for mid, name in self.tree.heavy():
            self.tree.set_estimate(mid, name, self.session.estimate([mid], name))
        note = tiles.COMPUTING if shown.busy else tiles.CANCELLED
        self.view.set_crop(shown.face_box)
        self.view.set_results(shown.results, shown.pending, note, shown.skipped)
        self._update_caption()

    def _on_predictions(self, top_k: list[Prediction], target: int) -> None:
        """The first pass's predictions, shown while the maps are still being computed."""
        self.predictions.set_predictions(top_k, target)

    def _on_explanation(self, explanation: Explanation) -> None:
        self.predictions.set_explanation(explanation)
        self._update_caption()

    def _update_caption(self) -> None:
        e = self.session.explanation()
        mid = self.view.current_method()
        parts = []
        if self.view.mode() == "compare":
            mid = ""
            parts.append(
                f"Each map is scaled by its own {maps.DEFAULT_PERCENTILE:g}th percentile; "
                "double-click a tile to open it alone."
            )
        if mid:
            parts.append(f"<b>{self.view.label_of(mid)}</b>")
        if e is not None:
            parts.append(f"class: {display_label(e.target_label)}")
            shown = [mid] if mid else list(e.methods)  # the layer only where a CAM map is shown
            if e.layer and any(self.session.infos[m].needs_layer for m in shown if m in e.methods):
                parts.append(f"layer: {e.layer.rsplit('/', 1)[-1]}")
        self.view.set_caption("  \u00b7  ".join(parts))
        self.details.show_details(self.session.model, e, mid, self.session.infos)

    # ---- drag and drop ----
    @staticmethod
    def _paths(mime: QMimeData) -> list[str]:
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        if self._paths(mime) or mime.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        mime = event.mimeData()
        paths = self._paths(mime)
        if len(paths) == 1 and is_dataset_source(paths[0]):  # class subfolders or a CSV
            self.open_dataset(paths[0])
        elif paths:
            self.open_paths(paths)
        elif mime.hasImage():
            self.session.add_array(qimage_to_rgb(mime.imageData()))
        else:
            event.ignore()
            return
        event.acceptProposedAction()

    # ---- closing ----
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.persist:
            st = self.settings
            # a collapsed layout is never saved: the next start gets the default one
            st.save_window(
                self.saveGeometry(), None if layout.collapsed(self) else self.saveState()
            )
            st.set_rates(self.session.rates)
            st.opacity = self.view.opacity()
            st.colormap = self.view.colormap_setting()
            st.set_methods(self.tree.selected())
            st.set_method_params(self.tree.params())
            st.sync()
        self.hide()
        self.session.shutdown()
        self.commands.exporter.wait()
        event.accept()
        self.closed.emit()
