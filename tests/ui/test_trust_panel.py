"""The Trust panel with the fake engine: check, summary, figure, cancel, stale results, save."""

from __future__ import annotations

import threading

from saliency_desktop.ui.trust_jobs import TRUST
from tests.ui.fake_engine import FakeEngine
from tests.ui.helpers import job_event, open_and_wait


def _ready(qtbot, make_window, image_file, engine=None):
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    qtbot.waitUntil(lambda: win.trust.explanation is not None, timeout=5000)
    return win


def test_full_check_shows_verdicts_and_the_figure(qtbot, make_window, image_file, tmp_path):
    engine = FakeEngine()
    win = _ready(qtbot, make_window, image_file, engine)
    panel = win.trust
    assert panel.run_button.isEnabled() and not panel.save_button.isEnabled()
    panel.check_choice.setCurrentIndex(1)  # full
    with job_event(qtbot, win.session.client, TRUST, "done"):
        panel.run_button.click()
    assert engine.evaluate_calls[-1]["metrics"][-2:] == ["randomization", "random_logit"]
    assert engine.evaluate_calls[-1]["target"] == win.session.explanation().target
    text = panel.summary.text()
    assert "Guided Backpropagation: this map barely changes when the model is randomised" in text
    assert "it shows image structure such as edges, not the model&#x27;s evidence" in text
    assert "Grad-CAM: passes the sanity check" in text
    assert "Blacking out its top pixels leaves an average P of" in text
    qtbot.waitUntil(lambda: not panel.figure.pixmap().isNull(), timeout=15000)
    pixmap = panel.figure.pixmap()
    assert pixmap.width() >= 300 and pixmap.height() > pixmap.width()  # a row per method
    qtbot.waitUntil(lambda: panel.save_button.isEnabled(), timeout=2000)
    written = panel.save_figure(str(tmp_path / "trust.pdf"))
    assert [p.name for p in written] == ["trust.pdf"]
    assert (tmp_path / "trust.pdf").read_bytes()[:5] == b"%PDF-"


def test_cancel_stops_the_check_and_a_new_explanation_clears_it(qtbot, make_window, image_file):
    gate = threading.Event()
    engine = FakeEngine()
    win = _ready(qtbot, make_window, image_file, engine)
    panel = win.trust
    engine.gate = gate  # the next methods (and evaluations) wait for the gate
    engine.started.clear()
    panel.run_button.click()
    assert engine.started.wait(5)
    assert panel.cancel_button.isEnabled() and not panel.run_button.isEnabled()
    with job_event(qtbot, win.session.client, TRUST, "finished"):
        panel.cancel_button.click()
    gate.set()
    qtbot.wait(100)
    assert panel.evaluation is None and panel.run_button.isEnabled()
    # a result that arrives for a superseded job never reaches the panel
    engine.gate = None
    panel.run_button.click()
    panel.set_explanation(None)  # the image changed before the check ended
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=5000)
    qtbot.wait(100)
    assert panel.evaluation is None and not panel.run_button.isEnabled()
    assert panel.summary.text().startswith("Explain an image")


def test_failed_check_is_one_message(qtbot, make_window, image_file):
    class Failing(FakeEngine):
        def evaluate(self, *args, **kwargs):
            from saliency_desktop.engine.types import EngineError

            raise EngineError("The model cannot be copied for the randomisation test.")

    win = _ready(qtbot, make_window, image_file, Failing())
    with job_event(qtbot, win.session.client, TRUST, "failed"):
        win.trust.run_button.click()
    assert win.trust.summary.text() == (
        "The check failed: The model cannot be copied for the randomisation test."
    )
    qtbot.waitUntil(lambda: win.trust.run_button.isEnabled(), timeout=2000)
