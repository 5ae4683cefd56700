"""Untrusted and broken model files in the app, with the real engine (TensorFlow loads here).

One window for the module; tiny models (8x8x3 inputs) are built here and saved as .keras/.h5.
Every failure is one line in a dialog, the previous model stays loaded and still explains, and
the log file keeps the traceback.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.engine.registry import list_methods
from tests.ui.helpers import job_event, wait_done

pytestmark = pytest.mark.e2e

CAM = tuple(i.id for i in list_methods() if i.needs_layer)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    import keras

    from tests.engine.tiny_model import tiny_cnn

    d = tmp_path_factory.mktemp("models")
    tiny_cnn(keras, seed=1).save(d / "good.keras")
    data = (d / "good.keras").read_bytes()
    (d / "truncated.keras").write_bytes(data[: len(data) // 2])
    (d / "corrupt.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    (d / "model.keras").write_text("a text file with a model's name\n", encoding="utf-8")
    vector = keras.Input((10,))
    keras.Model(vector, keras.layers.Dense(2)(vector)).save(d / "vector.keras")
    img = keras.Input((8, 8, 3))
    flat = keras.layers.Flatten()(img)
    keras.Model(img, [keras.layers.Dense(2)(flat), keras.layers.Dense(3)(flat)]).save(
        d / "two_outputs.keras"
    )
    other = keras.Input((8, 8, 3))
    both = keras.layers.Flatten()(keras.layers.Add()([img, other]))
    keras.Model([img, other], keras.layers.Dense(2)(both)).save(d / "two_inputs.keras")
    doubled = keras.layers.Lambda(lambda t: t * 2.0)(img)  # code stored in the file
    keras.Model(img, keras.layers.Dense(2)(keras.layers.Flatten()(doubled))).save(
        d / "lambda.keras"
    )
    hidden = keras.layers.Dense(5, activation="relu")(flat)  # no 4-D feature map at all
    keras.Model(img, keras.layers.Dense(3, activation="softmax")(hidden)).save(d / "flat.h5")
    tiny_cnn(keras, seed=7, final="linear").save(d / "logits.keras")
    return d


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("images") / "photo.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (20, 30, 3), np.uint8)).save(path)
    return str(path)


@pytest.fixture(scope="module")
def log_path(qapp) -> Path:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QStandardPaths

    from saliency_desktop.ui.log import setup_logging

    QStandardPaths.setTestModeEnabled(True)  # not the user's own data folder
    path = setup_logging()
    assert path is not None
    return path


@pytest.fixture(scope="module")
def window(qapp, log_path, tmp_path_factory):  # type: ignore[no-untyped-def]
    from saliency_desktop.ui.main_window import MainWindow
    from saliency_desktop.ui.settings import Settings

    win = MainWindow(
        settings=Settings(tmp_path_factory.mktemp("settings") / "s.ini"), persist=False
    )
    win.show()
    win.tree.set_params({"n_steps": 8})
    yield win
    win.close()
    assert not win.session.client.thread.isRunning()


@pytest.fixture
def errors(monkeypatch, window) -> Any:  # type: ignore[no-untyped-def]
    """(title, message) of every error box the window opens; the boxes are closed after."""
    from PySide6.QtWidgets import QMessageBox

    from saliency_desktop.ui import dialogs

    shown: list[tuple[str, str]] = []
    real = dialogs.show_error
    monkeypatch.setattr(
        dialogs,
        "show_error",
        lambda parent, title, text: shown.append((title, text)) or real(parent, title, text),
    )
    yield shown
    for box in window.findChildren(QMessageBox):
        box.close()


def wait_explained(qtbot, win, timeout: int = 120_000) -> None:  # type: ignore[no-untyped-def]
    wait_done(qtbot, win, timeout)


def load(qtbot, win, path: Path, trust: bool = False) -> None:  # type: ignore[no-untyped-def]
    from saliency_desktop.ui.engine_api import ModelRequest

    with qtbot.waitSignal(win.session.model_ready, timeout=300_000):
        win.load_model(ModelRequest(str(path), "unit", None, trust))


def with_good_model(qtbot, win, models: Path, photo: str) -> None:  # type: ignore[no-untyped-def]
    """good.keras loaded and the photo explained (whatever an earlier test left)."""
    model = win.session.model
    if model is None or model.request.spec != str(models / "good.keras"):
        load(qtbot, win, models / "good.keras")
    if win.session.current_entry() is None:
        win.open_paths([photo])
    wait_explained(qtbot, win)


def recompute(qtbot, win, n_steps: int) -> None:  # type: ignore[no-untyped-def]
    """A new Integrated Gradients job with the loaded model (a cached map proves nothing)."""
    win.tree.editor("integrated_gradients", "n_steps").setValue(n_steps)
    qtbot.waitUntil(
        lambda: (
            "integrated_gradients" in win.session.results()
            and win.session.results()["integrated_gradients"].params["n_steps"] == n_steps
        ),
        timeout=120_000,
    )
    wait_explained(qtbot, win)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("corrupt.h5", "corrupt.h5: damaged or not a Keras file"),
        ("truncated.keras", "truncated.keras: "),
        ("model.keras", "model.keras: "),  # a text file with a model's name
        ("vector.keras", "is not an image"),  # input (None, 10)
        ("two_outputs.keras", "2 outputs"),
        ("two_inputs.keras", "2 inputs"),
    ],
)
def test_a_bad_model_file_is_one_line_and_the_old_model_stays(
    qtbot, window, models, photo, log_path, errors, name, says
):
    with_good_model(qtbot, window, models, photo)
    start = log_path.stat().st_size
    steps = 8 + len(errors) + len(name)  # a value no earlier job used
    with qtbot.waitSignal(window.session.model_error, timeout=300_000) as blocker:
        window.load_model(_request(models / name))
    message = blocker.args[0]
    assert says in message
    assert "\n" not in message and "Traceback" not in message
    assert errors == [("Cannot load the model", message)]
    assert window.session.model.request.spec == str(models / "good.keras")
    assert window.model_label.text().startswith("good.keras")
    recompute(qtbot, window, steps)  # the old model still explains
    data = log_path.read_bytes()
    logged = (data[start:] if len(data) >= start else data).decode("utf-8", "replace")
    assert f"{models / name} failed to load" in logged
    assert "Traceback (most recent call last)" in logged  # the log keeps what the user is spared


def _request(path: Path, trust: bool = False) -> Any:
    from saliency_desktop.ui.engine_api import ModelRequest

    return ModelRequest(str(path), "unit", None, trust)


def test_a_lambda_model_runs_only_when_trusted_in_the_open_model_dialog(
    qtbot, window, models, photo, errors, monkeypatch
):
    from saliency_desktop.ui import dialogs

    with_good_model(qtbot, window, models, photo)
    trust = {"tick": False}

    class UserFillsIn(dialogs.OpenModelDialog):
        def exec(self) -> Any:  # what the user does in the dialog, instead of blocking
            self.path_edit.setText(str(models / "lambda.keras"))
            self.trust_box.setChecked(trust["tick"])
            return dialogs.QDialog.DialogCode.Accepted

    monkeypatch.setattr(dialogs, "OpenModelDialog", UserFillsIn)
    with qtbot.waitSignal(window.session.model_error, timeout=300_000) as blocker:
        window.menus.actions["open_model"].trigger()  # Model > Open model file...
    message = blocker.args[0]
    assert message.startswith("lambda.keras: refused in safe mode.")
    assert "run Python code" in message and "trust" in message  # the risk, and the way out
    assert errors == [("Cannot load the model", message)]
    assert window.session.model.request.spec == str(models / "good.keras")  # nothing ran

    trust["tick"] = True
    with qtbot.waitSignal(window.session.model_ready, timeout=300_000):
        window.menus.actions["open_model"].trigger()
    model = window.session.model
    assert model.info.label == "lambda.keras" and model.request.trust_model
    wait_explained(qtbot, window)
    assert "vanilla_gradients" in window.session.results()


def test_a_model_without_feature_maps_disables_cam_and_runs_the_rest(qtbot, window, models, photo):
    with_good_model(qtbot, window, models, photo)
    window.tree.set_selected(None)
    load(qtbot, window, models / "flat.h5")
    tree = window.tree
    for mid in CAM:
        assert tree.item(mid).isDisabled()
        assert "4-D feature-map" in tree.item(mid).toolTip(0)  # the reason, where it is greyed
    others = {i.id for i in list_methods() if not i.needs_layer}
    for mid in others:
        assert not tree.item(mid).isDisabled()
    assert not tree.layer_combo.isEnabled()
    wait_explained(qtbot, window)
    results = window.session.results()
    assert set(results) == {i.id for i in list_methods() if i.id in others and i.default_on}
    assert all(np.isfinite(r.map).all() and r.map.shape == (8, 8) for r in results.values())
    load(qtbot, window, models / "good.keras")  # a model with feature maps enables them again
    assert not any(tree.item(mid).isDisabled() for mid in CAM)


def test_a_logits_model_works(qtbot, window, models, photo):
    with_good_model(qtbot, window, models, photo)
    load(qtbot, window, models / "logits.keras")
    assert window.session.model.info.final_activation == "linear"
    wait_explained(qtbot, window)
    e = window.session.explanation()
    probabilities = [p.probability for p in e.top_k]
    assert len(probabilities) == 4 and abs(sum(probabilities) - 1) < 1e-5  # a softmax is shown
    assert all(0 <= p <= 1 for p in probabilities)
    assert e.target == e.top_k[0].index
    assert window.predictions.tree.topLevelItemCount() == 4
    assert set(window.session.results()) == set(window.tree.selected())


def test_cancel_during_integrated_gradients_then_the_next_job_runs(
    qtbot, window, models, photo, monkeypatch
):
    monkeypatch.setenv("SALIENCY_DESKTOP_BATCH_MB", "0")  # one path point per batch: a long IG
    window.tree.set_selected(["integrated_gradients"])
    load(qtbot, window, models / "good.keras")
    if window.session.current_entry() is None:
        window.open_paths([photo])
    wait_explained(qtbot, window)  # the job the new model starts: not the one to cancel
    seen: list[str] = []

    def on_progress(_fraction: float, message: str) -> None:
        seen.append(message)
        if message == "integrated gradients" and window.session.client.is_busy():
            window.menus.actions["cancel"].trigger()  # Esc, as soon as IG reports a batch

    window.session.progress.connect(on_progress)
    try:
        with job_event(qtbot, window.session.client.worker, "explain", "cancelled", 120_000):
            window.tree.editor("integrated_gradients", "n_steps").setValue(4096)
    finally:
        window.session.progress.disconnect(on_progress)
    assert "integrated gradients" in seen
    assert not window.session.client.is_busy() and not window.progress.isVisible()
    assert "integrated_gradients" not in window.session.results()
    assert window.statusBar().currentMessage().startswith("Cancelled: press F5")
    recompute(qtbot, window, 16)  # the next job runs to the end
    window.tree.set_selected(None)


def test_closing_the_app_during_a_job_stops_the_engine_thread(
    qtbot, models, photo, monkeypatch, tmp_path
):
    from saliency_desktop.ui.main_window import MainWindow
    from saliency_desktop.ui.settings import Settings

    monkeypatch.setenv("SALIENCY_DESKTOP_BATCH_MB", "0")
    win = MainWindow(settings=Settings(tmp_path / "s.ini"), persist=False)
    qtbot.addWidget(win)
    win.show()
    win.tree.set_selected(["integrated_gradients"])
    win.tree.set_params({"n_steps": 4096})
    load(qtbot, win, models / "good.keras")
    in_ig = threading.Event()
    win.session.progress.connect(
        lambda _f, message: in_ig.set() if message == "integrated gradients" else None
    )
    win.open_paths([photo])
    qtbot.waitUntil(in_ig.is_set, timeout=120_000)
    thread = win.session.client.thread
    assert win.session.client.is_busy() and thread.isRunning()
    win.close()  # cancels, quits and waits: no "QThread destroyed while running"
    assert thread.isFinished() and not thread.isRunning()
