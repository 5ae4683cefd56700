"""App start-up: time from launch to the window shown, to the model loaded and to the first
overlay, each the median of a few cold starts (a fresh interpreter per run).

    python benchmarks/bench_startup.py [--runs 5] [--model dog-breeds] [--image PATH]

"Launch" is the moment the parent starts the child process, so interpreter start-up and every
import count. "Shown" is the first pass of the event loop after `show()`; "first overlay" is the
first method's heatmap on the canvas (TensorFlow, the model and the first pass in between).
Runs offscreen unless QT_QPA_PLATFORM says otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "saliency_desktop" / "resources" / "samples" / "chelsea.png"

CHILD = r"""
import sys, time
from PySide6.QtCore import QStandardPaths, QTimer
from saliency_desktop.ui.app import application
app = application()
QStandardPaths.setTestModeEnabled(True)
from saliency_desktop.ui.engine_api import ModelRequest
from saliency_desktop.ui.main_window import MainWindow
from saliency_desktop.ui.settings import Settings

def mark(name):
    print(f"{name} {time.time():.6f}", flush=True)

win = MainWindow(settings=Settings(sys.argv[3]), persist=False)
win.session.model_ready.connect(lambda _s: mark("model"))

def on_results():
    if win.view.canvas.has_overlay():
        mark("overlay")
        QTimer.singleShot(0, win.close)

win.session.results_changed.connect(on_results)
win.show()
QTimer.singleShot(0, lambda: mark("shown"))
win.open_paths([sys.argv[2]], recent=False)
QTimer.singleShot(0, lambda: win.load_model(ModelRequest(sys.argv[1])))
win.closed.connect(app.quit)
app.exec()
"""


def one_run(model: str, image: str) -> dict[str, float]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, model, image, str(Path(tmp) / "settings.ini")],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=600,
        )
    if out.returncode != 0:
        raise SystemExit(f"the app failed:\n{out.stderr[-2000:]}")
    marks = {}
    for line in out.stdout.splitlines():
        name, _, stamp = line.partition(" ")
        if name in ("shown", "model", "overlay"):
            marks[name] = float(stamp) - start
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="dog-breeds")
    parser.add_argument("--image", default=str(SAMPLE))
    args = parser.parse_args()
    runs = [one_run(args.model, args.image) for _ in range(args.runs)]
    print(
        f"app start-up, {args.model}, median of {args.runs} cold starts "
        f"({os.environ.get('QT_QPA_PLATFORM', 'offscreen')} platform):"
    )
    for name, label in (
        ("shown", "launch -> window shown"),
        ("model", "launch -> model loaded"),
        ("overlay", "launch -> first overlay"),
    ):
        values = [r[name] for r in runs if name in r]
        spread = f"(min {min(values):.2f}, max {max(values):.2f})" if values else ""
        print(f"  {label:<26} {statistics.median(values):6.2f} s  {spread}")


if __name__ == "__main__":
    main()
