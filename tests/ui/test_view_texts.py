"""Issue 9/17 (app): compare tiles and their scales, exports of the grid, tile texts, the status
bar, the predictions panel while models change or jobs are cancelled, and pasting paths."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QGuiApplication

from saliency_desktop.engine.registry import list_methods
from saliency_desktop.engine.types import MethodResult, Prediction
from saliency_desktop.ui import tiles
from saliency_desktop.ui.predictions import PredictionsPanel
from tests.ui.fake_engine import FakeEngine
from tests.ui.helpers import job_event, open_and_wait, wait_done

INFOS = {m.id: m for m in list_methods()}


def _result(mid: str, heat: np.ndarray, seconds: float = 0.2, **extras: object) -> MethodResult:
    params = {"layer": "backbone/block2"} if INFOS[mid].needs_layer else {}
    return MethodResult(mid, heat, None, None, seconds, params, dict(extras))


def test_compare_tiles_each_have_a_colour_scale(qtbot, make_window, image_file):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    win.view.set_mode("compare")
    shown = {t.key: t for t in win.view.compare.tiles if t.key}
    assert set(shown) == set(INFOS)
    for mid, tile in shown.items():
        assert tile.legend is not None, mid
        lo, mid_label, hi = tile.legend.labels
        if INFOS[mid].signed:  # a diverging legend centred on zero
            assert lo.startswith("\u2264\u2212") and mid_label == "0" and hi.startswith("\u2265")
        else:
            assert lo == "0" and hi.startswith("\u2265")
    compare = win.view.compare
    for size in ((900, 600), (330, 420)):  # labels stay under their own picture
        compare.resize(*size)
        for t, cell in zip(compare.tiles, compare._grid(), strict=True):
            if t.legend is not None:
                pic = compare.picture_rect(t, cell)
                _bar, labels = compare.legend_layout(t.legend, pic)
                assert labels and labels[0][2] == t.legend.labels[2]  # "≥ scale" always shown
                for box, _align, _text in labels:
                    assert pic.left() <= box.left() and box.right() <= pic.right() + 1
    compare.resize(win.view.stack.size())
    # the legend is painted under the picture: colours of the colormap appear there
    tile = shown["gradcam"]
    cell = win.view.compare._grid()[list(win.view.compare.tiles).index(tile)]
    pic = win.view.compare.picture_rect(tile, cell)
    grab = win.view.compare.grab().toImage()
    row = [grab.pixelColor(x, pic.bottom() + 6) for x in range(cell.left(), cell.right())]
    assert len({(c.red(), c.green(), c.blue()) for c in row}) > 20


def test_export_and_copy_view_in_compare_save_the_grid(qtbot, make_window, image_file, tmp_path):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    win.view.set_mode("compare")
    qtbot.wait(50)
    size = win.view.compare.size()
    assert win.commands.export_view_to(tmp_path / "grid.png")
    win.commands.exporter.wait()
    qtbot.waitUntil(lambda: (tmp_path / "grid.png").exists(), timeout=5000)
    with Image.open(tmp_path / "grid.png") as img:
        assert img.size == (size.width(), size.height())  # the grid, not the 64x48 photo
    win.commands.copy_view()
    copied = QGuiApplication.clipboard().image()
    assert (copied.width(), copied.height()) == (size.width(), size.height())


def test_tile_texts_shared_pass_zero_map_and_relative_delta():
    heat = np.ones((8, 8), np.float32)
    sub, _ = tiles.subtitle(
        _result("gradcam_plus_plus", heat, seconds=0.0), INFOS["gradcam_plus_plus"]
    )
    assert sub.startswith("shared pass") and "0.00 s" not in sub
    sub, _ = tiles.subtitle(_result("gradcam", heat, seconds=0.4), INFOS["gradcam"])
    assert sub.startswith("0.40 s")
    zero = _result("gradcam", np.zeros((8, 8), np.float32))
    assert tiles.note(zero) == "zero everywhere: no positive evidence for this class"
    assert tiles.note(_result("gradcam", heat)) == ""
    ig = INFOS["integrated_gradients"]
    small = _result(
        "integrated_gradients", heat, convergence_delta=0.02, score=3.0, baseline_score=1.0
    )
    sub, warn = tiles.subtitle(small, ig)
    assert "\u03b4 1.0% of S(x)\u2212S(x\u2032)" in sub and not warn
    big = _result(
        "integrated_gradients", heat, convergence_delta=-2.7, score=3.0, baseline_score=1.0
    )
    sub, warn = tiles.subtitle(big, ig)
    assert "135.0%" in sub and warn and "\u26a0" in sub


def test_a_zero_map_says_so_on_its_tile(qtbot, make_window, image_file):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    results = dict(win.session.results())
    results["gradcam"] = _result("gradcam", np.zeros((32, 32), np.float32))
    win.view.set_results(results, [])
    win.view.set_mode("compare")
    tile = next(t for t in win.view.compare.tiles if t.key == "gradcam")
    assert tile.note.startswith("zero everywhere")


def test_cancel_leaves_a_placeholder_tile_and_f5_runs_it(qtbot, make_window, image_file):
    gate = threading.Event()
    win = make_window(FakeEngine(gate=gate))
    win.open_paths([image_file])
    qtbot.waitUntil(lambda: win.session.client.is_busy(), timeout=5000)
    win.view.set_mode("compare")
    with job_event(qtbot, win.session.client.worker, "explain", "cancelled"):
        win.menus.actions["cancel"].trigger()
    notes = {t.key: t.note for t in win.view.compare.tiles if t.key}
    assert set(notes) == set(INFOS)  # no tile vanished
    assert set(notes.values()) == {"cancelled: press F5 to run again"}
    gate.set()
    win.menus.actions["explain"].trigger()  # F5
    wait_done(qtbot, win)
    assert all(t.note == "" and t.heat is not None for t in win.view.compare.tiles if t.key)


def test_status_bar_counts_shown_maps_and_names_the_model_once(qtbot, make_window, image_file):
    win = make_window()
    assert win.session.model.info.label not in win.statusBar().currentMessage()
    messages: list[str] = []
    win.session.status.connect(messages.append)
    win.session.progress.connect(lambda *_: messages.append(win.statusBar().currentMessage()))
    open_and_wait(qtbot, win, image_file)
    n = len(INFOS)
    qtbot.waitUntil(lambda: win.statusBar().currentMessage().startswith(f"Ready: {n} maps ("))
    assert not any("predicted" in m for m in messages)
    win.tree.item("deconvnet").setCheckState(0, win.tree.item("deconvnet").checkState(0).Unchecked)
    qtbot.waitUntil(
        lambda: win.statusBar().currentMessage() == f"Ready: {n - 1} maps.", timeout=3000
    )


def test_predictions_clear_while_another_model_loads(qtbot, make_window, image_file):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    assert win.predictions.tree.topLevelItemCount() == 5
    from saliency_desktop.ui.engine_api import ModelRequest

    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.load_model(ModelRequest("emotions"), "Emotions")
        assert win.predictions.tree.topLevelItemCount() == 0  # not the old model's classes
        assert "Loading model Emotions" in win.predictions.target_label.text()
    wait_done(qtbot, win)
    assert win.predictions.tree.topLevelItemCount() == 5


def test_predictions_stop_saying_loading_when_the_model_loads_without_an_image(qtbot, make_window):
    """The README's first command opens the app on a model with no image yet."""
    win = make_window()
    from saliency_desktop.ui.engine_api import ModelRequest

    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.load_model(ModelRequest("emotions"), "Emotions")
        assert "Loading model Emotions" in win.predictions.target_label.text()
    assert win.predictions.target_label.text() == "No prediction yet."


def test_predictions_and_caption_agree_after_a_cancel(qtbot, make_window, tmp_path):
    from tests.ui.fake_engine import write_png

    gate = threading.Event()
    gate.set()
    win = make_window(FakeEngine(gate=gate))
    win.tree.set_selected(["gradcam"])
    a, b = write_png(tmp_path / "a.png", seed=1), write_png(tmp_path / "b.png", seed=2)
    open_and_wait(qtbot, win, a)
    open_and_wait(qtbot, win, b)
    gate.clear()  # the next job hangs until cancelled
    win.tree.set_selected(["gradcam", "vanilla_gradients"])
    qtbot.waitUntil(lambda: win.session.client.is_busy(), timeout=3000)
    with job_event(qtbot, win.session.client.worker, "explain", "cancelled"):
        win.session.cancel()
    win.strip.setCurrentRow(0)  # back to a.png: its explanation is kept
    qtbot.waitUntil(lambda: win.windowTitle().startswith("a.png"), timeout=3000)  # decoded, shown
    e = win.session.explanation()
    assert e is not None
    label = win.predictions.target_label.text()
    assert "No prediction yet" not in label and e.target_label.replace("_", " ") in label
    assert e.target_label.replace("_", " ") in win.view.caption.text()
    gate.set()


def test_predictions_say_what_the_model_knows_when_unsure(qtbot):
    panel = PredictionsPanel()
    qtbot.addWidget(panel)
    panel.set_domain("19 dog breeds")
    unsure = [Prediction(0, "Chihuahua", 0.43), Prediction(1, "pug", 0.2)]
    panel.set_predictions(unsure, 0)
    assert "only knows 19 dog breeds" in panel.target_label.text()
    sure = [Prediction(0, "golden_retriever", 0.93), Prediction(1, "pug", 0.02)]
    panel.set_predictions(sure, 0)
    assert "only knows" not in panel.target_label.text()
    assert panel.tree.topLevelItem(0).text(0) == "golden retriever"


def test_window_takes_the_domain_from_the_catalogue(qtbot, make_window):
    win = make_window()
    assert win.predictions.domain == "19 dog breeds"


def test_ctrl_v_with_a_path_or_file_url_as_text_opens_it(qtbot, make_window, image_file, tmp_path):
    from tests.ui.fake_engine import write_png

    win = make_window()
    mime = QMimeData()
    mime.setText(image_file + "\n")
    QGuiApplication.clipboard().setMimeData(mime)
    win.menus.actions["paste"].trigger()
    wait_done(qtbot, win)
    assert win.session.current_entry().path == image_file
    other = write_png(tmp_path / "other photo.png", seed=5)
    mime = QMimeData()
    mime.setText(QUrl.fromLocalFile(other).toString())
    QGuiApplication.clipboard().setMimeData(mime)
    win.menus.actions["paste"].trigger()
    wait_done(qtbot, win)
    assert win.session.current_entry().path == other
    mime = QMimeData()
    mime.setText("/no/such/file.png")
    QGuiApplication.clipboard().setMimeData(mime)
    win.menus.actions["paste"].trigger()
    assert "No such file" in win.statusBar().currentMessage()
    assert win.strip.count() == 2


def test_skipped_methods_and_engine_notes_are_shown(qtbot, make_window, image_file):
    from dataclasses import replace

    class Engine(FakeEngine):
        def explain(self, model, request, hooks):  # type: ignore[no-untyped-def]
            run = replace(request, methods=tuple(m for m in request.methods if m != "deconvnet"))

            def noted(r):  # type: ignore[no-untyped-def]
                if r.method == "vanilla_gradients":
                    r = replace(r, extras={"note": "rerouted 3 ReLUs; 2 hard-swish kept"})
                hooks.on_result(r)

            e = super().explain(model, run, replace(hooks, on_result=noted))
            return replace(e, skipped={"deconvnet": "no ReLU on the feature path"})

    win = make_window(Engine())
    win.open_paths([image_file])
    qtbot.waitUntil(lambda: win.session.explanation() is not None, timeout=5000)
    assert win.session.skipped() == {"deconvnet": "no ReLU on the feature path"}
    win.view.set_mode("compare")
    shown = {t.key: t for t in win.view.compare.tiles}
    assert shown["deconvnet"].note == "no ReLU on the feature path"
    assert shown["deconvnet"].subtitle == "not run"
    assert shown["vanilla_gradients"].note == "rerouted 3 ReLUs; 2 hard-swish kept"
    wait_done(qtbot, win)  # a skipped method is not missing: no job runs it again
    calls = len(win.engine.explain_calls)
    win.menus.actions["explain"].trigger()
    assert len(win.engine.explain_calls) == calls
    assert win.statusBar().currentMessage().startswith(f"Ready: {len(INFOS) - 1} maps")


def test_loading_names_the_model_once(qtbot, make_window):
    from saliency_desktop.ui.engine_api import ModelRequest

    win = make_window(model=False)
    with qtbot.waitSignal(win.session.model_ready, timeout=5000):
        win.load_model(ModelRequest("dog-breeds"))
        label = "Dog breeds (MobileNetV2, 19 classes)"
        texts = [win.statusBar().currentMessage(), win.model_label.text()]
        assert sum(label in t for t in texts) == 1
    texts = [win.statusBar().currentMessage(), win.model_label.text()]
    assert sum(label in t for t in texts) == 1


def test_canvas_draws_a_signed_map_as_the_report_does(qtbot, make_window, image_file):
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    from saliency_desktop.render import maps
    from saliency_desktop.ui.images import qimage_to_rgb

    win = make_window()
    open_and_wait(qtbot, win, image_file)
    win.view.set_opacity(0.8)
    win.view.set_current_method("integrated_gradients")
    canvas = win.view.canvas
    h, w = win.view.rgb.shape[:2]
    out = QImage(w, h, QImage.Format.Format_RGB888)
    painter = QPainter(out)
    canvas.scene().render(painter, QRectF(0, 0, w, h), QRectF(0, 0, w, h))
    painter.end()
    got = qimage_to_rgb(out).astype(int)
    m = win.session.results()["integrated_gradients"].map
    want = maps.overlay(win.view.rgb, m, True, None, 0.8).astype(int)
    assert np.abs(got - want).mean() < 2.0  # per-pixel alpha |value|: the same picture
    assert np.abs(got - win.view.rgb.astype(int)).mean() > 1.0  # and the map is there


def test_compare_caption_names_the_renderers_percentile(
    qtbot, make_window, image_file, monkeypatch
):
    from saliency_desktop.render import maps

    monkeypatch.setattr(maps, "DEFAULT_PERCENTILE", 98.0)  # one constant in render/, not a copy
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    win.view.set_mode("compare")
    win._update_caption()
    assert "scaled by its own 98th percentile" in win.view.caption.text()
