"""The data-set view with the fake engine: predictions, confusion clicks, filters, sorting,
explain on click (predicted, and predicted vs true), cancel, exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.ui.dataset_view import TASK
from tests.ui.fake_engine import FakeEngine, fake_probabilities, write_png
from tests.ui.helpers import job_event


@pytest.fixture
def client(qtbot):  # type: ignore[no-untyped-def]
    from saliency_desktop.ui.engine_api import ModelRequest
    from saliency_desktop.ui.worker import EngineClient

    c = EngineClient(FakeEngine(predict_delay=0.0))
    with job_event(qtbot, c, "model", "done"):
        c.load_model(ModelRequest("dog-breeds"))
    yield c
    c.shutdown()


def _predicted(path: Path) -> int:
    return int(np.argmax(fake_probabilities(np.asarray(Image.open(path).convert("RGB")))))


@pytest.fixture
def folder(tmp_path):  # type: ignore[no-untyped-def]
    """12 images: the first 8 filed under their (fake) predicted class, 4 under another one;
    one folder spelled with a space and capitals; one damaged file."""
    root = tmp_path / "data"
    files = []
    for i in range(12):
        tmp = write_png(tmp_path / f"img{i}.png", seed=i)
        pred = _predicted(Path(tmp))
        cls = pred if i < 8 else (pred + 1) % 10
        folder = root / (f"Class {cls}" if cls == 3 else f"class_{cls}")
        folder.mkdir(parents=True, exist_ok=True)
        files.append(Path(tmp).rename(folder / f"img{i}.png"))
    (folder / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return root


def _open(qtbot, client, folder, engine_delay: float = 0.0):  # type: ignore[no-untyped-def]
    from saliency_desktop.ui.dataset_view import DatasetPanel

    panel = DatasetPanel(client)
    qtbot.addWidget(panel)
    panel.resize(1000, 600)
    panel.show()
    with job_event(qtbot, client, TASK, "done", 10000):
        panel.open_source(str(folder))
    return panel


def test_accuracy_confusion_and_cell_click_filters(qtbot, client, folder):
    panel = _open(qtbot, client, folder)
    assert "13 images" in panel.summary.text()
    assert "accuracy 66.7 % (8/12 labelled)" in panel.summary.text()
    assert "1 unreadable" in panel.summary.text()
    c = panel.result.confusion
    assert c.matrix.sum() == 12 and c.matrix.trace() == 8
    i, j = np.argwhere(c.matrix - np.diag(np.diag(c.matrix)))[0]
    count = c.matrix[i, j]
    panel.confusion._clicked(int(i), int(j))
    assert panel.proxy.rowCount() == count
    rows = [panel.proxy.index(r, 0).data(panel_role()) for r in range(count)]
    assert all(r.item.true == i and r.predicted == j for r in rows)
    used = (c.matrix.sum(axis=0) + c.matrix.sum(axis=1)) > 0
    hidden = [panel.confusion.isRowHidden(k) for k in range(len(c.labels))]
    assert hidden == list(~used) and any(hidden)  # classes with no image take no room
    panel.confusion._clicked(int(i), int(j))  # again: cleared
    assert panel.proxy.rowCount() == 13


def panel_role() -> int:
    from saliency_desktop.ui.dataset_model import ROW_ROLE

    return ROW_ROLE


def test_filters_and_sorting(qtbot, client, folder):
    from PySide6.QtCore import Qt

    panel = _open(qtbot, client, folder)
    panel.mistakes.setChecked(True)
    assert panel.proxy.rowCount() == 4
    panel.clear_filters()
    panel.below.setValue(0.3)
    shown = [panel.proxy.index(r, 0).data(panel_role()) for r in range(panel.proxy.rowCount())]
    assert shown and all(r.probability < 0.3 for r in shown)
    panel.clear_filters()
    panel.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    probs = [panel.proxy.index(r, 0).data(panel_role()).probability for r in range(12)]
    assert probs == sorted(probs, reverse=True)
    panel.true_combo.setCurrentIndex(3 + 1)  # "class 3" from the folder "Class 3"
    assert all(
        panel.proxy.index(r, 0).data(panel_role()).item.true == 3
        for r in range(panel.proxy.rowCount())
    )


def test_selecting_a_row_explains_it_and_a_mistake_offers_the_contrast(qtbot, client, folder):
    panel = _open(qtbot, client, folder)
    panel.mistakes.setChecked(True)
    with qtbot.waitSignal(panel.explain_requested) as blocker:
        panel.table.selectRow(0)
    r = panel.selected_row()
    assert blocker.args == [str(r.item.path), r.predicted, None]
    assert panel.contrast_button.isEnabled()
    with qtbot.waitSignal(panel.explain_requested) as blocker:
        panel.contrast_button.click()
    assert blocker.args == [str(r.item.path), r.predicted, r.item.true]


def test_cancel_during_a_large_folder(qtbot, tmp_path):
    from saliency_desktop.ui.dataset_view import DatasetPanel
    from saliency_desktop.ui.engine_api import ModelRequest
    from saliency_desktop.ui.worker import EngineClient

    for i in range(300):
        write_png(tmp_path / f"{i:03d}.png", seed=i, size=(8, 8))
    c = EngineClient(FakeEngine(predict_delay=0.01))
    try:
        with job_event(qtbot, c, "model", "done"):
            c.load_model(ModelRequest("dog-breeds"))
        panel = DatasetPanel(c)
        qtbot.addWidget(panel)
        with job_event(qtbot, c, TASK, "progress"):
            panel.open_source(str(tmp_path))
        with job_event(qtbot, c, TASK, "finished"):
            panel.cancel_button.click()
        assert panel.result is None and panel.summary.text() == "Cancelled."
        assert not panel.progress.isVisible()
    finally:
        c.shutdown()


def test_exports(qtbot, client, folder, tmp_path):
    panel = _open(qtbot, client, folder)
    panel.export_csv(str(tmp_path / "t.csv"))
    text = (tmp_path / "t.csv").read_text().splitlines()
    assert text[0] == "path,true,predicted,probability,true_probability,correct" and len(text) == 14
    panel.export_confusion(str(tmp_path / "c.svg"))
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")
    panel.methods = ["gradcam"]
    with qtbot.waitSignal(panel.status, timeout=5000) as blocker:
        panel.export_mistakes(str(tmp_path / "m.png"), k=3)
    assert (tmp_path / "m.png").exists() and "m.png" in blocker.args[0]
