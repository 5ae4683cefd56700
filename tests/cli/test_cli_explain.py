"""`saliency-desktop explain` end to end on the embedded dog-breeds model and sample photos."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image

from saliency_desktop.cli import main
from saliency_desktop.engine.models import sha256_of
from saliency_desktop.engine.registry import method_ids
from saliency_desktop.render.export import schema
from saliency_desktop.render.figures import bands
from saliency_desktop.render.report import report_figure
from tests.few_samples import few_cli_params

from .conftest import patch_load_model

DPI = 50
# every method but Score-CAM (1,280 forward passes per photo here; Faster Score-CAM runs its code)
METHODS = [m for m in method_ids() if m != "scorecam"]
# The three photos' run: the quick methods of each family (XRAI alone takes ~25 s a photo
# here), more than the grid's 8 columns so that it wraps into bands. Every method's files are
# checked on chelsea.png (`run`).
GRID_METHODS = ["vanilla_gradients", "gradient_x_input", "smoothgrad", "gradcam", "eigencam",
                "guided_gradcam", "occlusion", "integrated_gradients", "rise"]  # fmt: skip
SVG = "{http://www.w3.org/2000/svg}"


def _explain(dog_model, out: Path, images: list[Path], methods: list[str], *more: str) -> int:
    args = ["explain", *map(str, images), "--out", str(out), "--ig-steps", "8",
            "--format", "png,pdf,svg", "--dpi", str(DPI), "--methods", ",".join(methods),
            *few_cli_params(methods), *more]  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        patch_load_model(mp, dog_model)
        return main(args)


@pytest.fixture(scope="module")
def run(dog_model, images, tmp_path_factory):
    """Every method on chelsea.png, every format: IG with 8 steps, the samplers with few samples
    (tests/few_samples.py), as the session's `dog_every_method` (tests/conftest.py)."""
    out = tmp_path_factory.mktemp("run")
    return _explain(dog_model, out, images[:1], METHODS), out


@pytest.fixture(scope="module")
def grid_run(dog_model, images, tmp_path_factory):
    """One run over the three sample photos with GRID_METHODS: every format, the grid."""
    out = tmp_path_factory.mktemp("grid")
    return _explain(dog_model, out, images, GRID_METHODS, "--grid"), out


@pytest.fixture(scope="module")
def direct(dog_every_method):
    """The engine's own run of what `run` asks for (the session's, shared with tests/engine)."""
    return dog_every_method


def test_run_succeeds_and_writes_every_file(run, grid_run):
    three = ["chelsea", "grace_hopper", "astronaut"]
    for (code, out), stems in ((run, three[:1]), (grid_run, three)):
        assert code == 0
        names = {p.name for p in out.iterdir()}
        for stem in stems:
            for suffix in (".npz", ".json", "_report.png", "_report.pdf", "_report.svg"):
                assert stem + suffix in names
        assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]
    assert {"grid.png", "grid.pdf", "grid.svg"} <= {p.name for p in grid_run[1].iterdir()}
    assert not [p for p in run[1].iterdir() if p.name.startswith("grid")]  # no --grid, no grid


def test_npz_arrays_equal_the_engines(run, direct):
    _, out = run
    with np.load(out / "chelsea.npz", allow_pickle=False) as data:
        expected = {"input"}
        np.testing.assert_allclose(data["input"], direct.input, rtol=1e-5, atol=1e-6)
        for mid, r in direct.methods.items():
            for kind, arr in (("map", r.map), ("attributions", r.attributions), ("cam", r.cam)):
                if arr is None:
                    continue
                expected.add(f"{mid}.{kind}")
                assert data[f"{mid}.{kind}"].dtype == np.float32
                np.testing.assert_allclose(data[f"{mid}.{kind}"], arr, rtol=1e-5, atol=1e-6)
        assert set(data.files) == expected
    assert list(direct.methods) == METHODS


def test_json_validates_and_records_the_run(run, grid_run, direct, dog_model, images):
    _, out = run
    for stem in ("chelsea", "grace_hopper", "astronaut"):
        jsonschema.validate(json.loads((grid_run[1] / f"{stem}.json").read_text()), schema())
    jsonschema.validate(json.loads((out / "chelsea.json").read_text()), schema())
    record = json.loads((out / "chelsea.json").read_text())
    assert record["model"]["id"] == "dog-breeds"
    assert record["model"]["sha256"] == sha256_of(Path(dog_model.info.source))
    assert record["image"]["path"] == images[0].name and record["image"]["size"] == [300, 451]
    assert record["image"]["sha256"] == sha256_of(images[0])  # the file, not where it lies
    assert record["model"]["source"] == Path(dog_model.info.source).name
    assert record["input_size"] == [160, 160] and record["preprocessing"] == "mobilenet"
    assert record["target"]["index"] == direct.target
    assert record["target"]["label"] == direct.target_label
    assert record["target"]["probability"] == pytest.approx(direct.top_k[0].probability)
    assert [p["label"] for p in record["top_k"]] == [p.label for p in direct.top_k[:5]]
    assert record["layer"] == direct.layer
    ig = record["methods"]["integrated_gradients"]
    assert ig["params"]["n_steps"] == 8 and ig["params"]["rule"] == "gausslegendre"
    delta = direct.methods["integrated_gradients"].extras["convergence_delta"]
    assert ig["convergence_delta"] == pytest.approx(delta, rel=1e-4, abs=1e-5)
    assert set(record["methods"]) == set(direct.methods)
    assert all(m["seconds"] >= 0 for m in record["methods"].values())
    assert record["versions"]["tensorflow"] and record["device"] == dog_model.device
    assert record["settings"]["dpi"] == DPI


def test_report_png_is_a_real_picture_of_the_expected_size(run, direct):
    _, out = run
    w_in, h_in = report_figure(direct, title="chelsea.png").get_size_inches()
    with Image.open(out / "chelsea_report.png") as img:
        assert img.size[0] == pytest.approx(w_in * DPI, abs=1)
        assert img.size[1] == pytest.approx(h_in * DPI, abs=1)
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.std() > 30  # not blank
    assert (pixels.min(axis=-1) < 200).mean() > 0.3  # mostly pictures, not white space
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 2000


def test_pdf_and_svg_open_with_text_as_text(run, grid_run):
    for out, stem in ((run[1], "chelsea_report"), (grid_run[1], "grid")):
        pdf = (out / f"{stem}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        offset = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
        assert pdf[offset : offset + 4] == b"xref"  # the cross-reference table is where it says
        assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType text, not glyph paths
        root = ET.parse(out / f"{stem}.svg").getroot()
        assert root.tag == f"{SVG}svg"
        texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
        assert "Integrated Gradients" in texts and "Grad-CAM" in texts
        assert len(list(root.iter(f"{SVG}image"))) >= 8


def test_grid_has_the_three_images(grid_run):
    _, out = grid_run
    root = ET.parse(out / "grid.svg").getroot()
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for name in ("chelsea.png", "grace_hopper.jpg", "astronaut.png"):
        assert name in texts
    n = len(json.loads((out / "chelsea.json").read_text())["methods"])
    # rows x (original per band + a panel per method), plus a colorbar per method column
    n_bands = len(bands(GRID_METHODS, 8))
    assert n == len(GRID_METHODS) and n_bands == 2
    assert len(list(root.iter(f"{SVG}image"))) == 3 * (n_bands + n) + n
    with Image.open(out / "grid.png") as img:
        assert img.height > img.width / 4 and np.asarray(img.convert("L")).std() > 30


def test_folder_with_a_corrupt_file(cli_model, images, tmp_path, capsys):
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(images[0], folder / "b_cat.png")
    shutil.copy(images[1], folder / "sub" / "c_grace.jpg")
    (folder / "a_broken.jpg").write_bytes(images[1].read_bytes()[:2000])
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    code = main(["explain", str(folder), "--out", str(out), "--methods", "gradcam",
                 "--dpi", "20"])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "a_broken.jpg" in line]
    assert len(lines) == 1 and "damaged or truncated" in lines[0]
    assert "2 of 3 image(s)" in err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["b_cat.json", "b_cat.npz", "b_cat_report.png",
                     "c_grace.json", "c_grace.npz", "c_grace_report.png"]  # fmt: skip


def test_refuses_to_overwrite_without_force(cli_model, images, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "chelsea.json").write_text("mine")
    args = ["explain", str(images[0]), "--out", str(out), "--methods", "gradcam", "--dpi", "20"]
    assert main(args) == 2
    assert "chelsea.json already exists; use --force" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["chelsea.json"]
    assert (out / "chelsea.json").read_text() == "mine"
    assert main([*args, "--force"]) == 0
    assert json.loads((out / "chelsea.json").read_text())["methods"].keys() == {"gradcam"}


def test_ctrl_c_leaves_only_complete_files(cli_model, images, tmp_path, monkeypatch, capsys):
    """Interrupted while the second image's arrays are being written: exit 130, no debris."""
    calls = {"n": 0}
    real = np.savez_compressed

    def savez(file, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            file.write(b"PK\x03\x04 half a zip")
            raise KeyboardInterrupt
        return real(file, *args, **kwargs)

    monkeypatch.setattr(np, "savez_compressed", savez)
    out = tmp_path / "out"
    code = main(["explain", str(images[0]), str(images[1]), "--out", str(out),
                 "--methods", "gradcam", "--dpi", "20", "--grid"])  # fmt: skip
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["chelsea.json", "chelsea.npz", "chelsea_report.png"]
    with np.load(out / "chelsea.npz") as data:
        assert data["gradcam.map"].shape == (160, 160)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "unicorn"], "Unknown class 'unicorn'"),
        (["--target", "99"], "out of range"),
        (["--layer", "nope"], "not an eligible CAM layer"),
        (["--model", "/no/such/model.keras"], "no such model file"),
    ],
)
def test_bad_model_arguments_exit_2_with_one_line(cli_model, images, tmp_path, capsys, args,
                                                  message):  # fmt: skip
    out = tmp_path / "out"
    assert main(["explain", str(images[0]), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert not out.exists() or not any(out.iterdir())


def test_target_by_label_and_layers_command(cli_model, images, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["explain", str(images[0]), "--out", str(out), "--methods", "gradcam",
                 "--target", "toy_poodle", "--score", "probability", "--dpi", "20"])  # fmt: skip
    assert code == 0
    record = json.loads((out / "chelsea.json").read_text())
    assert record["target"]["label"] == "toy_poodle" and record["score"] == "probability"
    assert 0 < record["target"]["probability"] < 1
    capsys.readouterr()
    assert main(["layers", "dog-breeds"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith(cli_model.info.default_layer) and "(default)" in lines[-1]
    assert len(lines) == len(cli_model.info.layers)
