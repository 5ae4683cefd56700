"""`run()` in screenshot mode with the fake engine, and the canvas's zoom."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.ui.app import run
from tests.ui.fake_engine import FakeEngine, write_png
from tests.ui.helpers import open_and_wait


def test_screenshot_mode_saves_the_window_and_returns_0(qtbot, tmp_path, settings):
    image = write_png(tmp_path / "cat.png", size=(120, 160))
    shot = tmp_path / "shot.png"
    rc = run(
        [image],
        model="dog-breeds",
        methods=["gradcam", "integrated_gradients"],
        screenshot=shot,
        engine=FakeEngine(),
        settings=settings,
        timeout_s=60,
    )
    assert rc == 0
    pic = np.asarray(Image.open(shot).convert("RGB"))
    assert pic.shape[0] > 400 and pic.shape[1] > 600
    assert pic.std() > 10  # not blank
    assert settings.recent_files() == []  # screenshot mode saves no settings


def test_screenshot_mode_fails_cleanly(qtbot, tmp_path, settings, capsys):
    rc = run(
        [str(tmp_path / "missing.png")],
        model="dog-breeds",
        screenshot=tmp_path / "s.png",
        engine=FakeEngine(),
        settings=settings,
        timeout_s=30,
    )
    assert rc == 1
    assert "missing.png" in capsys.readouterr().err
    assert not (tmp_path / "s.png").exists()
    rc = run(
        [],
        methods=["no_such_method"],
        screenshot=tmp_path / "s.png",
        engine=FakeEngine(),
        settings=settings,
    )
    assert rc == 2


def test_canvas_zoom_and_fit(qtbot, make_window, tmp_path):
    win = make_window()
    open_and_wait(qtbot, win, write_png(tmp_path / "big.png", size=(2000, 3000)))
    canvas = win.view.canvas
    fit = canvas.zoom()
    assert fit < 1.0
    win.view.zoom100_action.trigger()
    assert canvas.zoom() == 1.0
    canvas.zoom_by(2.0)
    assert canvas.zoom() == 2.0
    win.view.fit_action.trigger()
    assert abs(canvas.zoom() - fit) < 1e-6
    qtbot.waitUntil(canvas.has_overlay, timeout=10000)  # 6 MP: coloured off the GUI thread
    assert canvas.overlay_item.pixmap().width() == 3000  # drawn at the image's resolution


def test_screenshot_file_is_written_whole_or_not_at_all(qtbot, tmp_path, monkeypatch):
    from PySide6.QtGui import QColor, QPixmap

    from saliency_desktop.ui.app import save_png
    from tests.faults import EARLIER, assert_only_the_earlier_file, full_disk_at_fsync

    pixmap = QPixmap(40, 30)
    pixmap.fill(QColor("teal"))
    shot = tmp_path / "shot.png"
    shot.write_bytes(EARLIER)
    full_disk_at_fsync(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        save_png(pixmap, shot)
    assert_only_the_earlier_file(shot)
    monkeypatch.undo()
    save_png(pixmap, shot)
    assert Image.open(shot).size == (40, 30)
    assert [p.name for p in tmp_path.iterdir()] == ["shot.png"]
