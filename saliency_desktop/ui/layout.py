"""The window's dock layout: minimum sizes that keep names readable, the default layout (View >
Reset layout), and the rule that a collapsed layout is never saved nor restored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QDockWidget, QWidget


class DockedWindow(Protocol):
    """What the layout needs of the main window: its four main docks and their areas, the
    central view, and QMainWindow's dock calls."""

    docks: list[QDockWidget]  # Images, Methods, Predictions, Details
    dock_areas: list[Qt.DockWidgetArea]
    view: QWidget

    def fontMetrics(self) -> QFontMetrics: ...  # noqa: N802 (Qt names)
    def addDockWidget(self, area: Qt.DockWidgetArea, dock: QDockWidget) -> None: ...  # noqa: N802
    def splitDockWidget(self, a: QDockWidget, b: QDockWidget, o: Qt.Orientation) -> None: ...  # noqa: N802
    def resizeDocks(self, d: Sequence[QDockWidget], s: list[int], o: Qt.Orientation) -> None: ...  # noqa: N802
    def tabifyDockWidget(self, first: QDockWidget, second: QDockWidget) -> None: ...  # noqa: N802
    def findChildren(self, kind: Any, options: Any = ...) -> list[Any]: ...  # noqa: N802
    def restoreState(self, state: QByteArray) -> bool: ...  # noqa: N802


H = Qt.Orientation.Horizontal
V = Qt.Orientation.Vertical


def minimum_widths(win: DockedWindow) -> dict[str, int]:
    """Per dock: the narrowest width at which its names and settings still read whole."""
    fm = win.fontMetrics()
    adv = fm.horizontalAdvance
    return {
        "dock-images": adv("grace_hopper.jpg") + 80,  # thumbnail + a typical file name
        "dock-methods": adv("Integrated Gradients") + adv("gausslegendre") + 60,
        "dock-predictions": adv("Staffordshire bullterrier") + 60,
        "dock-details": adv("completeness gap \u03b4  0.0123") + 40,
    }


def apply_minimums(win: DockedWindow) -> None:
    widths = minimum_widths(win)
    for dock in win.docks:
        dock.widget().setMinimumWidth(widths.get(dock.objectName(), 160))
    win.view.setMinimumWidth(320)


def default_layout(win: DockedWindow) -> None:
    """Every dock shown, docked where it belongs, at its default size."""
    for dock, area in zip(win.docks, win.dock_areas, strict=True):
        dock.setFloating(False)
        win.addDockWidget(area, dock)
        dock.show()
    left, right = win.docks[:2], win.docks[2:]
    win.splitDockWidget(left[0], left[1], V)
    win.splitDockWidget(right[0], right[1], V)
    win.resizeDocks(left, [330, 330], H)
    win.resizeDocks(right, [250, 250], H)
    win.resizeDocks(right, [230, 570], V)
    win.resizeDocks(left, [200, 600], V)
    # the other docks (Trust, Neurons) are tabs beside Details, which stays in front
    direct = Qt.FindChildOption.FindDirectChildrenOnly
    wide = getattr(win, "dataset", None)  # the data set's table needs the window's width
    if wide is not None:
        wide.setFloating(False)
        win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, wide)  # shown as it was
    for dock in win.findChildren(QDockWidget, options=direct):
        if dock not in win.docks and dock is not wide:
            dock.setFloating(False)
            win.tabifyDockWidget(win.docks[3], dock)
            dock.show()
    win.docks[3].raise_()


def collapsed(win: DockedWindow) -> bool:
    """True when a docked, visible panel is narrower than its readable minimum."""
    widths = minimum_widths(win)
    return any(
        dock.isVisible()
        and not dock.isFloating()
        and dock.widget().width() < widths.get(dock.objectName(), 0) - 2
        for dock in win.docks
    )


def restore(win: DockedWindow, state: QByteArray | None) -> None:
    """Restore a saved dock state, unless it is collapsed: then the default layout."""
    if state is not None and win.restoreState(state) and not collapsed(win):
        return
    default_layout(win)
