"""Issue 16 in the app: the Neurons dock, "Explain against this class" and the box on the canvas."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from saliency_desktop.engine.localization import map_box
from tests.ui.fake_engine import LAYERS, FakeEngine, fake_map
from tests.ui.helpers import open_and_wait, wait_done


@pytest.fixture
def opened(qtbot, make_window, image_file) -> tuple[FakeEngine, Any]:
    """A fake engine and a window that has explained the test photo."""
    engine = FakeEngine()
    win = make_window(engine)
    open_and_wait(qtbot, win, image_file)
    return engine, win


@pytest.fixture
def neurons(qtbot, opened) -> tuple[FakeEngine, Any, Any]:
    """`opened`, with the Neurons dock shown and its first result (the CAM layer) in."""
    engine, win = opened
    win.insight.dock.show()
    win.insight.dock.raise_()
    panel = win.insight.neurons
    qtbot.waitUntil(lambda: panel.isVisible(), timeout=3000)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=5000)
    return engine, win, panel


def test_neurons_layer_chosen_channel_clicked_overlay_shown(qtbot, neurons):
    engine, win, panel = neurons
    # the layer tree is the model's layer list, nested models as branches
    backbone = panel.tree.topLevelItem(0)
    assert backbone.text(0) == "backbone" and backbone.childCount() == len(LAYERS)
    assert panel.current_layer() == LAYERS[-1].path  # the CAM layer first
    assert engine.activation_calls[-1][:3] == (LAYERS[-1].path, 16, "mean")
    # choosing a layer asks the engine for it; the strip's summaries fill the tree
    panel.tree.setCurrentItem(backbone.child(0))
    qtbot.waitUntil(
        lambda: panel.result is not None and panel.result.activations.layer == LAYERS[0].path,
        timeout=5000,
    )
    assert backbone.child(1).text(1) == "50 %" and backbone.child(0).text(2) == "1"
    assert "mean 0, max 1" in backbone.child(0).toolTip(0)
    assert panel.grid.count() == 16 and panel.grid.item(2).text().startswith("#2\n")
    # clicking a channel overlays its map on the canvas
    win.view.canvas.set_overlay(None)
    assert not win.view.canvas.has_overlay()
    panel.grid.itemClicked.emit(panel.grid.item(2))
    canvas = win.view.canvas
    assert canvas.has_overlay()
    rgb = win.session.current_entry().rgb
    shown = canvas.overlay_item.pixmap().toImage()
    assert (shown.width(), shown.height()) == (rgb.shape[1], rgb.shape[0])
    assert shown == panel.channel_pixmap(2, rgb).toImage()
    assert shown != panel.channel_pixmap(0, rgb).toImage()
    assert "channel #2" in win.view.caption.text() and not win.view.colorbar.isVisible()


def test_neurons_rank_by_contribution_passes_the_target(qtbot, neurons):
    engine, win, panel = neurons
    panel.rank.setCurrentIndex(panel.rank.findData("contribution"))
    qtbot.waitUntil(lambda: engine.activation_calls[-1][2] == "contribution", timeout=5000)
    assert engine.activation_calls[-1][3] == win.session.explanation().target


def test_explain_against_this_class(qtbot, opened):
    engine, win = opened
    first = win.session.explanation()
    second = first.top_k[1]
    tree = win.predictions.tree
    rect = tree.visualItemRect(tree.topLevelItem(1))
    tree.customContextMenuRequested.emit(QPoint(rect.center()))
    menu = win.predictions.context_menu
    actions = {a.text(): a for a in menu.actions()}
    assert set(actions) == {"Explain against this class", "Explain the target alone"}
    menu.close()
    actions["Explain against this class"].trigger()
    qtbot.waitUntil(
        lambda: (e := win.session.explanation()) is not None and e.contrast == second.index,
        timeout=5000,
    )
    wait_done(qtbot, win)
    assert engine.explain_calls[-1]["contrast"] == second.index
    rgb = win.session.current_entry().rgb
    for mid, result in win.session.results().items():
        expected = np.roll(fake_map(mid, first.target, rgb), 3 * (1 + second.index), axis=0)
        assert np.array_equal(result.map, expected), mid
    label = win.predictions.target_label.text()
    assert " vs <b>" + html.escape(second.label) in label
    n = len(engine.explain_calls)
    actions["Explain the target alone"].trigger()  # back: cached, no job
    qtbot.waitUntil(lambda: win.session.explanation().contrast is None, timeout=3000)
    wait_done(qtbot, win)
    assert len(engine.explain_calls) == n


def test_localization_box_on_the_canvas(qtbot, make_window, image_file):
    win = make_window()
    open_and_wait(qtbot, win, image_file)
    box = win.insight.box
    assert not box.item.isVisible()
    win.insight.box_action.trigger()
    mid = win.view.current_method()
    rgb = win.session.current_entry().rgb
    expected = map_box(win.view.results[mid].map, rgb.shape[:2])
    assert expected is not None and box.box == expected and box.item.isVisible()
    x0, y0, x1, y1 = expected
    r = box.item.rect()
    assert (r.x(), r.y(), r.width(), r.height()) == (x0, y0, x1 - x0 + 1, y1 - y0 + 1)
    other = next(m for m in win.view.results if m != mid)
    win.view.set_current_method(other)
    assert box.box == map_box(win.view.results[other].map, rgb.shape[:2])
    win.insight.box_action.trigger()
    assert not box.item.isVisible()
    assert win.insight.box_action.shortcut().toString() == "B"


def test_explain_class_takes_a_target_and_a_contrast_in_one_job(qtbot, opened):
    """`Session.explain_class(target, contrast)`: the entry point of the data-set view."""
    engine, win = opened
    n = len(engine.explain_calls)
    win.session.explain_class(2, 0)
    qtbot.waitUntil(lambda: len(engine.explain_calls) == n + 1, timeout=3000)
    wait_done(qtbot, win)
    assert engine.explain_calls[-1]["target"] == 2
    assert engine.explain_calls[-1]["contrast"] == 0
    e = win.session.explanation()
    assert (e.target, e.contrast) == (2, 0) and len(engine.explain_calls) == n + 1
    win.session.explain_class(2, 2)  # a class against itself: the class alone
    qtbot.waitUntil(lambda: win.session.explanation() is not None, timeout=3000)
    wait_done(qtbot, win)
    assert win.session.contrast is None and "contrast" not in engine.explain_calls[-1]["params"]


def test_the_neurons_dock_is_reopened_from_the_view_menu(qtbot, make_window):
    win = make_window()
    view = next(a.menu() for a in win.menuBar().actions() if a.text() == "&View")
    toggle = next(a for a in view.actions() if a.text() == "Neurons")
    dock = win.insight.dock
    dock.close()
    assert not dock.isVisibleTo(win)
    toggle.trigger()
    assert dock.isVisibleTo(win)
