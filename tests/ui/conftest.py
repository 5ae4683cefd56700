"""UI tests: offscreen Qt, a private settings file and log folder, and the fake engine."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402

from tests.ui.fake_engine import FakeEngine, write_png  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _qt_test_paths(qapp):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QStandardPaths

    QStandardPaths.setTestModeEnabled(True)  # the log goes to ~/.qttest, not the user's folder
    qapp.setOrganizationName("saliency-desktop-tests")
    qapp.setApplicationName("Saliency Desktop tests")
    yield


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    from saliency_desktop.engine.registry import method_ids
    from saliency_desktop.ui.settings import Settings

    st = Settings(tmp_path / "settings.ini")
    # Every method chosen, so the tests see every tile; a fresh settings file chooses only the
    # methods on by default (test_method_defaults.py).
    st.set_methods(method_ids())
    return st


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def make_window(qtbot, settings):  # type: ignore[no-untyped-def]
    """make_window(engine=None, persist=True) -> a shown MainWindow with its model loaded."""
    from saliency_desktop.ui.engine_api import ModelRequest
    from saliency_desktop.ui.main_window import MainWindow

    windows = []

    def make(
        engine: FakeEngine | None = None, persist: bool = True, model: bool = True, settings_=None
    ):  # type: ignore[no-untyped-def]
        win = MainWindow(
            engine=engine or FakeEngine(), settings=settings_ or settings, persist=persist
        )
        qtbot.addWidget(win)
        win.show()
        windows.append(win)
        if model:
            with qtbot.waitSignal(win.session.model_ready, timeout=5000):
                win.load_model(ModelRequest("dog-breeds"))
        return win

    yield make
    for win in windows:
        win.close()
        assert not win.session.client.thread.isRunning()


@pytest.fixture
def image_file(tmp_path) -> str:
    return write_png(tmp_path / "photo.png", seed=1)
