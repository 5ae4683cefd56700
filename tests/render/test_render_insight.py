"""Report boxes, the "A vs B" title and the Neurons grid figure (no TensorFlow)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from saliency_desktop.engine.neurons import LayerActivations, LayerSummary
from saliency_desktop.render.activations import BOX_COLOUR, activations_figure, render_activations
from saliency_desktop.render.report import report_figure, report_title

from .conftest import make_explanation


def _rectangles(fig):
    from matplotlib.colors import to_hex
    from matplotlib.patches import Rectangle

    return [
        (ax.get_title(), p.get_xy(), p.get_width(), p.get_height())
        for ax in fig.axes
        for p in ax.patches
        if isinstance(p, Rectangle) and to_hex(p.get_edgecolor()) == BOX_COLOUR
    ]


def test_report_draws_the_box_of_each_method_that_has_one():
    e = make_explanation()
    assert _rectangles(report_figure(e)) == []
    gradcam = replace(e.methods["gradcam"], extras={"box": [10, 5, 29, 24]})
    boxed = replace(e, methods={**e.methods, "gradcam": gradcam})
    # pixel (x0, y0) spans x0 - 0.5 .. x0 + 0.5: the rectangle covers the inclusive box exactly
    assert _rectangles(report_figure(boxed)) == [("Grad-CAM", (9.5, 4.5), 20.0, 20.0)]


def test_report_title_says_a_vs_b():
    e = make_explanation()
    first, second = report_title(e, "photo.png")
    assert " vs " not in first
    contrast = replace(e, contrast=0, contrast_label="tabby_cat")
    first, second = report_title(contrast, "photo.png")
    assert first.endswith("dog vs tabby cat")
    assert f"score: {e.score}(dog) − {e.score}(tabby cat, class 0)" in second


def _acts(n: int = 5) -> LayerActivations:
    maps = np.stack([np.full((32, 32), float(n - i), np.float32) for i in range(n)])
    idx = np.arange(10, 10 + n)
    values = np.arange(n, 0, -1).astype(np.float32)
    summary = LayerSummary("block/relu", (4, 4, 64), 0.25, 0.5, 5.0)
    return LayerActivations("block/relu", (4, 4, 64), "mean", idx, values, values, maps, summary)


def test_activation_grid_has_a_titled_panel_per_channel(tmp_path):
    e = make_explanation()
    fig = activations_figure(e.image, _acts(), title="photo.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["#10  5", "#11  4", "#12  3", "#13  2", "#14  1"]
    texts = [t.get_text() for t in fig.texts]
    assert any("25.0 % of units active" in t and "block/relu" in t for t in texts)
    paths = render_activations(e.image, _acts(), tmp_path / "grid", ["png", "svg"], dpi=40)
    assert [p.name for p in paths] == ["grid.png", "grid.svg"] and all(
        p.stat().st_size for p in paths
    )


def test_a_big_photo_is_drawn_at_the_panels_size_in_the_photos_coordinates():
    """A 12-megapixel photo is not blended 26 times at full size (1.4 GB in `explain --methods
    all`): the report draws it and its overlays shrunk to the panel's pixels at the dpi."""
    e = make_explanation(height=1500, width=2000)
    gradcam = replace(e.methods["gradcam"], extras={"box": [100, 50, 1099, 549]})
    e = replace(e, methods={**e.methods, "gradcam": gradcam})
    fig = report_figure(e, dpi=100)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 1 + len(e.methods)
    for im in images:
        assert im.get_array().shape[:2] == (180, 240)  # the 2.4-inch panel at 100 dpi
        assert tuple(im.get_extent()) == (-0.5, 1999.5, 1499.5, -0.5)  # the photo's pixels
    assert _rectangles(fig) == [("Grad-CAM", (99.5, 49.5), 1000.0, 500.0)]
    small = report_figure(make_explanation(), dpi=100)  # smaller than the panel: as it is
    assert [ax.images[0].get_array().shape[:2] for ax in small.axes if ax.images][0] == (60, 90)
