"""`saliency-desktop predict`: predictions.csv, confusion.json/figure, mistakes grid, exit codes."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from saliency_desktop.cli import main

from .conftest import patch_load_model

PHOTOS = ("chelsea.png", "astronaut.png", "coffee.png", "rocket.jpg")


def _skimage(name: str) -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data" / name


@pytest.fixture(scope="module")
def folder(dog_model, tmp_path_factory):
    """Two photos filed under their predicted class (right), two under another (wrong), one
    class folder spelled with spaces, and a damaged file."""
    from saliency_desktop.engine import explain

    root = tmp_path_factory.mktemp("data")
    truth = {}
    for i, name in enumerate(PHOTOS):
        top = explain(dog_model, _skimage(name), methods=["vanilla_gradients"]).target
        cls = top if i < 2 else (top + 3) % 19
        label = dog_model.info.labels[cls]
        (root / label.replace("_", " ")).mkdir(exist_ok=True)
        shutil.copy(_skimage(name), root / label.replace("_", " ") / name)
        truth[name] = (label, dog_model.info.labels[top])
    (root / label.replace("_", " ") / "damaged.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 30)
    return root, truth


def test_predict_writes_csv_json_and_figure(folder, dog_model, tmp_path, monkeypatch, capsys):
    root, truth = folder
    patch_load_model(monkeypatch, dog_model)
    out = tmp_path / "out"
    args = ["predict", str(root), "--out", str(out), "--mistakes", "2", "--format", "png,svg"]
    assert main([*args, "--methods", "gradcam,vanilla_gradients"]) == 1  # the damaged file
    err = capsys.readouterr()
    assert "damaged.jpg" in err.err and "accuracy 50.0 % on 4 labelled images" in err.out
    rows = list(csv.DictReader((out / "predictions.csv").open()))
    assert list(rows[0]) == ["path", "true", "predicted", "probability", "true_probability",
                             "correct"]  # fmt: skip
    by_name = {Path(r["path"]).name: r for r in rows}
    for name, (label, predicted) in truth.items():
        assert by_name[name]["true"] == label and by_name[name]["predicted"] == predicted
        assert by_name[name]["correct"] == str(label == predicted).lower()
    assert by_name["damaged.jpg"]["predicted"] == "" and not Path(rows[0]["path"]).is_absolute()
    record = json.loads((out / "confusion.json").read_text())
    assert record["accuracy"] == 0.5 and sum(map(sum, record["matrix"])) == 4
    assert len(record["labels"]) == 19 and record["rows"] == "true"
    for name in ("confusion.png", "confusion.svg", "mistakes.png", "mistakes.svg"):
        assert (out / name).stat().st_size > 1000
    with Image.open(out / "mistakes.png") as im:
        assert im.height > 200  # two rows of maps


def test_predict_refuses_to_overwrite_and_bad_arguments(folder, dog_model, tmp_path, monkeypatch):
    root, _ = folder
    patch_load_model(monkeypatch, dog_model)
    out = tmp_path / "o"
    out.mkdir()
    (out / "predictions.csv").write_text("keep me")
    assert main(["predict", str(root), "--out", str(out)]) == 2
    assert (out / "predictions.csv").read_text() == "keep me"
    assert main(["predict", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
    assert main(["predict", str(root), "--out", str(out), "--mistakes", "1", "--methods", "zz",
                 "--force"]) == 2  # fmt: skip
