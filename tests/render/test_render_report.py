"""The report figure: golden image, colorbars, resolution, vector text, thread safety."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from saliency_desktop.render import maps
from saliency_desktop.render.export import OutputExistsError
from saliency_desktop.render.panels import Panel, draw_colorbar, method_panel
from saliency_desktop.render.report import render_report, report_figure

GOLDEN = Path(__file__).parents[1] / "golden" / "report.png"
GOLDEN_DPI = 60
GOLDEN_TOLERANCE = 1.5  # mean absolute difference, 0-255 scale (fonts differ a little by OS)


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float64)


def test_report_matches_golden_image(explanation, tmp_path):
    [png] = render_report(explanation, tmp_path / "report", dpi=GOLDEN_DPI)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(png.read_bytes())
    got, want = _rgb(png), _rgb(GOLDEN)
    assert got.shape == want.shape, "the report's layout (size) changed"
    diff = np.abs(got - want).mean()
    assert diff < GOLDEN_TOLERANCE, f"mean abs diff {diff:.2f} (UPDATE_GOLDEN=1 to accept)"


def test_golden_comparison_sees_a_changed_colormap(explanation, tmp_path):
    """The tolerance is tight enough to catch a real change in the picture."""
    [png] = render_report(explanation, tmp_path / "report", dpi=GOLDEN_DPI, cmap="viridis")
    assert np.abs(_rgb(png) - _rgb(GOLDEN)).mean() > 2 * GOLDEN_TOLERANCE


def test_default_is_300_dpi_at_the_figure_size(explanation, tmp_path):
    [png] = render_report(explanation, tmp_path / "r")
    w_in, h_in = report_figure(explanation).get_size_inches()
    with Image.open(png) as img:
        assert img.size[0] == pytest.approx(w_in * 300, abs=1)
        assert img.size[1] == pytest.approx(h_in * 300, abs=1)
        assert img.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.std() > 20 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 1000


def test_overlay_panel_is_drawn_at_the_original_resolution(explanation):
    result = explanation.methods["gradcam"]
    panel = method_panel(explanation.image, result)
    assert panel.rgb.shape == explanation.image.shape
    expected = maps.overlay(explanation.image, result.map, False, maps.DEFAULT_CMAP)
    np.testing.assert_array_equal(panel.rgb, expected)
    assert (panel.cmap, panel.signed) == (maps.DEFAULT_CMAP, False)


def test_signed_map_gets_a_diverging_colormap_centred_on_zero(explanation):
    panel = method_panel(explanation.image, explanation.methods["integrated_gradients"])
    assert panel.signed and panel.cmap == maps.DEFAULT_SIGNED_CMAP
    fig = Figure()
    cax = fig.add_axes((0.1, 0.1, 0.8, 0.1))
    draw_colorbar(fig, cax, panel)
    assert cax.get_xlim() == pytest.approx((-panel.scale, panel.scale))
    ticks = list(cax.get_xticks())
    assert ticks == pytest.approx([-panel.scale, 0.0, panel.scale])
    labels = [t.get_text() for t in cax.get_xticklabels()]
    assert labels[0].startswith("≤-") and labels[1] == "0" and labels[2].startswith("≥")


def test_unsigned_colorbar_spans_zero_to_the_percentile():
    fig = Figure()
    cax = fig.add_axes((0.1, 0.1, 0.8, 0.1))
    draw_colorbar(fig, cax, Panel(np.zeros((2, 2, 3), np.uint8), "inferno", False, 0.004))
    assert cax.get_xlim() == pytest.approx((0.0, 0.004))
    assert [t.get_text() for t in cax.get_xticklabels()] == ["0", "2.0e-3", "≥4.0e-3"]


def test_rgb_gradients_and_all_zero_maps_have_a_note_not_a_colorbar(explanation):
    vg = explanation.methods["vanilla_gradients"]
    panel = method_panel(explanation.image, vg, rgb_gradients=False)
    assert panel.cmap is not None
    guided = replace(vg, method="guided_backprop")
    panel = method_panel(explanation.image, guided, rgb_gradients=True)
    assert panel.cmap is None and "grey = 0" in panel.note
    assert panel.rgb.shape == explanation.image.shape
    zero = replace(explanation.methods["gradcam"], map=np.zeros((32, 32), np.float32))
    assert method_panel(explanation.image, zero).note == "zero everywhere"


def test_titles_name_model_target_probability_and_methods(explanation, tmp_path):
    [svg] = render_report(explanation, tmp_path / "r", formats=("svg",), title="photo.png")
    texts = " ".join(t.text or "" for t in ET.parse(svg).iter("{http://www.w3.org/2000/svg}text"))
    for expected in ("photo.png", "Synthetic model", "dog", "p = 0.700", "Grad-CAM",
                     "Integrated Gradients", "Vanilla Gradients", "Original image"):  # fmt: skip
        assert expected in texts, expected


def test_pdf_keeps_text_as_truetype(explanation, tmp_path):
    [pdf] = render_report(explanation, tmp_path / "r", formats=("pdf",), dpi=50)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/FontFile2" in data and b"/Type3" not in data


def test_refuses_to_overwrite_without_force(explanation, tmp_path):
    (tmp_path / "r.png").write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        render_report(explanation, tmp_path / "r", dpi=20)
    assert (tmp_path / "r.png").read_bytes() == b"keep me"
    render_report(explanation, tmp_path / "r", dpi=20, force=True)
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")


def test_unknown_colormap_and_format_are_clear_errors(explanation, tmp_path):
    with pytest.raises(ValueError, match="Unknown colormap 'nope'"):
        render_report(explanation, tmp_path / "r", cmap="nope")
    with pytest.raises(ValueError, match="Unknown format"):
        render_report(explanation, tmp_path / "r", formats=("gif",))
    assert list(tmp_path.iterdir()) == []


def test_threads_render_the_same_picture(explanation, tmp_path):
    """No pyplot, no shared figure state: concurrent renders equal a serial one."""
    [serial] = render_report(explanation, tmp_path / "serial", dpi=30)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            render_report(explanation, tmp_path / f"t{i}", formats=("png", "svg"), dpi=30)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(3):
        np.testing.assert_array_equal(_rgb(tmp_path / f"t{i}.png"), _rgb(serial))


def test_render_imports_neither_pyplot_nor_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from conftest import make_explanation\n"
        "from saliency_desktop.render.report import render_report\n"
        "from saliency_desktop.render.figures import render_grid\n"
        "e = make_explanation()\n"
        "render_report(e, sys.argv[2] + '/r', dpi=20)\n"
        "render_grid([e, e], sys.argv[2] + '/g', dpi=20)\n"
        "bad = [m for m in ('matplotlib.pyplot', 'tensorflow', 'keras', 'PySide6')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    here = str(Path(__file__).parent)
    proc = subprocess.run([sys.executable, "-c", code, here, str(tmp_path)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
