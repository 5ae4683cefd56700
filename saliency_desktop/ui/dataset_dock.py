"""The data-set view in the window (issue 19): a dock around `DatasetPanel`, opened from
File > Open data set, by dropping a labelled folder or a CSV, and reopened from View.

Selecting a row opens that image in the main canvas with the row's class as the target; the
contrast "predicted vs true" goes through the session's contrast entry point where the build
has one, and says why it is unavailable where it has not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QWidget

from saliency_desktop.engine import is_image_name
from saliency_desktop.ui.dataset_view import TASK, DatasetPanel
from saliency_desktop.ui.jobs import Kind, route

NO_CONTRAST = (
    "The contrast 'predicted vs true' needs the contrastive maps (issue 16), which this "
    "build does not have yet: the predicted class is explained alone."
)


def is_dataset_source(path: str) -> bool:
    """A CSV file, or a folder with at least one subfolder that holds an image (ImageFolder)."""
    p = Path(path)
    if p.is_file():
        return p.suffix.lower() == ".csv"
    if not p.is_dir():
        return False
    try:
        for sub in p.iterdir():
            if sub.is_dir() and any(c.is_file() and is_image_name(c) for c in sub.iterdir()):
                return True
    except OSError:
        return False
    return False


def contrast_unavailable(session: Any) -> str:
    """Why the session cannot explain one class against another ("" when it can)."""
    return "" if callable(getattr(session, "explain_class", None)) else NO_CONTRAST


class DatasetDock(QDockWidget):
    """The dock; `status` carries the messages for the window's status bar."""

    status = Signal(str)

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__("Data set", parent)
        self.setObjectName("dock-dataset")
        self.session = session
        self.panel = DatasetPanel(session.client)
        self.setWidget(self.panel)
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.panel.status.connect(self.status)
        self.panel.explain_requested.connect(self.explain)
        session.client.event.connect(route({(TASK, Kind.FAILED): self.status.emit}))
        reason = contrast_unavailable(session)
        if reason:
            self.panel.contrast_button.setToolTip(reason)

    def open_source(self, source: str) -> None:
        """Show the dock and predict every image of `source` (a folder or a CSV)."""
        first = self.isHidden() and not self.isFloating()
        self.show()
        self.raise_()
        window = self.parentWidget()
        if first and window is not None:  # a third of the window: the maps keep their room
            window.resizeDocks([self], [window.height() // 3], Qt.Orientation.Vertical)
        name = Path(source).name or source
        if self.session.model is None:
            self.status.emit(f"Load a model first: {name} is predicted by the model.")
            self.panel.summary.setText("No model is loaded: choose one in the Model menu.")
            return
        self.status.emit(f"Predicting the images of {name}...")
        self.panel.open_source(os.path.abspath(source))

    def explain(self, path: str, target: int, contrast: int | None) -> None:
        """Open `path` in the main canvas (once in the strip) with `target` as its class."""
        s = self.session
        path = os.path.abspath(path)
        key = next(
            (k for k, e in s.entries.items() if e.path and os.path.abspath(e.path) == path), None
        )
        if key is None:
            added = s.add_paths([path], select=False)
            if not added:
                return
            key = added[0].key
        reason = contrast_unavailable(s)
        if key != s.current_key:
            if not reason:
                s.contrast = None if contrast == target else contrast  # for the job select starts
            s.select(key, target=int(target))
        elif not reason:
            s.explain_class(int(target), contrast)
        elif s.target != target:
            s.set_target(int(target))
        label = Path(path).name
        if contrast is not None and reason:
            self.status.emit(reason)
        elif contrast is not None:
            self.status.emit(f"Explaining {label}: predicted vs true class.")
        else:
            self.status.emit(f"Explaining {label} for its predicted class.")
