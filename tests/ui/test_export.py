"""Export: the same report as the command line, the view PNG, raw maps, no silent overwrite."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.render import maps
from saliency_desktop.ui import dialogs
from tests.ui.helpers import open_and_wait


def _wait_export(qtbot, win, start):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(win.commands.exporter.done, timeout=60000) as blocker:
        assert start()
    return blocker.args[0]


def test_export_writes_the_report_the_cli_writes(qtbot, make_window, image_file, tmp_path):
    from saliency_desktop.render.report import render_report

    win = make_window()
    open_and_wait(qtbot, win, image_file)
    e = win.session.explanation()
    base = tmp_path / "app" / "photo_report"
    paths = _wait_export(qtbot, win, lambda: win.commands.export_report_to(base, ("png",)))
    assert [p.name for p in paths] == ["photo_report.png"]
    # What `saliency-desktop explain` calls for the same explanation and default settings.
    cli = render_report(
        e,
        tmp_path / "cli" / "photo_report",
        ("png",),
        300,
        force=False,
        title="photo.png",
        cmap=None,
        opacity=0.5,
        percentile=99.5,
        signed_cmap=None,
        rgb_gradients=False,
    )
    a = np.asarray(Image.open(paths[0]))
    b = np.asarray(Image.open(cli[0]))
    assert a.shape == b.shape and np.array_equal(a, b)


def test_export_view_is_the_overlay_at_full_resolution(qtbot, make_window, tmp_path):
    from tests.ui.fake_engine import write_png

    win = make_window()
    open_and_wait(qtbot, win, write_png(tmp_path / "big.png", size=(300, 450)))
    win.view.set_current_method("gradcam")
    win.view.set_opacity(0.7)
    paths = _wait_export(qtbot, win, lambda: win.commands.export_view_to(tmp_path / "v.png"))
    out = np.asarray(Image.open(paths[0]))
    e = win.session.explanation()
    m = e.methods["gradcam"].map
    expected = maps.overlay(e.image, m, False, None, 0.7, scale=maps.scale_of(m, False))
    assert out.shape == (300, 450, 3) and np.array_equal(out, expected)


def test_export_raw_maps_and_never_overwrite_without_asking(
    qtbot, make_window, image_file, tmp_path, monkeypatch
):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    base = tmp_path / "maps"
    paths = _wait_export(qtbot, win, lambda: win.commands.export_arrays_to(base))
    assert sorted(p.name for p in paths) == ["maps.json", "maps.npz"]
    with np.load(paths[0] if paths[0].suffix == ".npz" else paths[1]) as npz:
        assert "gradcam.map" in npz.files
    before = {p: p.read_bytes() for p in paths}
    asked: list[list] = []
    monkeypatch.setattr(dialogs, "ask_overwrite", lambda _w, p: asked.append(p) or False)
    assert not win.commands.export_arrays_to(base)  # declined: nothing is written
    assert asked and {p.read_bytes() for p in paths} == set(before.values())
    monkeypatch.setattr(dialogs, "ask_overwrite", lambda _w, p: True)
    _wait_export(qtbot, win, lambda: win.commands.export_arrays_to(base))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # atomic writes leave no temporary files


def test_copy_view_to_the_clipboard(qtbot, make_window, image_file):
    from PySide6.QtGui import QGuiApplication

    win = make_window()
    open_and_wait(qtbot, win, image_file)
    win.menus.actions["copy"].trigger()
    image = QGuiApplication.clipboard().image()
    assert (image.height(), image.width()) == win.session.current_entry().rgb.shape[:2]


@pytest.mark.parametrize("fmt", ["pdf", "svg"])
def test_vector_reports(qtbot, make_window, image_file, tmp_path, fmt):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    paths = _wait_export(qtbot, win, lambda: win.commands.export_report_to(tmp_path / "r", (fmt,)))
    assert paths[0].suffix == f".{fmt}" and paths[0].stat().st_size > 1000


def test_records_carry_file_names_unless_the_full_paths_setting_is_on(
    qtbot, make_window, image_file, tmp_path
):
    import json
    from pathlib import Path

    win = make_window()
    open_and_wait(qtbot, win, image_file)
    full = win.menus.actions["full_paths"]
    assert not full.isChecked() and not win.settings.full_paths  # off by default
    paths = _wait_export(qtbot, win, lambda: win.commands.export_arrays_to(tmp_path / "a"))
    record = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
    assert record["image"]["path"] == Path(image_file).name and len(record["image"]["sha256"]) == 64
    full.setChecked(True)  # File > Keep full paths in records
    assert win.settings.full_paths
    paths = _wait_export(qtbot, win, lambda: win.commands.export_arrays_to(tmp_path / "b"))
    record = json.loads(next(p for p in paths if p.suffix == ".json").read_text())
    assert record["image"]["path"] == str(image_file)
