"""A first start chooses the methods declared `default_on`: heavy ones wait to be asked for."""

from __future__ import annotations

from saliency_desktop.engine.registry import list_methods


def test_a_fresh_start_runs_only_the_default_methods(qtbot, make_window, tmp_path):
    from PySide6.QtCore import Qt

    from saliency_desktop.ui.settings import Settings

    win = make_window(settings_=Settings(tmp_path / "fresh.ini"))
    on = {m.id for m in list_methods() if m.default_on}
    off = {m.id for m in list_methods() if not m.default_on}
    assert set(win.tree.selected()) == on
    assert {"scorecam", "rise", "xrai", "expected_gradients"} <= off  # the slow ones
    assert win.tree.item("rise").checkState(0) == Qt.CheckState.Unchecked
    win.tree.set_selected(None)  # "None" restores the defaults, not everything
    assert set(win.tree.selected()) == on


def test_only_the_chosen_methods_show_their_settings(qtbot, make_window, tmp_path):
    """Settings rows of methods not chosen stay folded (a first start showed every method's
    noise, samples and seed rows); choosing a method unfolds its settings."""
    from PySide6.QtCore import Qt

    from saliency_desktop.ui.settings import Settings

    win = make_window(settings_=Settings(tmp_path / "fresh.ini"))
    with_settings = [m for m in list_methods() if m.params]
    assert any(m.default_on for m in with_settings) and any(not m.default_on for m in with_settings)
    for m in with_settings:
        assert win.tree.item(m.id).isExpanded() == m.default_on, m.id
    rise = win.tree.item("rise")
    rise.setCheckState(0, Qt.CheckState.Checked)
    assert rise.isExpanded()
    win.tree.set_selected(["gradcam"])
    assert not win.tree.item("smoothgrad").isExpanded()
