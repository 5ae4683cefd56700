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
