"""`explain` over the corpus of good and bad images: each good one explained, each bad one named
in one line on stderr, the batch goes on, exit status 1."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from saliency_desktop.cli import main
from tests.corpus import BAD, good_images, write_bad_images


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory) -> Path:
    import keras

    from tests.engine.tiny_model import tiny_cnn

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_cnn(keras, seed=3).save(path)
    return path


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_explain_over_the_corpus(tiny_model_file, tmp_path, monkeypatch, capsys):
    import PIL.Image

    import saliency_desktop.batch as batch

    folder = tmp_path / "corpus"
    folder.mkdir()
    good = good_images(folder)
    write_bad_images(folder)
    real_collect, real_open = batch.collect_images, PIL.Image.open

    def collect_then_delete(*args, **kwargs):  # listed, then gone before it is read
        found = real_collect(*args, **kwargs)
        (folder / "gone.png").unlink()
        return found

    def open_denied(fp, *args, **kwargs):
        if isinstance(fp, str | os.PathLike) and Path(fp).name == "locked.png":
            raise PermissionError(errno.EACCES, "Permission denied", str(fp))
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(batch, "collect_images", collect_then_delete)
    monkeypatch.setattr(PIL.Image, "open", open_denied)
    out = tmp_path / "out"
    code = main([
        "explain", str(folder), "--model", str(tiny_model_file), "--preprocess", "unit",
        "--methods", "gradcam,vanilla_gradients", "--out", str(out), "--dpi", "30",
    ])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    for name, pattern in BAD.items():
        if name == "notes.txt":
            continue  # not an image name: the folder walk does not pick it up
        lines = [line for line in err.splitlines() if name in line]
        assert len(lines) == 1 and pattern in lines[0], (name, lines)
    assert "Traceback" not in err
    for name in good:
        stem = Path(name).stem
        record = json.loads((out / f"{stem}.json").read_text(encoding="utf-8"))
        assert record["image"]["size"] == list(good[name].shape[:2])  # oriented (EXIF) size
        assert set(record["methods"]) == {"gradcam", "vanilla_gradients"}
        assert (out / f"{stem}.npz").stat().st_size > 0
        assert (out / f"{stem}_report.png").stat().st_size > 0
    gif = json.loads((out / "anim.json").read_text(encoding="utf-8"))
    assert "first of 2 frames" in json.dumps(gif)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
