"""Issue 16 in the app: the Neurons dock, contrastive maps and the localization box.

`attach_insight(...)` is the main window's one hook: it adds the Neurons dock (tabbed with
Details), wires the predictions' "Explain against this class" to the session, and adds
View > Localization box, which draws the shown map's box on the canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from saliency_desktop.ui.box_overlay import BoxOverlay
from saliency_desktop.ui.neurons_panel import NeuronsPanel

if TYPE_CHECKING:
    from saliency_desktop.ui.predictions import PredictionsPanel
    from saliency_desktop.ui.session import Session
    from saliency_desktop.ui.view_panel import ViewPanel

AddDock = Callable[[str, QWidget, Qt.DockWidgetArea], QDockWidget]


@dataclass
class Insight:
    neurons: NeuronsPanel
    dock: QDockWidget
    box: BoxOverlay
    box_action: QAction


def attach_insight(
    window: QMainWindow,
    session: Session,
    view: ViewPanel,
    predictions: PredictionsPanel,
    details: QDockWidget,
    add_dock: AddDock,
) -> Insight:
    """The Neurons dock (made by `add_dock`, tabbed behind `details`), the predictions'
    contrast class and View > Localization box, wired to `session` and `view`."""
    s = session
    panel = NeuronsPanel(s, s.client)
    dock = add_dock("Neurons", panel, Qt.DockWidgetArea.RightDockWidgetArea)
    window.tabifyDockWidget(details, dock)
    details.raise_()  # Details stays in front; Neurons computes only when shown
    s.model_ready.connect(lambda st: panel.set_layers(list(st.info.layers), st.info.default_layer))
    s.image_shown.connect(lambda _entry: panel.invalidate())
    predictions.contrast_chosen.connect(s.set_contrast)

    box = BoxOverlay(view.canvas)
    action = QAction("Localization &box", window)
    action.setCheckable(True)
    action.setShortcut("B")
    action.setToolTip("The box of the shown map: largest region above 15 % of its maximum")

    def show_channel(pixmap: Any, caption: str) -> None:
        """A channel's map over the image, like a saliency map, until the view shows a method."""
        view.set_mode("single")
        view.canvas.set_overlay(pixmap)
        view.colorbar.setVisible(False)  # the method's colour scale does not apply
        view.set_caption(caption)
        box.update(None, None)

    def update_box() -> None:
        mid = view.current_method()
        result = view.results.get(mid) if mid else None
        size = view.rgb.shape[:2] if view.rgb is not None else None
        box.update(None if result is None else result.map, size)

    def toggle(on: bool) -> None:
        box.enabled = on
        update_box()

    panel.overlay_ready.connect(show_channel)
    action.toggled.connect(toggle)
    menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&View"), None)
    if menu is not None:
        menu.addAction(dock.toggleViewAction())  # beside the other docks: reopened from View
        menu.addSeparator()
        menu.addAction(action)
    else:
        window.addAction(action)
    s.results_changed.connect(lambda _shown: update_box())
    view.method_changed.connect(lambda _m: update_box())
    s.image_shown.connect(lambda _e: update_box())
    return Insight(panel, dock, box, action)
