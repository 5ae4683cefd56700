"""`run()`: the app's entry point (called by `saliency-desktop gui`), and screenshot mode."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QEventLoop, QIODevice, QObject, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication

from saliency_desktop import __version__
from saliency_desktop.ui.engine_api import EngineLike, ModelRequest
from saliency_desktop.ui.settings import APPLICATION, ORGANIZATION, Settings

log = logging.getLogger(__name__)
SCREENSHOT_TIMEOUT_S = float(os.environ.get("SALIENCY_DESKTOP_SCREENSHOT_TIMEOUT", "900"))
SCREENSHOT_SIZE = (1440, 900)


def application() -> QApplication:
    """The QApplication (created once, with the names QSettings and the log folder use)."""
    app = QApplication.instance()
    if app is None:
        QApplication.setOrganizationName(ORGANIZATION)
        QApplication.setApplicationName(APPLICATION)
        app = QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    if not app.organizationName():
        app.setOrganizationName(ORGANIZATION)
    if not app.applicationName() or app.applicationName() == Path(sys.argv[0]).name:
        app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.saliency_desktop.SaliencyDesktop")
    from saliency_desktop.ui.icons import app_icon

    app.setWindowIcon(app_icon())
    return app


def _log_unhandled() -> None:
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.critical("unhandled exception", exc_info=(kind, exc, tb))
        previous(kind, exc, tb)

    sys.excepthook = hook


class Screenshot(QObject):
    """Waits for every result of the first image, grabs the whole window to `path`, closes."""

    def __init__(self, window: Any, path: Path, first_key: str | None, timeout_s: float) -> None:
        super().__init__(window)
        self.window, self.path, self.first_key = window, path, first_key
        self.rc: int | None = None
        self.started = time.monotonic()
        s = window.session
        s.job_done.connect(self._check)
        s.model_ready.connect(lambda _state: self._check())
        s.model_error.connect(lambda msg: self.fail(f"cannot load the model: {msg}"))
        s.job_failed.connect(lambda msg: self.fail(f"cannot explain the image: {msg}"))
        s.image_error.connect(self._image_error)
        self._timer = QTimer(self, singleShot=True, interval=int(timeout_s * 1000))
        self._timer.timeout.connect(
            lambda: self.fail(f"timed out after {timeout_s:.0f} s waiting for the results")
        )
        self._timer.start()

    def _image_error(self, key: str, message: str) -> None:
        if key == self.first_key:
            self.fail(message)

    def _check(self) -> None:
        s = self.window.session
        if self.rc is not None or s.model is None:
            return
        if self.first_key is not None and (
            s.current_key != self.first_key or s.missing() or s.explanation() is None
        ):
            return
        self.window.view.set_mode("compare")
        QTimer.singleShot(300, self._grab)  # let the layout settle and the tiles paint

    def _grab(self) -> None:
        if self.rc is not None:
            return
        QApplication.processEvents()
        pixmap = self.window.grab()
        try:
            save_png(pixmap, self.path)
        except OSError as exc:
            return self.fail(f"cannot write {self.path}: {exc.strerror or exc}")
        shown = [t.key for t in self.window.view.compare.tiles if t.heat is not None]
        print(
            f"saved {self.path} ({pixmap.width()}x{pixmap.height()}, "
            f"{time.monotonic() - self.started:.1f} s); maps: {', '.join(shown) or 'none'}"
        )
        self.finish(0)

    def fail(self, message: str) -> None:
        if self.rc is None:
            print(f"saliency-desktop: error: {message}", file=sys.stderr)
            self.finish(1)

    def finish(self, rc: int) -> None:
        self.rc = rc
        self._timer.stop()
        self.window.close()


def save_png(pixmap: QPixmap, path: Path) -> None:
    """`pixmap` as a PNG file at `path`, whole or not at all (the package's atomic writer)."""
    from saliency_desktop.atomic import atomic_file

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not pixmap.save(buffer, "PNG"):
        raise OSError(f"Qt could not encode a {pixmap.width()}x{pixmap.height()} PNG")
    buffer.close()
    with atomic_file(path, "wb", force=True) as f:
        f.write(data.data())


def run(
    images: Sequence[str | os.PathLike[str]] | None = None,
    model: str | None = None,
    methods: Sequence[str] | None = None,
    screenshot: str | os.PathLike[str] | None = None,
    preprocess: str | None = None,
    labels: str | os.PathLike[str] | None = None,
    trust_model: bool = False,
    *,
    params: dict[str, Any] | None = None,
    engine: EngineLike | None = None,
    settings: Settings | None = None,
    timeout_s: float | None = None,
) -> int:
    """Open the app (with these images and this model); returns the exit status.

    With `screenshot`, wait until every map of the first image is in, save a picture of the
    whole window there and exit 0 (non-zero with a message on error or after a timeout).
    `params` sets method parameters by method id (e.g. {"integrated_gradients": {"n_steps":
    16}}; a flat {"n_steps": 16} sets every method's `n_steps`); `engine` and `settings` are
    for tests.
    """
    created = QApplication.instance() is None
    app = application()
    from saliency_desktop.ui.log import setup_logging
    from saliency_desktop.ui.main_window import MainWindow

    log_file = setup_logging()
    _log_unhandled()
    log.info("starting Saliency Desktop %s (log: %s)", __version__, log_file)
    persist = screenshot is None
    if persist:  # the saved backend, before the engine thread imports Keras
        from saliency_desktop.ui.backend_choice import apply_saved

        settings = settings or Settings()
        apply_saved(settings)
    window = MainWindow(engine=engine, settings=settings, persist=persist)
    known = list(window.session.infos)  # the registry's order
    if methods:
        unknown = [m for m in methods if m not in known]
        if unknown:
            print(
                f"saliency-desktop: error: unknown method(s) {', '.join(unknown)}; known: "
                f"{', '.join(known)}",
                file=sys.stderr,
            )
            window.close()
            return 2
        window.tree.set_selected(list(methods))
    elif not persist:
        window.tree.set_selected(None)
    if params:
        window.tree.set_params(params)
    if model:
        request = ModelRequest(
            str(model), preprocess, None if labels is None else str(labels), trust_model
        )
    else:
        last = window.settings.last_model() if persist else None
        request = last or ModelRequest(window.engine.default_model())
    shot = None
    if screenshot is not None:
        window.resize(*SCREENSHOT_SIZE)
    paths = [str(p) for p in images or []]
    added = window.session.add_paths(paths) if paths and not persist else []
    if paths and persist:
        window.open_paths(paths)
    if screenshot is not None:
        first = added[0].key if added else None
        shot = Screenshot(window, Path(screenshot), first, timeout_s or SCREENSHOT_TIMEOUT_S)
    window.show()
    QTimer.singleShot(0, lambda: window.load_model(request))
    if created:
        window.closed.connect(app.quit)
        app.exec()
    else:  # inside a running Qt program (tests): a local loop until the window closes
        loop = QEventLoop()
        window.closed.connect(loop.quit)
        loop.exec()
    return shot.rc if shot is not None and shot.rc is not None else (1 if shot else 0)
