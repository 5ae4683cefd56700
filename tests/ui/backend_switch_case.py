"""Run by `test_backend_switch_real.py` in a fresh process (not collected on its own: a switch
re-imports Keras, which would strand the Keras objects of the other tests of a process).

The app with the real engine on a tiny model, on TensorFlow: explain, switch the backend from
the menu to SWITCH_TO, wait for the maps again, and save both sets of maps (and the parameters
the app used) to SWITCH_OUT for the parent test to compare with a fresh process.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from tests.ui.helpers import wait_done

METHODS = ["vanilla_gradients", "gradcam", "integrated_gradients"]
TIMEOUT_MS = 400_000


def _tiny_model(path: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inp, keras.layers.Dense(3)(x)).save(path)


def _maps(win) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    return {m: r.map for m, r in win.session.results().items() if m in METHODS}


def _model_gone(qtbot, win, out: Path, back_to: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Load a copy of the model, delete the file, switch back: the reload fails on both
    backends, so the switch is undone and no model is left (none of the other backend)."""
    from saliency_desktop.ui.engine_api import ModelRequest

    gone = out / "gone.keras"
    shutil.copy(out / "tiny.keras", gone)
    with qtbot.waitSignal(win.session.model_ready, timeout=TIMEOUT_MS):
        win.load_model(ModelRequest(str(gone)))
    gone.unlink()
    now = win.menus.backend.current
    win.menus.backend.choose(back_to)
    qtbot.waitUntil(lambda: not win.menus.backend._wanted, timeout=TIMEOUT_MS)
    return {
        "gone_model": win.session.model,
        "gone_worker_model": win.session.client.worker.model,
        "gone_label": win.model_label.text(),
        "gone_backend": [now, win.menus.backend.current, win.session.engine.versions()["backend"]],
    }


def test_switch_in_the_app(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    from saliency_desktop.ui import dialogs
    from saliency_desktop.ui.engine_api import EngineAdapter, ModelRequest
    from saliency_desktop.ui.main_window import MainWindow
    from saliency_desktop.ui.settings import Settings

    out, to = Path(os.environ["SWITCH_OUT"]), os.environ["SWITCH_TO"]
    _tiny_model(out / "tiny.keras")
    settings = Settings(tmp_path / "s.ini")
    settings.set_methods(METHODS)
    win = MainWindow(engine=EngineAdapter(), settings=settings, persist=True)
    qtbot.addWidget(win)
    win.show()
    win.tree.set_params({"integrated_gradients": {"n_steps": 8}})
    with qtbot.waitSignal(win.session.model_ready, timeout=TIMEOUT_MS):
        win.load_model(ModelRequest(str(out / "tiny.keras")))
    win.open_paths([os.environ["SWITCH_IMAGE"]])
    wait_done(qtbot, win, TIMEOUT_MS)
    before = _maps(win)
    params = {m: r.params for m, r in win.session.results().items() if m in METHODS}
    with qtbot.waitSignal(win.menus.backend.switched, timeout=TIMEOUT_MS):
        win.menus.backend.actions[to].trigger()
    assert win.session.model.versions.get("backend") == to  # `switched` comes with the model
    wait_done(qtbot, win, TIMEOUT_MS)
    after = _maps(win)
    np.savez(out / "before.npz", **before)
    np.savez(out / "after.npz", **after)
    model = win.session.model
    record = {
        "params": params,
        "status": win.model_label.text(),
        "saved": settings.q.value("engine/backend"),
        "about": dialogs.about_html(model.versions, model, {}, win.session.backend),
        **_model_gone(qtbot, win, out, back_to=os.environ.get("SWITCH_FROM", "tensorflow")),
    }
    (out / "record.json").write_text(json.dumps(record, default=str))
    win.close()
    assert not win.session.client.thread.isRunning()
