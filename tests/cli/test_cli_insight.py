"""`saliency-desktop activations` and `explain --boxes/--annotations/--contrast` (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from saliency_desktop.cli import main

DPI = "40"


def test_activations_writes_figure_npz_and_ranking(cli_model, images, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["activations", str(images[0]), "--model", "dog-breeds", "--top", "6",
            "--out", str(out), "--format", "png,svg", "--dpi", DPI]  # fmt: skip
    assert main(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"chelsea_activations.{e}" for e in ("json", "npz", "png", "svg")]
    record = json.loads((out / "chelsea_activations.json").read_text())
    assert record["layer"] == cli_model.info.default_layer and record["rank"] == "mean"
    values = [c["value"] for c in record["channels"]]
    assert len(values) == 6 and values == sorted(values, reverse=True)
    assert [s["layer"] for s in record["layers"]] == [i.path for i in cli_model.info.layers]
    with np.load(out / "chelsea_activations.npz") as data:
        assert data["maps"].shape == (6, *cli_model.info.input_size)
        assert data["indices"].tolist() == [c["channel"] for c in record["channels"]]
    assert "6 channel(s)" in capsys.readouterr().err
    before = (out / "chelsea_activations.json").stat().st_mtime_ns
    assert main(args) == 2  # no overwrite without --force
    assert "already exists (and 3 more); use --force" in capsys.readouterr().err
    assert (out / "chelsea_activations.json").stat().st_mtime_ns == before
    assert main([*args, "--force", "--rank", "contribution", "--target", "1"]) == 0
    record = json.loads((out / "chelsea_activations.json").read_text())
    assert record["rank"] == "contribution" and record["target"]["index"] == 1


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--layer", "no_such_layer"], "not an eligible CAM layer"),
        (["--format", "gif"], "--format"),
        (["--top", "0"], "between 1 and 4096"),
        (["--target", "unicorn"], "Unknown class"),
    ],
)
def test_activations_bad_arguments_exit_2(cli_model, images, tmp_path, capsys, extra, message):
    args = ["activations", str(images[0]), "--model", "dog-breeds", "--out", str(tmp_path)]
    assert main([*args, *extra]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_activations_bad_image_exits_1(cli_model, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert (
        main(["activations", str(bad), "--model", "dog-breeds", "--out", str(tmp_path / "o")]) == 1
    )
    err = capsys.readouterr().err
    assert "bad.png" in err and len(err.strip().splitlines()) == 1


VOC = """<annotation><filename>chelsea.png</filename><size><width>451</width><height>300</height>
</size><object><name>cat</name><bndbox><xmin>120</xmin><ymin>20</ymin><xmax>360</xmax>
<ymax>300</ymax></bndbox></object></annotation>"""


def test_explain_boxes_annotations_and_contrast(cli_model, images, tmp_path, capsys):
    ann = tmp_path / "chelsea.xml"
    ann.write_text(VOC)
    out = tmp_path / "out"
    args = ["explain", str(images[0]), "--out", str(out), "--methods",
            "gradcam,gradcam_counterfactual", "--annotations", str(ann), "--target", "0",
            "--contrast", "1", "--dpi", DPI]  # fmt: skip
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "localization over 1 annotated image(s): gradcam IoU" in err
    record = json.loads((out / "chelsea.json").read_text())
    labels = cli_model.info.labels
    assert record["contrast"] == {
        "index": 1,
        "label": labels[1],
        "title": f"{labels[0]} vs {labels[1]}",
    }
    assert record["localization"]["ground_truth"] == [{"label": "cat", "box": [119, 19, 359, 299]}]
    from saliency_desktop.engine import explain
    from saliency_desktop.engine.localization import map_box

    direct = explain(cli_model, images[0], methods=["gradcam"], target=0, contrast=1)
    gradcam = record["methods"]["gradcam"]["extras"]
    assert gradcam["box"] == list(map_box(direct.methods["gradcam"].map, direct.image.shape[:2]))
    assert 0.0 <= gradcam["iou"] <= 1.0 and isinstance(gradcam["pointing_hit"], bool)
    assert (out / "chelsea_report.png").is_file()


def test_explain_boxes_without_annotations(cli_model, images, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["explain", str(images[0]), "--out", str(out), "--methods", "gradcam", "--boxes",
            "--box-threshold", "0.5", "--dpi", DPI]  # fmt: skip
    assert main(args) == 0
    extras = json.loads((out / "chelsea.json").read_text())["methods"]["gradcam"]["extras"]
    assert len(extras["box"]) == 4 and "iou" not in extras
    assert "localization over" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--contrast", "0", "--target", "0"], "--contrast names the target itself"),
        (["--contrast", "unicorn"], "Unknown class"),
        (["--annotations", "missing.xml"], "cannot read it"),
        (["--box-threshold", "0"], "must be in (0, 1]"),
        (["--contrast", "1", "--methods", "gradcam,eigencam"], "eigencam is class-agnostic"),
    ],
)
def test_explain_bad_localization_arguments_exit_2(
    cli_model, images, tmp_path: Path, capsys, extra, message
):
    args = ["explain", str(images[0]), "--out", str(tmp_path / "o"), "--methods", "gradcam"]
    assert main([*args, *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_evaluate_refuses_a_contrast(images, tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["evaluate", str(images[0]), "--out", str(out), "--contrast", "1"]) == 2
    err = capsys.readouterr().err
    assert "--contrast: evaluate measures maps of one class's score" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
