"""Overlays of signed maps (opacity grows with |value|) and the one human form of labels."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from saliency_desktop.render import maps
from saliency_desktop.render.labels import display_label
from saliency_desktop.render.report import report_title


def _saddle() -> tuple[np.ndarray, np.ndarray]:
    image = np.full((20, 30, 3), 120, np.uint8)
    image[..., 1] = np.arange(30, dtype=np.uint8)[None, :] * 4
    m = np.zeros((20, 30), np.float32)
    m[:, :10] = 2.0  # strong positive
    m[:, 20:] = -2.0  # strong negative; the middle band is exactly zero
    return image, m


def test_signed_overlay_leaves_the_photo_untouched_where_attribution_is_zero():
    image, m = _saddle()
    out = maps.overlay(image, m, signed=True, opacity=0.8)
    np.testing.assert_array_equal(out[:, 12:18], image[:, 12:18])  # no pale veil at zero
    full = maps.colorize(np.ones((1, 1), np.float32), maps.DEFAULT_SIGNED_CMAP, True)[0, 0]
    want = np.rint(0.2 * image[:, :8].astype(np.float32) + 0.8 * full.astype(np.float32))
    np.testing.assert_array_equal(out[:, :8], want.astype(np.uint8))  # full weight at P(|m|)


def test_signed_overlay_weight_grows_with_the_magnitude():
    image = np.zeros((1, 3, 3), np.uint8)
    m = np.array([[0.25, 0.5, 1.0]], np.float32)
    rgba = maps.heatmap_rgb(m, (1, 3), signed=True, scale=1.0)
    assert rgba.shape == (1, 3, 4)
    assert list(rgba[0, :, 3]) == [64, 128, 255]
    out = maps.overlay(image, m, True, opacity=1.0, scale=1.0).astype(np.float32)
    colour = rgba[..., :3].astype(np.float32)
    np.testing.assert_allclose(out, colour * np.array([0.25, 0.5, 1.0])[None, :, None], atol=1)


def test_unsigned_overlay_is_still_a_plain_blend():
    image, m = _saddle()
    m = np.abs(m)
    heat = maps.heatmap_rgb(m, image.shape[:2], signed=False)
    assert heat.shape == image.shape  # RGB, no alpha
    want = np.rint(0.5 * image.astype(np.float32) + 0.5 * heat.astype(np.float32))
    np.testing.assert_array_equal(maps.overlay(image, m, False, opacity=0.5), want)


def test_display_label_is_one_human_form():
    assert display_label("golden_retriever") == "golden retriever"
    assert display_label("  Great_Pyrenees ") == "Great Pyrenees"
    assert display_label("class 2") == "class 2"


def test_report_title_uses_the_human_label(explanation):
    e = replace(explanation, target_label="golden_retriever")
    assert "target: golden retriever (class 1)" in report_title(e)[1]


def test_resize_grows_as_pillow_bilinear_and_shrinks_without_aliasing():
    from PIL import Image

    rng = np.random.default_rng(0)
    small = rng.random((32, 24)).astype(np.float32)
    pillow = np.asarray(
        Image.fromarray(small, mode="F").resize((90, 60), Image.Resampling.BILINEAR), np.float32
    )
    grown = maps.resize_map(small, (60, 90))
    assert grown.dtype == np.float32 and np.abs(grown - pillow).max() < 1e-5  # same maps
    checker = (np.indices((400, 600)).sum(axis=0) % 2).astype(np.float32)  # 1-pixel stripes
    shrunk = maps.resize_map(checker, (30, 45))
    assert np.abs(shrunk - 0.5).max() < 0.05  # area-averaged: grey, no moire
    rgb = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    for size in ((100, 35), (20, 140), (50, 70)):  # one axis down and one up, or none
        out = maps.resize_array(rgb, size)
        assert out.shape == (*size, 3) and out.dtype == np.uint8
    one = maps.resize_array(rgb[..., :1], (10, 10))
    assert one.shape == (10, 10, 1)
