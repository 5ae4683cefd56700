"""The app with the real engine on the embedded dog-breeds model (TensorFlow loads here)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.engine.registry import list_methods
from tests.subprocesses import finish_python, start_python

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
CHELSEA = ROOT / "saliency_desktop" / "resources" / "samples" / "chelsea.png"
DEFAULT = tuple(m.id for m in list_methods() if m.default_on)  # what a first start runs


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        TF_CPP_MIN_LOG_LEVEL="3",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    env.setdefault("KERAS_HOME", str(Path.home() / ".keras"))
    return env


def _screenshot_mode(shot: Path) -> str:
    return (
        "from saliency_desktop.ui.app import run\n"
        f"raise SystemExit(run(images=[{str(CHELSEA)!r}], model='dog-breeds', methods=None, "
        f"screenshot={str(shot)!r}, preprocess=None, labels=None, trust_model=False, "
        "params={'n_steps': 8}, timeout_s=400))\n"
    )


def _cli_gui_screenshot(shot: Path) -> str:
    return (
        "import sys\nfrom saliency_desktop.cli import main\n"
        f"sys.exit(main(['gui', {str(CHELSEA)!r}, '--model', 'dog-breeds', '--methods', "
        f"'gradcam,vanilla_gradients', '--screenshot', {str(shot)!r}]))\n"
    )


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Iterator[dict[str, tuple[subprocess.Popen[str], Path]]]:
    """The two screenshot runs, each a fresh app start in a process of its own, started side
    by side when the module's first test asks (they mostly wait on one core each: imports,
    tracing); each test waits for its own. name -> (process, its screenshot)."""
    runs = {}
    try:
        for name, code in (("mode", _screenshot_mode), ("cli", _cli_gui_screenshot)):
            home = tmp_path_factory.mktemp(name)
            runs[name] = (start_python(code(home / "shot.png"), env=_env(home)), home / "shot.png")
        yield runs
    finally:
        for proc, _ in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_window_with_the_real_engine_and_export(qtbot, tmp_path, screenshots):
    """In process: every map arrives, the canvas shows it, export equals the renderer's. (First:
    the screenshot runs of the tests below go on beside it.)"""
    from PySide6.QtCore import QStandardPaths

    from saliency_desktop.render.report import render_report
    from saliency_desktop.ui.main_window import MainWindow
    from saliency_desktop.ui.settings import Settings

    QStandardPaths.setTestModeEnabled(True)
    win = MainWindow(settings=Settings(tmp_path / "s.ini"))
    qtbot.addWidget(win)
    win.show()
    try:
        win.tree.set_selected(None)
        win.tree.set_params({"n_steps": 8})
        from saliency_desktop.ui.engine_api import ModelRequest

        with qtbot.waitSignal(win.session.model_ready, timeout=300_000):
            win.load_model(ModelRequest("dog-breeds"))
        assert win.session.model.versions.get("tensorflow")
        win.open_paths([str(CHELSEA)])
        qtbot.waitUntil(
            lambda: win.session.explanation() is not None and not win.session.missing(),
            timeout=300_000,
        )
        results = win.session.results()
        assert list(results) == list(DEFAULT)
        assert all(np.isfinite(r.map).all() and r.map.shape == (160, 160) for r in results.values())
        assert win.view.canvas.has_overlay()
        assert win.predictions.tree.topLevelItemCount() == 5
        e = win.session.explanation()
        with qtbot.waitSignal(win.commands.exporter.done, timeout=120_000) as blocker:
            assert win.commands.export_report_to(tmp_path / "app_report", ("png",))
        direct = render_report(e, tmp_path / "direct_report", ("png",), title="chelsea.png")
        a = np.asarray(Image.open(blocker.args[0][0]))
        b = np.asarray(Image.open(direct[0]))
        assert np.array_equal(a, b)
    finally:
        win.close()
    assert not win.session.client.thread.isRunning()


def test_screenshot_mode_shows_every_methods_overlay(screenshots):
    proc, shot = screenshots["mode"]
    out = finish_python(proc, timeout=500)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("saved"))
    shown = line.split("maps: ", 1)[1].split(", ")
    assert shown == list(DEFAULT)  # each default method's overlay was on screen for the picture
    pic = np.asarray(Image.open(shot).convert("RGB")).astype(np.float32)
    assert pic.shape == (900, 1440, 3)
    assert pic.std() > 20
    colourful = np.abs(pic[..., 0] - pic[..., 2]).mean()
    assert colourful > 5  # heatmaps and photos, not a grey empty window


def test_cli_gui_screenshot(screenshots):
    """The command line's route: `saliency-desktop gui IMAGE --model ID --screenshot PNG`."""
    proc, shot = screenshots["cli"]
    out = finish_python(proc, timeout=500)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "maps: vanilla_gradients, gradcam" in out.stdout
    assert Image.open(shot).size == (1440, 900)
