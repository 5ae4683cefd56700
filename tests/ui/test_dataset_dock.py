"""The data-set view in the window (issue 19): File > Open data set, the dock, a row click that
opens the image with its class, a dropped folder, and the contrast button's reason."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from saliency_desktop.ui.dataset_view import TASK
from tests.ui.fake_engine import fake_probabilities, write_png
from tests.ui.helpers import drop_urls, job_event


def _labelled_folder(tmp: Path) -> Path:
    """6 images in class folders: 4 filed under their (fake) predicted class, 2 wrongly."""
    root = tmp / "data"
    for i in range(6):
        path = Path(write_png(tmp / f"img{i}.png", seed=i))
        pred = int(np.argmax(fake_probabilities(np.asarray(Image.open(path).convert("RGB")))))
        folder = root / f"class_{pred if i < 4 else (pred + 1) % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        path.rename(folder / path.name)
    return root


def _open_by_menu(qtbot, win, folder, monkeypatch):  # type: ignore[no-untyped-def]
    from saliency_desktop.ui import file_dialogs

    monkeypatch.setattr(file_dialogs, "existing_dir", lambda *_a: str(folder))
    assert not win.dataset.isVisible()
    with job_event(qtbot, win.session.client, TASK, "done", 10000):
        win.menus.actions["open_dataset"].trigger()
    return win.dataset.panel


def test_menu_opens_the_dock_on_a_folder(qtbot, make_window, tmp_path, monkeypatch):
    win = make_window()
    folder = _labelled_folder(tmp_path)
    panel = _open_by_menu(qtbot, win, folder, monkeypatch)
    assert win.dataset.isVisible()
    assert "6 images" in panel.summary.text() and "accuracy 66.7 %" in panel.summary.text()
    assert panel.proxy.rowCount() == 6
    assert win.settings.last_dir("datasets") == str(folder)
    assert win.dataset.toggleViewAction() in win.menuBar().actions()[2].menu().actions()
    win.dataset.close()  # closable, and View reopens it
    assert not win.dataset.isVisible()
    win.dataset.toggleViewAction().trigger()
    assert win.dataset.isVisible()


def test_a_row_click_opens_the_image_with_its_class(qtbot, make_window, tmp_path, monkeypatch):
    win = make_window()
    panel = _open_by_menu(qtbot, win, _labelled_folder(tmp_path), monkeypatch)
    messages: list[str] = []
    win.dataset.status.connect(messages.append)
    panel.mistakes.setChecked(True)
    panel.table.selectRow(0)
    row = panel.selected_row()
    s = win.session
    qtbot.waitUntil(lambda: s.current_entry() is not None, timeout=3000)
    assert os.path.abspath(s.current_entry().path) == os.path.abspath(row.item.path)
    assert s.target == row.predicted
    qtbot.waitUntil(lambda: s.explanation() is not None, timeout=5000)
    assert win.engine.explain_calls[-1]["target"] == row.predicted
    n_entries = len(s.entries)
    panel.table.selectRow(1)
    panel.table.selectRow(0)  # again: the same strip entry, not a second one
    assert len(s.entries) == n_entries + 1
    # a mistake: "predicted vs true" is one click away (issue 16's contrast)
    n = len(win.engine.explain_calls)
    panel.contrast_button.click()
    qtbot.waitUntil(lambda: len(win.engine.explain_calls) > n, timeout=3000)
    assert s.target == row.predicted and s.contrast == row.item.true
    assert win.engine.explain_calls[-1]["contrast"] == row.item.true
    assert "predicted vs true" in messages[-1]
    panel.table.selectRow(1)  # another row: its predicted class alone again
    qtbot.waitUntil(lambda: s.contrast is None, timeout=3000)


def test_without_a_contrast_entry_point_the_button_says_why(qtbot, make_window, tmp_path):
    from saliency_desktop.ui.dataset_dock import NO_CONTRAST, contrast_unavailable

    win = make_window()
    assert contrast_unavailable(win.session) == ""
    assert contrast_unavailable(object()) == NO_CONTRAST


def test_dropping_a_labelled_folder_opens_it_as_a_data_set(qtbot, make_window, tmp_path):
    win = make_window()
    folder = _labelled_folder(tmp_path)
    with job_event(qtbot, win.session.client, TASK, "done", 10000):
        assert drop_urls(win, [folder]).isAccepted()
    assert win.dataset.isVisible() and win.dataset.panel.proxy.rowCount() == 6
    assert not win.session.entries  # not opened as loose images


def test_a_data_set_without_a_model_says_so(qtbot, make_window, tmp_path):
    win = make_window(model=False)
    messages: list[str] = []
    win.dataset.status.connect(messages.append)
    win.open_dataset(str(_labelled_folder(tmp_path)))
    assert win.dataset.isVisible() and "Load a model first" in messages[-1]
