"""The engine thread: cancel, supersede, close during a job, opacity without a job."""

from __future__ import annotations

import threading
import time

import numpy as np

from saliency_desktop.engine.registry import list_methods
from tests.subprocesses import run_python
from tests.ui.fake_engine import FakeEngine, fake_map, write_png
from tests.ui.helpers import job_event, open_and_wait, wait_done


def test_opacity_changes_the_overlay_without_a_new_job(qtbot, make_window, image_file):
    engine = FakeEngine()
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    calls = len(engine.explain_calls)
    pixmap_key = win.view.canvas.overlay_item.pixmap().cacheKey()
    win.view.opacity_slider.setValue(80)
    assert win.view.canvas.overlay_item.opacity() == 0.8
    assert win.view.canvas.overlay_item.pixmap().cacheKey() == pixmap_key  # not recoloured
    win.view.opacity_slider.setValue(10)
    assert win.view.canvas.overlay_item.opacity() == 0.1
    assert win.view.compare._opacity == 0.1
    assert not win.session._debounce.isActive()  # no job pending either
    assert not win.session.client.is_busy()
    assert len(engine.explain_calls) == calls


def test_cancel_stops_a_long_job_and_the_next_job_still_runs(qtbot, make_window, image_file):
    gate = threading.Event()
    engine = FakeEngine(gate=gate)
    win = make_window(engine)
    win.open_paths([image_file])
    qtbot.waitUntil(lambda: win.session.client.is_busy() and engine.started.is_set(), timeout=5000)
    assert win.cancel_button.isVisible()
    worker = win.session.client.worker
    with job_event(qtbot, worker, "explain", "cancelled"):
        win.menus.actions["cancel"].trigger()  # Esc
    assert not win.session.client.is_busy()
    assert not win.progress.isVisible()
    assert win.session.results() == {}
    gate.set()
    win.menus.actions["explain"].trigger()  # F5: the next job runs to the end
    wait_done(qtbot, win)
    assert len(win.session.results()) == len(list_methods())


def test_a_superseded_jobs_results_are_ignored(qtbot, make_window, tmp_path):
    gate = threading.Event()
    engine = FakeEngine(gate=gate, ignore_cancel=True)  # job A keeps going after its cancel
    win = make_window(engine)
    first = write_png(tmp_path / "first.png", seed=1)
    second = write_png(tmp_path / "second.png", seed=2)
    win.open_paths([first, second])
    qtbot.waitUntil(lambda: engine.started.is_set(), timeout=5000)
    job_a = win.session.client.current_job
    raw: list[int] = []
    win.session.client.worker.event.connect(
        lambda e: e.kind.value == "result" and raw.append(e.job)
    )
    win.strip.setCurrentRow(1)  # a new image supersedes job A
    qtbot.waitUntil(lambda: win.session.client.current_job not in (None, job_a), timeout=3000)
    gate.set()
    wait_done(qtbot, win)
    assert job_a in raw  # job A did deliver results...
    rgb = win.session.current_entry().rgb
    target = win.session.explanation().target
    for mid, result in win.session.results().items():  # ...but only job B's are shown
        assert np.array_equal(result.map, fake_map(mid, target, rgb))
    assert win.session.current_entry().name == "second.png"
    shown = win.view.results
    assert set(shown) == set(win.session.results())
    assert all(shown[m] is win.session.results()[m] for m in shown)


def test_closing_during_a_job_leaves_no_running_thread(qtbot, make_window, image_file):
    engine = FakeEngine(gate=threading.Event())  # never opens: only the cancel ends the job
    win = make_window(engine)
    win.open_paths([image_file])
    qtbot.waitUntil(lambda: engine.started.is_set(), timeout=5000)
    thread = win.session.client.thread
    assert thread.isRunning()
    win.close()
    assert not thread.isRunning()
    assert thread.isFinished()


def test_a_drop_while_a_job_runs_stays_responsive(qtbot, make_window, tmp_path):
    engine = FakeEngine(delay=0.3)
    win = make_window(engine)
    win.open_paths([write_png(tmp_path / "a.png", seed=1)])
    qtbot.waitUntil(lambda: engine.started.is_set(), timeout=5000)
    win.open_paths([write_png(tmp_path / "b.png", seed=2)])  # returns at once
    assert win.strip.count() == 2
    wait_done(qtbot, win, timeout=10000)
    assert win.session.current_entry().name == "b.png"


def test_the_ui_never_imports_tensorflow(tmp_path):
    """In a fresh interpreter: import every UI module, open the window, run a job."""

    code = f"""
import os, sys, pkgutil, importlib
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import saliency_desktop.ui as ui
for mod in pkgutil.iter_modules(ui.__path__):
    importlib.import_module("saliency_desktop.ui." + mod.name)
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QStandardPaths
QStandardPaths.setTestModeEnabled(True)
app = QApplication([])
from tests.ui.fake_engine import FakeEngine, write_png
from saliency_desktop.ui.app import run
from saliency_desktop.ui.settings import Settings
img = write_png({str(tmp_path / "x.png")!r})
rc = run([img], model="dog-breeds", screenshot={str(tmp_path / "shot.png")!r},
         engine=FakeEngine(), settings=Settings({str(tmp_path / "s.ini")!r}), timeout_s=60)
assert rc == 0, rc
from saliency_desktop.ui import dialogs
from saliency_desktop.ui.main_window import MainWindow
from saliency_desktop.engine.registry import list_methods
real = MainWindow(settings=Settings({str(tmp_path / "r.ini")!r}), persist=False)  # real engine
real.show()
dialogs.OpenModelDialog(real).show()
dialogs.about_html({{}}, None, real.engine.catalogue())
real.close()
bad = [m for m in ("tensorflow", "keras") if m in sys.modules]
assert not bad, bad
print("OK")
"""
    out = run_python(code, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK" in out.stdout


def test_predictions_are_shown_before_the_maps(qtbot, make_window, image_file):
    gate = threading.Event()  # every method waits: only the predictions can arrive
    engine = FakeEngine(gate=gate)
    win = make_window(engine)
    win.open_paths([image_file])
    qtbot.waitUntil(lambda: win.predictions.tree.topLevelItemCount() == 5, timeout=5000)
    assert win.session.results() == {} and win.session.client.is_busy()
    top = win.predictions.tree.topLevelItem(0)
    assert top.isSelected() and top.font(0).bold()  # the explained class (top-1)
    assert "Explaining" in win.predictions.target_label.text()
    gate.set()
    wait_done(qtbot, win)
    assert win.predictions.tree.topLevelItemCount() == 5


def test_big_heatmaps_are_coloured_off_the_gui_thread(qtbot, make_window, tmp_path, monkeypatch):
    import threading as th

    from saliency_desktop.render import maps
    from saliency_desktop.ui import view_panel

    threads: list[str] = []
    real = maps.heatmap_rgb

    def spy(saliency, size, *args, **kwargs):
        threads.append(th.current_thread().name)
        return real(saliency, size, *args, **kwargs)

    monkeypatch.setattr(maps, "heatmap_rgb", spy)
    monkeypatch.setattr(view_panel, "BIG_PIXELS", 5_000)  # 6,000-pixel test image counts as big
    path = write_png(tmp_path / "big.png", seed=3, size=(60, 100))
    win = make_window(FakeEngine())
    win.open_paths([path])
    wait_done(qtbot, win)
    win.view.set_mode("single")
    qtbot.waitUntil(win.view.canvas.has_overlay, timeout=5000)
    assert win.view.canvas.overlay_item.pixmap().size().width() == 100  # full resolution
    full = [t for t in threads if t.startswith("heatmap")]
    assert full and all(t != th.main_thread().name for t in full)


def test_a_model_load_warms_up_and_an_image_cancels_the_warm_up(qtbot, make_window, image_file):
    """After a load the engine compiles the default passes (warm_up) while the user picks an
    image; a slow warm-up never holds up the first map: the explain cancels it."""
    engine = FakeEngine(warm_up_delay=30.0)
    win = make_window(engine)
    qtbot.waitUntil(lambda: len(engine.warm_up_calls) == 1, timeout=5000)
    assert engine.warm_up_calls[0] is not None  # the model just loaded
    started = time.monotonic()
    open_and_wait(qtbot, win, image_file)  # within 5 s, not after the 30 s warm-up
    assert time.monotonic() - started < 10
    assert engine.explain_calls
