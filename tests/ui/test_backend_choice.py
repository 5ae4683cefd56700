"""Model > Engine backend: the choice, its saved preference and the switch (fake engine).

The switch with the real engine (maps equal to a fresh process on the new backend) is
`test_backend_switch_real.py`.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from saliency_desktop.ui import backend_choice
from saliency_desktop.ui.engine_api import ModelRequest
from tests.ui.fake_engine import FakeEngine
from tests.ui.helpers import open_and_wait, wait_done


def test_only_installed_backends_can_be_chosen(qtbot, make_window, monkeypatch):
    real = backend_choice.importlib.util.find_spec
    monkeypatch.setattr(
        backend_choice.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "torch" else real(name, *a),
    )
    win = make_window()
    actions = win.menus.backend.actions
    assert [a.text() for a in actions.values()] == ["TensorFlow", "JAX", "PyTorch"]
    assert not actions["torch"].isEnabled()
    assert "pip install 'saliency-desktop[torch]'" in actions["torch"].statusTip()
    assert actions["tensorflow"].isEnabled() and actions["tensorflow"].isChecked()
    menu = win.menus.backend.menu  # hovering the greyed entry says what to install
    menu.popup(win.mapToGlobal(QPoint(40, 40)))
    qtbot.waitExposed(menu)
    pos = menu.actionGeometry(actions["torch"]).center()
    QApplication.sendEvent(menu, QHelpEvent(QEvent.Type.ToolTip, pos, menu.mapToGlobal(pos)))
    qtbot.waitUntil(QToolTip.isVisible, timeout=2000)
    assert QToolTip.text() == "PyTorch is not installed: pip install 'saliency-desktop[torch]'"
    QToolTip.hideText()
    menu.close()


def test_switching_reloads_the_model_and_recomputes_on_the_new_backend(
    qtbot, make_window, image_file, settings
):
    engine = FakeEngine()
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    assert win.model_label.text().endswith("TensorFlow")
    calls = len(engine.explain_calls)
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.menus.backend.actions["jax"].trigger()
    qtbot.waitUntil(lambda: len(engine.explain_calls) > calls, timeout=5000)
    assert engine.switch_calls == ["jax"]
    assert engine.load_calls == ["dog-breeds", "dog-breeds"]  # reloaded from its file
    assert win.model_label.text().endswith("JAX")  # backend (and device) in the status bar
    assert win.menus.backend.actions["jax"].isChecked()
    assert backend_choice.saved(settings) == "jax"
    assert win.session.current_entry().rgb is not None  # the images stay


@pytest.fixture
def shown(monkeypatch) -> list[str]:
    """The messages the app's error dialog would show."""
    messages: list[str] = []
    monkeypatch.setattr(
        "saliency_desktop.ui.dialogs.show_error", lambda _w, _t, message: messages.append(message)
    )
    return messages


def test_a_failed_switch_keeps_the_backend_and_says_why(qtbot, make_window, settings, shown):
    engine = FakeEngine()
    win = make_window(engine)
    choice = win.menus.backend
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        choice.choose("numpy")  # the fake engine refuses it, as the real one would
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "Unknown backend" in shown[0]
    assert choice.current == "tensorflow" and choice.actions["tensorflow"].isChecked()
    assert backend_choice.saved(settings) is None  # nothing saved
    assert win.model_label.text().endswith("TensorFlow")


def test_a_savedmodel_folder_stays_on_tensorflow(qtbot, make_window, tmp_path, shown):
    engine = FakeEngine()
    win = make_window(engine)
    win.session.model.request = ModelRequest(str(tmp_path))  # a folder: a SavedModel
    win.menus.backend.choose("torch")
    assert engine.switch_calls == [] and "SavedModel" in shown[0]
    assert win.menus.backend.actions["tensorflow"].isChecked()


def test_the_saved_backend_applies_at_start_unless_one_was_chosen(settings, monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    for name in ("KERAS_BACKEND", "SALIENCY_DESKTOP_BACKEND"):  # set first: put back after
        monkeypatch.setenv(name, "")  # (apply_saved sets KERAS_BACKEND, which must not leak)
        monkeypatch.delenv(name)
    assert backend_choice.apply_saved(settings) is None  # nothing saved: the default
    backend_choice.save(settings, "jax")
    assert backend_choice.apply_saved(settings) == "jax"
    assert backend_choice.running() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # --backend or the environment chose
    assert backend_choice.apply_saved(settings) is None


def test_the_loading_messages_name_the_backend(qtbot, make_window, monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # the engine thread imports it
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # --backend jax (or the saved choice)
    win = make_window(FakeEngine(backend="jax"), model=False)
    said: list[str] = []
    win.statusBar().messageChanged.connect(said.append)
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.load_model(ModelRequest("dog-breeds"))
    assert said[0] == "Loading JAX and the model..."
    said.clear()
    with qtbot.waitSignal(win.menus.backend.switched, timeout=5000):
        win.menus.backend.choose("torch")
    assert said[0] == "Switching the engine to PyTorch and reloading the model..."
    said.clear()
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.load_model(ModelRequest("emotions"))
    assert said[0] == "Loading the model on PyTorch..."
    assert win.model_label.text().endswith("PyTorch")


def test_a_model_that_does_not_load_on_the_new_backend_switches_back(
    qtbot, make_window, image_file, settings, shown
):
    engine = FakeEngine(load_fails_on={"jax"})
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    calls = len(engine.explain_calls)
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.menus.backend.choose("jax")
        assert not win.menus.backend.actions["torch"].isEnabled()  # one switch at a time
        assert win.session.model is None  # nothing runs on the old model meanwhile
    qtbot.waitUntil(lambda: len(engine.explain_calls) > calls, timeout=5000)
    wait_done(qtbot, win)
    assert engine.switch_calls == ["jax", "tensorflow"]  # tried, then undone
    assert engine.stale_runs == []  # no job ever ran the model of the other backend
    assert "does not load on jax" in shown[0] and "back on TensorFlow" in shown[0]
    assert win.session.model.versions["backend"] == "tensorflow"  # reloaded there: usable
    assert win.menus.backend.actions["tensorflow"].isChecked()
    assert win.model_label.text().endswith("TensorFlow")
    assert backend_choice.saved(settings) is None  # the failed choice is not remembered


def test_a_model_that_loads_nowhere_leaves_no_model_to_run(
    qtbot, make_window, image_file, settings, shown
):
    engine = FakeEngine()
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    engine.load_fails_on = {"tensorflow", "jax"}  # e.g. the file was deleted since
    win.menus.backend.choose("jax")
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert "No model is loaded" in shown[0]
    assert win.session.model is None and win.model_label.text() == "No model"
    assert win.predictions.target_label.text() == "No prediction yet."  # not "Loading..."
    assert win.session.client.worker.model is None  # the old Keras objects are gone
    assert win.menus.backend.actions["tensorflow"].isChecked()  # where the engine is now
    win.session.explain_now()  # F5: nothing runs, nothing fails
    win.session.client.run_task("predict_dataset", "somewhere")
    qtbot.wait(200)
    assert engine.stale_runs == []
    assert win.session.current_entry().rgb is not None  # the images stay
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):  # and a model loads again
        engine.load_fails_on = set()
        win.load_model(ModelRequest("dog-breeds"))
    wait_done(qtbot, win)


def test_a_backend_that_fails_to_start_is_undone(qtbot, make_window, image_file, shown):
    engine = FakeEngine(breaks_on={"torch"})  # half-switched: the old model is stale too
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.menus.backend.choose("torch")
    wait_done(qtbot, win)
    assert engine.switch_calls == ["torch", "tensorflow"] and engine.stale_runs == []
    assert "torch failed to initialise" in shown[0] and "back on TensorFlow" in shown[0]
    assert engine.load_calls == ["dog-breeds", "dog-breeds"]  # reloaded on TensorFlow
    actions = win.menus.backend.actions
    assert [a.isEnabled() for a in actions.values()] == [  # can try again
        backend_choice.installed(name) for name in actions
    ]


def test_status_bar_and_about_give_device_and_backend_after_a_switch(
    qtbot, make_window, monkeypatch, shown
):
    from types import SimpleNamespace

    from saliency_desktop.ui import dialogs

    about: list[str] = []
    monkeypatch.setattr(  # Help > About: the text it would show (exec() would block)
        dialogs, "AboutDialog", lambda text, _parent: about.append(text) or SimpleNamespace(
            exec=lambda: 0, deleteLater=lambda: None)
    )  # fmt: skip
    engine = FakeEngine(devices={"jax": "GPU: fake H100"})
    win = make_window(engine)
    with qtbot.waitSignal(win.menus.backend.switched, timeout=5000):
        win.menus.backend.choose("jax")
    qtbot.waitUntil(lambda: "GPU" in win.model_label.text(), timeout=5000)
    assert win.model_label.text().endswith("\u00b7  GPU: fake H100  \u00b7  JAX")
    win.menus.actions["about"].trigger()
    assert "<td>Keras backend</td><td>JAX</td>" in about[-1]
    assert "<td>Device</td><td>GPU: fake H100</td>" in about[-1]
    engine.load_fails_on = {"tensorflow", "jax"}  # no model at all: About still says where
    win.menus.backend.choose("tensorflow")
    qtbot.waitUntil(lambda: win.session.model is None and bool(shown), timeout=5000)
    win.menus.actions["about"].trigger()
    assert "<td>Keras backend</td><td>JAX</td>" in about[-1] and "loading" not in about[-1]


def test_a_switch_during_a_load_brings_that_model_to_the_new_backend(qtbot, make_window):
    engine = FakeEngine(load_delay=1.0)
    win = make_window(engine, model=False)
    win.load_model(ModelRequest("emotions"))
    qtbot.waitUntil(lambda: bool(engine.load_calls), timeout=5000)  # the load is under way
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.menus.backend.choose("jax")
    assert win.session.model.request.spec == "emotions"  # not cancelled and lost
    assert win.session.model.versions["backend"] == "jax" and engine.stale_runs == []
    assert engine.load_calls == ["emotions", "emotions"]
