"""Reports and grids with every registered method (15+): wrapped, titles inside their panels."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from saliency_desktop.engine.registry import list_methods
from saliency_desktop.render.figures import bands, grid_figure
from saliency_desktop.render.report import report_figure


def _every_method(explanation):
    """The synthetic explanation with a result for every registered method (its own map
    shape: the Grad-CAM blob for unsigned methods, the IG saddle for signed ones)."""
    blob = explanation.methods["gradcam"]
    saddle = explanation.methods["integrated_gradients"]
    methods = {
        info.id: replace(saddle if info.signed else blob, method=info.id, attributions=None)
        for info in list_methods()
    }
    return replace(explanation, methods=methods)


def test_bands_are_balanced():
    ids = [f"m{i}" for i in range(16)]
    assert [len(b) for b in bands(ids, 8)] == [8, 8]
    assert [len(b) for b in bands(ids[:9], 8)] == [5, 4]
    assert [len(b) for b in bands(ids[:3], 8)] == [3]
    assert sum(bands(ids, 5), []) == ids  # order kept
    assert bands([], 8) == [[]]


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(fig).get_renderer()


def test_grid_with_every_method_wraps_into_bands(make):
    rows = [_every_method(make()), _every_method(make(80, 60))]
    n = len(rows[0].methods)
    assert n >= 15
    fig = grid_figure(rows, ["one", "two"])
    groups = bands(list(rows[0].methods), 8)
    assert len(groups) == -(-n // 8)  # ceil(n / 8) bands of at most 8
    # every band repeats the original images: rows x (1 + methods) image panels in all
    assert sum(1 for ax in fig.axes if ax.images) == 2 * (len(groups) + n)
    w_in, h_in = fig.get_size_inches()
    assert w_in <= 1 + 0.42 + 9 * 1.55  # at most 8 method columns wide
    labels = {i.label for i in list_methods()}
    headers = [t for t in fig.texts if t.get_text().replace("\n", " ") in labels]
    assert len(headers) == n and min(t.get_fontsize() for t in headers) >= 8
    renderer = _renderer(fig)
    lefts = sorted({ax.get_window_extent(renderer).x0 for ax in fig.axes if ax.images})
    pitch = lefts[1] - lefts[0]  # a header wider than this would run into its neighbour
    for t in headers:
        assert t.get_window_extent(renderer).width < pitch, t.get_text()


def test_report_with_every_method_keeps_titles_inside_their_panels(make):
    e = _every_method(make())
    fig = report_figure(e)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 1 + len(e.methods)
    renderer = _renderer(fig)
    for ax in panels:
        width = ax.get_window_extent(renderer).width
        assert ax.title.get_fontsize() >= 9
        assert ax.title.get_window_extent(renderer).width <= width, ax.title.get_text()
    columns = {round(ax.get_position().x0, 3) for ax in panels}
    assert len(columns) == 4  # wrapped into rows of four


@pytest.mark.parametrize("max_columns", [4, 6])
def test_grid_columns_are_configurable(make, max_columns):
    rows = [_every_method(make())]
    fig = grid_figure(rows, max_columns=max_columns)
    images = [ax for ax in fig.axes if ax.images]
    columns = {round(ax.get_position().x0, 3) for ax in images}
    assert len(columns) == 1 + max(len(b) for b in bands(list(rows[0].methods), max_columns))
    assert np.isfinite(fig.get_size_inches()).all()
