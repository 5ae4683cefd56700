"""The method tree's editors for the int_or_auto and folder parameter kinds."""

from __future__ import annotations

from dataclasses import replace

from saliency_desktop.engine.registry import get_method
from saliency_desktop.engine.types import ParamInfo


def _param(method_id: str, name: str) -> ParamInfo:
    return next(p for p in get_method(method_id).info.params if p.name == name)


# One method with both editor kinds, taken from the registered methods that declare them.
INFO = replace(
    get_method("integrated_gradients").info,
    id="fake_path",
    params=(_param("integrated_gradients", "n_steps"), _param("expected_gradients", "references")),
)


def test_int_or_auto_editor_reads_auto_below_its_minimum(qtbot):
    from saliency_desktop.ui.method_tree import MethodTree

    tree = MethodTree([INFO])
    qtbot.addWidget(tree)
    spin = tree.editor("fake_path", "n_steps")
    assert tree.params() == {"fake_path": {"n_steps": "auto", "references": ""}}
    assert spin.text() == "auto"
    with qtbot.waitSignal(tree.changed):
        spin.setValue(64)
    assert tree.params()["fake_path"]["n_steps"] == 64
    tree.set_params({"fake_path": {"n_steps": "auto", "references": "/tmp/refs"}})
    assert tree.params() == {"fake_path": {"n_steps": "auto", "references": "/tmp/refs"}}
    tree.set_params({"fake_path": {"n_steps": 300}})
    assert tree.params()["fake_path"]["n_steps"] == 300


def test_each_method_has_its_own_seed(qtbot, make_window, image_file):
    """Issue 10: `seed` of RISE, IG and Expected Gradients are three editors, three values,
    and the request carries each method's own."""
    from tests.ui.helpers import open_and_wait, wait_done

    win = make_window()
    open_and_wait(qtbot, win, image_file)
    tree = win.tree
    assert tree.editor("rise", "seed") is not tree.editor("integrated_gradients", "seed")
    n = len(win.engine.explain_calls)
    tree.editor("rise", "seed").setValue(7)
    qtbot.waitUntil(lambda: len(win.engine.explain_calls) > n, timeout=3000)
    wait_done(qtbot, win)
    call = win.engine.explain_calls[-1]
    assert call["methods"] == ["rise"]  # IG's maps did not depend on RISE's seed
    assert call["params"]["rise"]["seed"] == 7
    params = tree.params()
    assert params["integrated_gradients"]["seed"] == 0
    assert params["expected_gradients"]["seed"] == 0
    assert win.session.results()["rise"].params["seed"] == 7
    assert win.session.results()["integrated_gradients"].params["seed"] == 0


def test_stored_parameters_per_method_and_old_flat_ones(qtbot, make_window, settings):
    settings.set_method_params({"rise": {"seed": 3}, "integrated_gradients": {"seed": 4}})
    win = make_window(model=False)
    assert win.tree.params()["rise"]["seed"] == 3
    assert win.tree.params()["integrated_gradients"]["seed"] == 4
    win.tree.editor("expected_gradients", "seed").setValue(5)
    win.close()
    assert settings.method_params()["expected_gradients"]["seed"] == 5
    assert settings.method_params()["rise"]["seed"] == 3
    # settings written before parameters were per method: the value goes to each method
    settings.set_method_params({"seed": 9, "n_masks": "many", "rise": 12, "nope": 1})
    win = make_window(model=False)
    params = win.tree.params()
    assert [params[m]["seed"] for m in ("rise", "integrated_gradients", "smoothgrad")] == [9] * 3
    assert params["rise"]["n_masks"] == 4000  # a bad value keeps the default
    settings.q.setValue("methods/params", "[not json")
    assert make_window(model=False).tree.params()["rise"]["seed"] == 0


def test_ig_tile_shows_the_steps_used_and_the_relative_delta():
    import numpy as np

    from saliency_desktop.engine.types import MethodResult
    from saliency_desktop.ui.tiles import subtitle

    zero = np.zeros((2, 2), np.float32)
    auto = MethodResult(
        "integrated_gradients", zero, None, None, 1.5, {"n_steps": "auto"},
        {"steps": 298, "convergence_delta": -0.01, "relative_delta": 0.031},
    )  # fmt: skip
    rel = "\u03b4 3.1% of S(x)\u2212S(x\u2032)"
    assert subtitle(auto, None) == (f"{rel} \u00b7 1.50 s \u00b7 298 steps", False)
    fixed = MethodResult("x", zero, None, None, 0.5, {"n_steps": 50}, {"convergence_delta": -2.7})
    assert subtitle(fixed, None) == ("\u03b4 -2.7 \u00b7 0.50 s \u00b7 50 steps", False)


def test_the_new_methods_get_tiles_in_their_groups(qtbot):
    from saliency_desktop.engine.registry import list_methods
    from saliency_desktop.ui.method_tree import MethodTree

    tree = MethodTree(list_methods())
    qtbot.addWidget(tree)
    groups = {
        "Gradients": ("gradient_x_input", "smoothgrad", "smoothgrad_squared", "vargrad"),
        "Path": ("integrated_gradients", "expected_gradients", "blur_ig", "guided_ig", "xrai"),
    }
    for group, ids in groups.items():
        for mid in ids:
            assert tree.item(mid).parent().text(0) == group, mid
    assert tree.params()["integrated_gradients"]["n_steps"] == "auto"  # IG's default


def test_layercam_layers_are_picked_from_the_model(qtbot, make_window, image_file):
    """Issue 11: Layer-CAM's layers, several of them, from the model's list; a name the model
    lacks is marked and left out of the request."""
    from PySide6.QtWidgets import QListWidget

    from saliency_desktop.ui.param_editors import LayerPicker
    from tests.ui.fake_engine import LAYERS
    from tests.ui.helpers import open_and_wait, wait_done

    win = make_window()
    open_and_wait(qtbot, win, image_file)
    picker = win.tree.editor("layercam", "layers")
    assert isinstance(picker, LayerPicker) and picker.multi and picker.button.isEnabled()
    dialog = picker.dialog()
    listing = dialog.findChild(QListWidget, "layers")
    assert listing.count() == len(LAYERS)  # deepest first
    assert listing.item(0).data(256) == LAYERS[-1].path
    listing.item(0).setSelected(True)
    listing.item(1).setSelected(True)
    n = len(win.engine.explain_calls)
    picker.accept_dialog(dialog)
    want = f"{LAYERS[-2].path},{LAYERS[-1].path}"
    assert win.tree.params()["layercam"]["layers"] == want
    qtbot.waitUntil(lambda: len(win.engine.explain_calls) > n, timeout=3000)
    wait_done(qtbot, win)
    call = win.engine.explain_calls[-1]
    assert call["methods"] == ["layercam"] and call["params"]["layercam"]["layers"] == want
    picker.set_value(f"{LAYERS[0].path.rsplit('/', 1)[-1]}, no_such_layer")
    assert "no_such_layer" in picker.message and "no_such_layer" in picker.line.toolTip()
    assert picker.value() == LAYERS[0].path  # the last name resolved, the unknown left out
    picker.set_value(LAYERS[0].path)
    assert picker.message == ""


def test_reference_folder_browse_remember_and_error_in_the_tile(
    qtbot, make_window, image_file, tmp_path, monkeypatch, settings
):
    """Issue 12: Expected Gradients' folder: Browse..., kept per method in the settings, and a
    folder with no readable image is said in the method's tile (the method is not run)."""
    from saliency_desktop.ui import file_dialogs
    from saliency_desktop.ui.param_editors import FolderEditor
    from tests.ui.fake_engine import write_png
    from tests.ui.helpers import open_and_wait

    empty = tmp_path / "refs_bad"
    empty.mkdir()
    (empty / "broken.jpg").write_bytes(b"not a jpeg")
    good = tmp_path / "refs"
    good.mkdir()
    write_png(good / "a.png", seed=3)
    win = make_window()
    win.tree.set_selected(["gradcam", "expected_gradients"])
    open_and_wait(qtbot, win, image_file)
    editor = win.tree.editor("expected_gradients", "references")
    assert isinstance(editor, FolderEditor)
    monkeypatch.setattr(file_dialogs, "existing_dir", lambda *_a: str(empty))
    n = len(win.engine.explain_calls)
    editor.button.click()
    qtbot.waitUntil(lambda: "expected_gradients" in win.view.skipped, timeout=3000)
    assert "No readable image" in win.view.skipped["expected_gradients"]
    assert "No readable image" in editor.line.toolTip()
    assert len(win.engine.explain_calls) == n  # nothing run with a folder that cannot work
    monkeypatch.setattr(file_dialogs, "existing_dir", lambda *_a: str(good))
    editor.button.click()
    qtbot.waitUntil(lambda: len(win.engine.explain_calls) > n, timeout=3000)
    call = win.engine.explain_calls[-1]
    assert call["params"]["expected_gradients"]["references"] == str(good)
    assert "expected_gradients" not in win.session.skipped()
    win.close()
    assert settings.method_params()["expected_gradients"]["references"] == str(good)
    assert make_window(model=False).tree.params()["expected_gradients"]["references"] == str(good)
