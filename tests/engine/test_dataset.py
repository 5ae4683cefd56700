"""Labelled data sets: reading the conventions, batched predictions, the cache and confusion."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from saliency_desktop.engine.dataset import (
    DataItem,
    PredictionRow,
    confusion,
    open_dataset,
    predict_dataset,
)
from saliency_desktop.engine.types import CancelledError, EngineError

LABELS = ("golden_retriever", "pug", "Siberian_husky")


def _skimage(name: str) -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data" / name


PHOTOS = ("chelsea.png", "astronaut.png", "coffee.png", "rocket.jpg", "horse.png", "retina.jpg")


def test_image_folder_matches_labels_forgivingly(tmp_path):
    for folder in ("Golden Retriever", "pug", "wolf"):
        (tmp_path / folder).mkdir()
    shutil.copy(_skimage("chelsea.png"), tmp_path / "Golden Retriever" / "a.png")
    shutil.copy(_skimage("coffee.png"), tmp_path / "pug" / "b.png")
    shutil.copy(_skimage("horse.png"), tmp_path / "wolf" / "c.png")
    (tmp_path / "pug" / "notes.txt").write_text("not an image")
    shutil.copy(_skimage("rocket.jpg"), tmp_path / "loose.jpg")
    data = open_dataset(tmp_path, LABELS)
    names = {it.name: it.true for it in data.items}
    assert names == {
        "loose.jpg": None,
        "Golden Retriever/a.png": 0,
        "pug/b.png": 1,
        "wolf/c.png": None,
    }
    assert data.labelled and "wolf" in data.notes[0]


def test_csv_and_unlabelled_folder(tmp_path):
    shutil.copy(_skimage("chelsea.png"), tmp_path / "a.png")
    (tmp_path / "list.csv").write_text("path,label\na.png,PUG\nmissing.png,golden retriever\n")
    data = open_dataset(tmp_path / "list.csv", LABELS)
    assert [(it.name, it.true) for it in data.items] == [("a.png", 1), ("missing.png", 0)]
    flat = open_dataset(tmp_path, LABELS)
    assert not flat.labelled and [it.name for it in flat.items] == ["a.png"]
    with pytest.raises(EngineError, match="no such file"):
        open_dataset(tmp_path / "nope", LABELS)
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(EngineError, match="UTF-8"):
        open_dataset(tmp_path / "bad.csv", LABELS)


def test_confusion_by_hand():
    def row(true: int, pred: int) -> PredictionRow:
        p = np.eye(3)[pred] * 0.7 + 0.1
        return PredictionRow(DataItem(Path("x"), "x", true, None), pred, 0.8, 0.1, 0.7, p)

    rows = [row(0, 0), row(0, 1), row(1, 1), row(2, 1)]
    c = confusion(rows, LABELS)
    assert c.matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert c.accuracy == pytest.approx(0.5) and c.n_images == 4
    np.testing.assert_allclose(c.precision, [1.0, 1 / 3, np.nan])
    np.testing.assert_allclose(c.recall, [0.5, 1.0, 0.0])


@pytest.fixture()
def photo_folder(tmp_path, dog_model):
    """Photos in class folders: the first three under the class the model predicts for them
    (right), the rest under another class (wrong), and a damaged file."""
    from saliency_desktop.engine import explain

    for i, name in enumerate(PHOTOS):
        top = explain(dog_model, _skimage(name), methods=["vanilla_gradients"]).target
        cls = top if i < 3 else (top + 1) % len(dog_model.info.labels)
        folder = tmp_path / "data" / dog_model.info.labels[cls].replace("_", " ")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(_skimage(name), folder / name)
    (folder / "damaged.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    return tmp_path / "data"


def test_predictions_equal_explain_top1_and_are_cached(photo_folder, dog_model, monkeypatch):
    from saliency_desktop.engine import explain

    data = open_dataset(photo_folder, dog_model.info.labels)
    rows = predict_dataset(dog_model, data, batch=4)
    bad = [r for r in rows if r.error]
    assert len(bad) == 1 and "damaged.png" in bad[0].error
    good = [r for r in rows if not r.error]
    good.sort(key=lambda r: PHOTOS.index(Path(r.item.name).name))
    assert [r.correct for r in good] == [True, True, True, False, False, False]
    for r in good:
        e = explain(dog_model, r.item.path, methods=["vanilla_gradients"])
        assert r.predicted == e.target
        assert r.probability == pytest.approx(e.top_k[0].probability, abs=1e-5)
    calls = []
    real = dog_model.runtime.probabilities
    monkeypatch.setattr(dog_model.runtime, "probabilities", lambda: calls.append(1) or real())
    again = predict_dataset(dog_model, data)
    assert calls == [] and [r.predicted for r in again] == [r.predicted for r in rows]


def test_cancel_between_batches(photo_folder, dog_model):
    data = open_dataset(photo_folder, dog_model.info.labels)
    cancel = threading.Event()
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        cancel.set()

    from saliency_desktop.engine import dataset

    dataset._CACHE.clear()
    with pytest.raises(CancelledError):
        predict_dataset(dog_model, data, progress, cancel, batch=2)
    assert seen == [2]
