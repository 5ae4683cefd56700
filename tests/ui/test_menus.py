"""Menus, shortcuts, dialogs and the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence

from saliency_desktop.ui import dialogs
from saliency_desktop.ui.engine_api import ModelRequest
from tests.ui.fake_engine import FakeEngine
from tests.ui.helpers import open_and_wait


def test_status_bar_says_loading_then_model_and_device(qtbot, make_window):
    win = make_window(model=False)
    messages: list[str] = []
    win.session.status.connect(messages.append)
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.load_model(ModelRequest("dog-breeds"))
    assert messages[0].startswith("Loading TensorFlow")
    label = "Dog breeds (MobileNetV2, 19 classes)  \u00b7  CPU (fake)  \u00b7  TensorFlow"
    assert win.model_label.text() == label  # model, device and Keras backend
    assert win.menus.models["dog-breeds"].isChecked()
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.menus.models["emotions"].trigger()
    assert win.menus.models["emotions"].isChecked()


def test_shortcuts(qtbot, make_window):
    win = make_window()
    a = win.menus.actions
    v = win.view
    expected = {
        a["open"]: QKeySequence.StandardKey.Open,
        a["quit"]: QKeySequence.StandardKey.Quit,
    }
    for action, key in expected.items():
        assert action.shortcut() == QKeySequence(key)
    assert a["export_report"].shortcut().toString() == "Ctrl+E"
    assert a["copy"].shortcut().toString() == "Ctrl+Shift+C"
    assert a["cancel"].shortcut().toString() == "Esc"
    assert v.fit_action.shortcut().toString() == "F"
    assert v.zoom100_action.shortcut().toString() == "1"


def test_recent_and_samples_menus(qtbot, make_window, image_file):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    recent = [x.statusTip() for x in win.menus.recent.actions() if x.statusTip()]
    assert recent == [image_file]
    samples = {x.text(): x.statusTip() for x in win.menus.samples.actions() if x.statusTip()}
    assert "chelsea.png (bundled)" in samples and "grace_hopper.jpg (bundled)" in samples
    assert all(Path(p).is_file() for p in samples.values())
    next(x for x in win.menus.samples.actions() if x.text() == "chelsea.png (bundled)").trigger()
    qtbot.waitUntil(lambda: win.session.current_entry().name == "chelsea.png", timeout=3000)
    assert [x.statusTip() for x in win.menus.recent.actions() if x.statusTip()] == recent
    win.clear_recent()
    assert not win.menus.recent.isEnabled()


def test_open_model_dialog_builds_the_request(qtbot):
    dialog = dialogs.OpenModelDialog()
    qtbot.addWidget(dialog)
    assert not dialog.open_button.isEnabled()
    dialog.path_edit.setText("/models/net.keras")
    dialog.prep_combo.setCurrentIndex(dialog.prep_combo.findData("caffe"))
    dialog.labels_edit.setText("/models/labels.txt")
    assert dialog.open_button.isEnabled()
    assert dialog.request() == ModelRequest(
        "/models/net.keras", "caffe", "/models/labels.txt", False
    )
    dialog.trust_box.setChecked(True)
    assert dialog.request().trust_model


def test_trust_is_never_remembered(qtbot, make_window):
    win = make_window()
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.load_model(ModelRequest("/models/net.keras", "unit", None, True))
    last = win.settings.last_model()
    assert last is not None and last.spec == "/models/net.keras" and not last.trust_model


def test_about_and_log_dialogs_open(qtbot, make_window):
    from saliency_desktop.ui.log import setup_logging

    win = make_window(FakeEngine())
    text = dialogs.about_html(win.session.model.versions, win.session.model, win.engine.catalogue())
    about = dialogs.AboutDialog(text, win)
    qtbot.addWidget(about)
    about.show()
    assert "Saliency Desktop" in about.windowTitle()
    path = setup_logging()
    log = dialogs.LogDialog(path, win)
    qtbot.addWidget(log)
    log.show()
    assert path is not None and path.name == "saliency-desktop.log"


def test_the_menus_are_built_from_the_action_table(qtbot, make_window):
    """Each entry of `menus.ACTIONS` is one action in its menu, in the table's order, with its
    shortcut; no two entries share a shortcut."""
    from saliency_desktop.ui.menus import ACTIONS, MENUS

    win = make_window()
    bar = {m.title(): m for m in (a.menu() for a in win.menuBar().actions()) if m is not None}
    for key, title in MENUS:
        in_menu = [a for a in bar[title].actions() if a in win.menus.actions.values()]
        specs = [s for s in ACTIONS if s.menu == key and s.id[0] not in "-@"]
        assert [win.menus.actions[s.id] for s in specs] == in_menu, title
    keys = [QKeySequence(s.shortcut).toString() for s in ACTIONS if s.shortcut is not None]
    assert len(keys) == len(set(keys))
    assert win.menus.actions["open_dataset"].shortcut().toString() == "Ctrl+D"
