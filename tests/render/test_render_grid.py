"""The grid figure: a row per image, a column per method, one colour scale per column."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.render import maps
from saliency_desktop.render.figures import column_scales, grid_figure, grid_row, render_grid


def _scaled(explanation, factor):
    methods = {k: replace(r, map=r.map * factor) for k, r in explanation.methods.items()}
    return replace(explanation, methods=methods)


def test_column_scale_is_the_percentile_of_the_pooled_column(make):
    a, b = make(), _scaled(make(), 10.0)
    scales = column_scales([a, b], ["gradcam", "integrated_gradients"], 99.5)
    pooled = np.concatenate([a.methods["gradcam"].map.ravel(), b.methods["gradcam"].map.ravel()])
    assert scales["gradcam"] == pytest.approx(maps.scale_of(pooled, False, 99.5))
    ig = np.concatenate([e.methods["integrated_gradients"].map.ravel() for e in (a, b)])
    assert scales["integrated_gradients"] == pytest.approx(maps.scale_of(ig, True, 99.5))


def test_rows_share_the_column_scale(make):
    """A map ten times weaker must look weaker in the grid (not re-normalised per row)."""
    strong, weak = make(), _scaled(make(), 0.1)
    fig = grid_figure([strong, weak], ["strong", "weak"], ["gradcam"], opacity=1.0)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 4  # 2 rows x (original + 1 method)
    strong_panel, weak_panel = np.asarray(images[1]), np.asarray(images[3])
    assert strong_panel.mean() > 3 * weak_panel.mean() + 5  # per-row scaling: equal


def test_grid_has_a_row_per_image_and_a_column_per_method(make, tmp_path):
    rows = [make(), make(80, 60), make(40, 120)]  # landscape, portrait, wide
    [png, svg] = render_grid(rows, tmp_path / "grid", ["one.png", "two.jpg", "three.png"],
                             formats=("png", "svg"), dpi=40)  # fmt: skip
    fig = grid_figure(rows, ["one.png", "two.jpg", "three.png"])
    assert sum(1 for ax in fig.axes if ax.images) == 3 * 4
    w_in, h_in = fig.get_size_inches()
    with Image.open(png) as img:
        assert img.size[0] == pytest.approx(w_in * 40, abs=1)
        assert img.size[1] == pytest.approx(h_in * 40, abs=1)
        assert np.asarray(img.convert("L")).std() > 20
    texts = " ".join(t.text or "" for t in ET.parse(svg).iter("{http://www.w3.org/2000/svg}text"))
    for name in ("one.png", "two.jpg", "three.png", "Grad-CAM", "Integrated Gradients",
                 "Vanilla Gradients", "Original image"):  # fmt: skip
        assert name in texts, name


def test_grid_row_is_a_small_copy(make):
    big = make(1200, 1800)
    row = grid_row(big)
    assert max(row.image.shape[:2]) == 640 and row.image.shape[0] == 427
    assert all(r.cam is None and r.attributions is None for r in row.methods.values())
    np.testing.assert_array_equal(row.methods["gradcam"].map, big.methods["gradcam"].map)
    kept = grid_row(big, keep_attributions=True)
    assert kept.methods["vanilla_gradients"].attributions is not None


def test_empty_grid_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        render_grid([], tmp_path / "g")
