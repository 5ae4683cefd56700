"""Issue 9/17 (app): layout at 900x600 and its reset, method settings (CAM checkbox, steps on
commit, installed backends only, time estimates, a long restored job), menus and dialogs."""

from __future__ import annotations

import importlib.util

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QComboBox

from saliency_desktop.ui import dialogs, layout, menus
from saliency_desktop.ui.engine_api import ALIBI_MISSING, EngineAdapter
from saliency_desktop.ui.main_window import MainWindow
from tests.ui.fake_engine import FakeEngine
from tests.ui.helpers import open_and_wait, wait_done


def _settle(qtbot, win, w: int, h: int) -> None:  # type: ignore[no-untyped-def]
    win.resize(w, h)
    qtbot.wait(100)
    QApplication.processEvents()


def test_at_900x600_the_side_panels_keep_names_readable(qtbot, make_window):
    win = make_window()
    _settle(qtbot, win, 900, 600)
    widths = layout.minimum_widths(win)
    for dock in win.docks:
        assert dock.widget().width() >= widths[dock.objectName()] - 2, dock.objectName()
    fm = win.tree.fontMetrics()
    assert win.tree.header().sectionSize(0) >= fm.horizontalAdvance("Integrated Gradients")
    assert not layout.collapsed(win)


def test_cam_layer_combo_shows_a_long_layer_name_whole(qtbot, make_window):
    from dataclasses import replace

    from saliency_desktop.engine.types import LayerInfo

    win = make_window()
    _settle(qtbot, win, 900, 600)
    long = LayerInfo("mobilenetv2_1.00_160/block_16_project_BN", (5, 5, 320))
    win.tree.set_model_info(
        replace(win.session.model.info, layers=(long,), default_layer=long.path)
    )
    qtbot.wait(50)
    combo = win.tree.layer_combo
    assert combo.currentText() == "block_16_project_BN (default)"
    right = combo.mapTo(win.tree.viewport(), combo.rect().topRight()).x()
    assert right <= win.tree.viewport().width()  # not cut by the panel's edge
    assert combo.width() >= combo.fontMetrics().horizontalAdvance(combo.currentText()) + 20


def test_reset_layout_brings_every_panel_back(qtbot, make_window):
    win = make_window()
    _settle(qtbot, win, 1400, 900)
    win.docks[0].hide()
    win.docks[2].setFloating(True)
    win.menus.actions["reset_layout"].trigger()
    qtbot.wait(100)
    assert all(d.isVisible() and not d.isFloating() for d in win.docks)
    assert win.dockWidgetArea(win.docks[2]) == Qt.DockWidgetArea.RightDockWidgetArea


def test_a_collapsed_layout_is_neither_restored_nor_saved(qtbot, settings):
    # a state saved by a window whose panels had no minimum width, squeezed to 60 px
    old = MainWindow(engine=FakeEngine(), settings=settings, persist=False)
    qtbot.addWidget(old)
    for dock in old.docks:
        dock.widget().setMinimumWidth(0)
    old.resize(900, 600)
    old.show()
    old.resizeDocks(old.docks, [60, 60, 60, 60], Qt.Orientation.Horizontal)
    qtbot.wait(100)
    settings.save_window(old.saveGeometry(), old.saveState())
    old.close()
    win = MainWindow(engine=FakeEngine(), settings=settings, persist=True)
    qtbot.addWidget(win)
    win.show()
    qtbot.wait(150)
    assert not layout.collapsed(win)
    win.close()
    assert settings.window_state() is not None  # a readable layout is kept
    # closing with a collapsed layout forgets it
    win2 = MainWindow(engine=FakeEngine(), settings=settings, persist=True)
    qtbot.addWidget(win2)
    win2.show()
    qtbot.wait(50)
    win2.docks[0].widget().setMinimumWidth(0)
    win2.docks[1].widget().setMinimumWidth(0)
    win2.resizeDocks(win2.docks[:2], [40, 40], Qt.Orientation.Horizontal)
    qtbot.wait(50)
    assert layout.collapsed(win2)
    win2.close()
    assert settings.window_state() is None


def test_cam_family_has_a_checkbox_like_the_others(qtbot, make_window):
    win = make_window()
    cam = win.tree._family_items["cam"]
    assert cam.data(0, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    cam.setCheckState(0, Qt.CheckState.Unchecked)
    assert not {"gradcam", "gradcam_plus_plus", "guided_gradcam"} & set(win.tree.selected())
    win.tree.item("gradcam").setCheckState(0, Qt.CheckState.Checked)
    assert cam.checkState(0) == Qt.CheckState.PartiallyChecked


def test_steps_recompute_on_enter_not_while_typing(qtbot, make_window, image_file):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    spin = win.tree.editor("integrated_gradients", "n_steps")
    calls = len(win.engine.explain_calls)
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "8")  # "8" on its way to "80"
    qtbot.wait(400)  # past the debounce
    assert len(win.engine.explain_calls) == calls
    assert "integrated_gradients" in win.session.results()  # the IG tile stays
    qtbot.keyClicks(spin, "0")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    wait_done(qtbot, win)
    assert win.engine.explain_calls[-1]["params"]["integrated_gradients"]["n_steps"] == 80


def test_an_uninstalled_backend_is_offered_disabled_with_the_reason(qtbot, make_window, image_file):
    engine = FakeEngine(choices_off={"backend": {"alibi": ALIBI_MISSING}})
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    combo = win.tree.editor("integrated_gradients", "backend")
    assert isinstance(combo, QComboBox)
    i = combo.findText("alibi")
    assert not combo.model().item(i).isEnabled()
    assert "not installed" in combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
    assert "not installed" in combo.toolTip()
    ig = win.session.results()["integrated_gradients"]
    win.tree.set_params({"backend": "alibi"})  # e.g. a stored setting: ignored
    assert combo.currentText() == "native"
    assert win.session.results()["integrated_gradients"] is ig  # the map is kept


def test_engine_adapter_checks_alibi_without_importing_it():
    found = importlib.util.find_spec("alibi") is not None
    choices = EngineAdapter().unavailable_choices()
    assert ("alibi" in choices.get("backend", {})) == (not found)


def test_time_estimate_beside_steps_and_a_question_before_a_long_restored_job(
    qtbot, make_window, image_file, settings, monkeypatch
):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    label = win.tree._estimates[("integrated_gradients", "n_steps")]
    assert label.text().startswith("\u2248")  # measured on the first run
    win.close()
    # the next start restores 1000 steps measured at 20 ms a step: about 20 s
    settings.set_method_params({"n_steps": 1000})
    settings.set_rates({("dog-breeds", "integrated_gradients"): 0.02})
    asked: list[float] = []
    monkeypatch.setattr(dialogs, "ask_heavy_job", lambda _p, s: asked.append(s) or False)
    engine = FakeEngine()
    win = make_window(engine)
    assert win.tree._estimates[("integrated_gradients", "n_steps")].text() == "\u2248 20 s"
    win.open_paths([image_file])
    qtbot.waitUntil(lambda: bool(asked), timeout=3000)
    assert asked[0] > 10 and engine.explain_calls == []
    assert "Press F5" in win.statusBar().currentMessage()
    win.menus.actions["explain"].trigger()  # F5 runs it without asking again
    wait_done(qtbot, win)
    assert len(asked) == 1
    assert engine.explain_calls[-1]["params"]["integrated_gradients"]["n_steps"] == 1000


def test_samples_are_listed_once(qtbot, make_window, monkeypatch, tmp_path):
    twice = [
        ("chelsea.png (bundled)", "/a/chelsea.png"),
        ("chelsea.png (skimage)", "/b/chelsea.png"),
    ]
    monkeypatch.setattr(menus, "sample_images", lambda: [*twice, ("x.jpg", "/c/x.jpg")])
    win = make_window()
    menus.fill_samples(win.menus)
    texts = [a.text() for a in win.menus.samples.actions() if a.text()]
    assert texts == ["chelsea.png (bundled)", "x.jpg", "Open all samples"]


def test_about_lists_each_library_once():
    text = dialogs.about_html({"numpy": "2.0", "tensorflow": "2.21", "keras": "3"}, None, {})
    assert text.count(">NumPy<") == 1 and text.count(">TensorFlow<") == 1


def test_log_dialog_shows_its_last_line(qtbot, tmp_path):
    path = tmp_path / "app.log"
    path.write_text("".join(f"line {i} " + "x" * (i % 150) + "\n" for i in range(400)))
    dialog = dialogs.LogDialog(path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    text = dialog.text
    viewport = text.viewport()
    last = text.document().lastBlock()
    rect = text.blockBoundingGeometry(last).translated(text.contentOffset())
    assert last.text().startswith("line 399")
    assert rect.bottom() <= viewport.height() and rect.top() >= 0  # whole, not cut
    bottom = text.cursorForPosition(QPoint(4, viewport.height() - 4)).block()
    assert bottom.blockNumber() == last.blockNumber()


def test_empty_images_list_says_how_to_fill_it(qtbot, make_window):
    win = make_window(model=False)
    empty = win.strip.viewport().grab().toImage()
    colours = {
        empty.pixel(x, y) for x in range(0, empty.width(), 2) for y in range(0, empty.height(), 2)
    }
    assert len(colours) > 2  # text is drawn
    from saliency_desktop.ui.image_strip import HINT

    assert HINT == "Drop images here, or File > Open / Samples"


def test_file_dialog_columns_are_not_cut(qtbot, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QTreeView

    from saliency_desktop.ui import file_dialogs

    (tmp_path / "a_rather_long_photo_name_from_a_camera_2024.jpg").write_bytes(b"x")
    dialog = QFileDialog(None, "Open images", str(tmp_path), "Images (*.jpg)")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    file_dialogs.prepare(dialog)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    tree = dialog.findChild(QTreeView, "treeView")
    assert tree is not None and tree.isVisible()
    header = tree.header()
    name = tree.fontMetrics().horizontalAdvance("a_rather_long_photo_name_from_a_camera_2024.jpg")
    assert header.sectionSize(0) >= name + 24
    for column in range(1, header.count()):
        if not header.isSectionHidden(column):
            assert header.sectionSize(column) >= header.sectionSizeHint(column) - 2
    dialog.close()
