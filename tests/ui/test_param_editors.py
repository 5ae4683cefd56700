"""The method tree's editors for the int_or_auto and folder parameter kinds."""

from __future__ import annotations

from saliency_desktop.engine.types import MethodInfo, ParamInfo

INFO = MethodInfo(
    id="fake_path",
    label="Fake path",
    family="path",
    summary="A fake.",
    paper="Nobody 2024",
    params=(
        ParamInfo("n_steps", "Steps", "int_or_auto", "auto", minimum=1, maximum=4096),
        ParamInfo("references", "Reference folder", "folder", ""),
    ),
)


def test_int_or_auto_editor_reads_auto_below_its_minimum(qtbot):
    from saliency_desktop.ui.method_tree import MethodTree

    tree = MethodTree([INFO])
    qtbot.addWidget(tree)
    spin = tree.editor("n_steps")
    assert tree.params() == {"n_steps": "auto", "references": ""}
    assert spin.text() == "auto"
    with qtbot.waitSignal(tree.changed):
        spin.setValue(64)
    assert tree.params()["n_steps"] == 64
    tree.set_params({"n_steps": "auto", "references": "/tmp/refs"})
    assert tree.params() == {"n_steps": "auto", "references": "/tmp/refs"}
    tree.set_params({"n_steps": 300})
    assert tree.params()["n_steps"] == 300


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
    assert tree.params()["n_steps"] == "auto"  # IG's default
