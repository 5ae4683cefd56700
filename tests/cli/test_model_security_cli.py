"""`explain` with hostile model files (exit 2, nothing runs) and records that can be shared."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from saliency_desktop.cli import main
from saliency_desktop.engine.files import sha256_of
from tests.engine import hostile


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A private folder (standing in for /home/alice) with a photo, models and a target file."""
    import keras

    from tests.engine.tiny_model import tiny_cnn

    d = tmp_path_factory.mktemp("alice") / "private"
    d.mkdir()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (8, 8, 3), np.uint8)).save(
        d / "photo.png"
    )
    tiny_cnn(keras, seed=8).save(d / "tiny.keras")
    hostile.savedmodel(d / "evil_sm", "write", d / "pwned.txt")
    hostile.keras_file_with(
        d / "tiny.keras",
        d / "cve.keras",
        {"module": "os", "class_name": "function", "config": "system"},
    )
    return d


def _explain(home: Path, model: str, out: Path, *extra: str) -> int:
    return main(["explain", str(home / "photo.png"), "--model", str(home / model), "--out",
                 str(out), "--preprocess", "unit", "--methods", "vanilla_gradients",
                 "--dpi", "30", *extra])  # fmt: skip


@pytest.mark.parametrize(
    "model,named", [("evil_sm", "WriteFile (writes files)"), ("cve.keras", "os.system")]
)
def test_hostile_model_exits_2_with_one_line_and_writes_nothing(
    home, tmp_path, capsys, model, named
):
    assert _explain(home, model, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused in safe mode" in err[0] and named in err[0]
    assert "--trust-model" in err[0]
    assert not (home / "pwned.txt").exists()
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_hostile_savedmodel_runs_with_trust_model(home, tmp_path):
    assert _explain(home, "evil_sm", tmp_path, "--trust-model") == 0
    assert (home / "pwned.txt").read_text() == "pwned"
    (home / "pwned.txt").unlink()


def test_old_keras_exits_2_naming_the_upgrade(home, tmp_path, capsys, monkeypatch):
    import keras

    monkeypatch.setattr(keras, "__version__", "3.11.3")
    assert _explain(home, "tiny.keras", tmp_path) == 2
    err = capsys.readouterr().err
    assert "Keras 3.11.3" in err and 'pip install --upgrade "keras>=3.12.0,<3.16"' in err


def test_records_and_reports_carry_no_local_path(home, tmp_path):
    out = tmp_path / "shared"
    assert _explain(home, "tiny.keras", out, "--format", "svg,pdf") == 0
    text = (out / "photo.json").read_text()
    assert str(home) not in text and "private" not in text
    record = json.loads(text)
    assert record["image"]["path"] == "photo.png"
    assert record["image"]["sha256"] == sha256_of(home / "photo.png")
    assert record["model"]["source"] == record["model"]["spec"] == "tiny.keras"
    assert record["model"]["sha256"] == sha256_of(home / "tiny.keras")
    svg = (out / "photo_report.svg").read_text()
    assert "photo.png" in svg and "tiny.keras" in svg and "private" not in svg
    assert b"private" not in (out / "photo_report.pdf").read_bytes()


def test_full_paths_keeps_absolute_paths(home, tmp_path):
    assert _explain(home, "tiny.keras", tmp_path, "--full-paths") == 0
    record = json.loads((tmp_path / "photo.json").read_text())
    assert record["image"]["path"] == str((home / "photo.png").resolve())
    assert record["model"]["source"] == str((home / "tiny.keras").resolve())
    assert record["model"]["spec"] == str(home / "tiny.keras")
