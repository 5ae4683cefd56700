"""A picture of the window with Model > Engine backend open (for looking at, and the README).

    python -m tests.ui.shot_backend_menu OUT.png [--fake] [--missing torch] [--image IMG]

The menus are windows of their own, so the screen is grabbed, not the main window: run it on
the offscreen platform or on the real one (`xvfb-run -a` on Linux). `--missing` greys a backend
out as if its framework were not installed, and hovers it so its tooltip shows; `--fake` uses
the tests' fake engine (no TensorFlow). Not collected by pytest (no `test_` prefix).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QRect
from PySide6.QtGui import QAction, QHelpEvent
from PySide6.QtWidgets import QApplication, QMenu

from saliency_desktop.ui import backend_choice
from saliency_desktop.ui.app import application, save_png
from saliency_desktop.ui.engine_api import EngineAdapter, ModelRequest
from saliency_desktop.ui.main_window import MainWindow
from saliency_desktop.ui.settings import Settings

SAMPLE = Path(__file__).parents[2] / "saliency_desktop/resources/samples/dog_on_porch.jpg"


def wait(seconds: float, done=lambda: False) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end and not done():
        QApplication.processEvents()
        time.sleep(0.01)


def open_backend_menu(win: MainWindow) -> QMenu:
    """Model open, Engine backend open beside it, as a mouse would leave them."""
    bar = win.menuBar()
    model = next(a for a in bar.actions() if a.text().replace("&", "") == "Model")
    bar.setActiveAction(model)
    wait(0.3)
    choice = win.menus.backend
    model.menu().setActiveAction(choice.menu.menuAction())
    wait(0.3)
    if not choice.menu.isVisible():  # some styles open a submenu only after a hover delay
        item = model.menu().actionGeometry(choice.menu.menuAction())
        choice.menu.popup(model.menu().mapToGlobal(item.topRight()))
        wait(0.3)
    return choice.menu


def hover(menu: QMenu, action: QAction) -> None:
    """The tooltip of an entry, as a hover shows it (a help event at its centre)."""
    pos = menu.actionGeometry(action).center()
    QApplication.sendEvent(menu, QHelpEvent(QEvent.Type.ToolTip, pos, menu.mapToGlobal(pos)))
    wait(0.5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--fake", action="store_true")
    ap.add_argument("--missing", default="")
    ap.add_argument("--image", default=str(SAMPLE))
    args = ap.parse_args(argv)
    missing = {m for m in args.missing.split(",") if m}
    if missing:
        real = backend_choice.installed
        backend_choice.installed = lambda name: name not in missing and real(name)  # type: ignore[assignment]
    app = application()
    if args.fake:
        from tests.ui.fake_engine import FakeEngine

        engine = FakeEngine()
    else:
        engine = EngineAdapter()
    settings = Settings(Path(tempfile.mkdtemp()) / "shot.ini")
    win = MainWindow(engine=engine, settings=settings, persist=False)
    win.tree.set_selected(None)
    win.resize(1200, 720)
    win.move(0, 0)
    win.show()
    win.load_model(ModelRequest(engine.default_model()))
    win.open_paths([args.image], recent=False)
    wait(600, lambda: win.session.model is not None and win.session.explanation() is not None)
    wait(1.0)
    menu = open_backend_menu(win)
    for name in missing:
        hover(menu, win.menus.backend.actions[name])
    frame = win.frameGeometry().united(menu.geometry()).adjusted(-8, -8, 8, 8)
    shot = (
        app.primaryScreen()
        .grabWindow(0)
        .copy(frame.intersected(QRect(QPoint(0, 0), app.primaryScreen().size())))
    )
    save_png(shot, Path(args.out))
    print(f"saved {args.out} ({shot.width()}x{shot.height()}); status: {win.model_label.text()}")
    print("menu:", [(a.text(), a.isEnabled(), a.isChecked(), a.toolTip()) for a in menu.actions()])
    menu.close()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
