"""Labelled image sets: reading them, predicting every image in batches, and the confusion.

A data set is a folder whose subfolders are class names (the ImageFolder convention), a CSV
file of `path,label` rows, or a plain folder of images (unlabelled: no accuracy). Class names
match the model's labels the forgiving way `--target` does (case, spaces and underscores are
ignored). Predictions are forward passes only, batched, with progress and cancel, and cached per
(model, file content) so re-opening a folder costs nothing.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_desktop.engine.files import sha256_of
from saliency_desktop.engine.types import CancelledError, EngineError

if TYPE_CHECKING:
    from saliency_desktop.engine.models import LoadedModel

MAX_CSV_BYTES = 20 * 1024 * 1024  # a CSV of paths: 20 MB is ~200,000 rows
BATCH = 32
_CACHE: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_CACHE_MAX = 200_000
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class DataItem:
    """One image of a data set; `true` is the model's class index of its label, or None."""

    path: Path
    name: str  # the path relative to the data set's root, with "/" (shown and written)
    true: int | None
    label: str | None  # the label as the data set spells it


@dataclass(frozen=True)
class DataSet:
    root: Path
    items: tuple[DataItem, ...]
    labelled: bool
    notes: tuple[str, ...] = ()  # e.g. class folders that match no class of the model


@dataclass(frozen=True)
class PredictionRow:
    """The model's prediction for one image (probabilities over every class)."""

    item: DataItem
    predicted: int | None  # None when the image could not be read
    probability: float  # P(predicted)
    true_probability: float | None  # P(true class), when labelled
    margin: float  # P(predicted) - P(second best)
    probabilities: np.ndarray | None
    error: str | None = None

    @property
    def correct(self) -> bool | None:
        if self.item.true is None or self.predicted is None:
            return None
        return self.predicted == self.item.true


@dataclass(frozen=True)
class Confusion:
    """Counts with rows = true class, columns = predicted class, over readable labelled rows."""

    labels: tuple[str, ...]
    matrix: np.ndarray  # (n, n) int
    accuracy: float
    precision: np.ndarray  # (n,) NaN where nothing was predicted as that class
    recall: np.ndarray  # (n,) NaN where the class has no image
    n_images: int


def norm_label(text: str) -> str:
    """The forgiving form used to match labels: "Golden Retriever" == "golden_retriever"."""
    return " ".join(text.replace("_", " ").lower().split())


def open_dataset(source: str | Path, labels: Sequence[str]) -> DataSet:
    """A folder (class subfolders or flat) or a `path,label` CSV, matched to `labels`."""
    from saliency_desktop.engine.images import is_image_name

    root = Path(source)
    if not root.exists():
        raise EngineError(f"{source}: no such file or folder.")
    lookup = {norm_label(lab): i for i, lab in enumerate(labels)}
    if root.is_file():
        return _from_csv(root, lookup)
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = sorted(p for p in root.iterdir() if p.is_file() and is_image_name(p))
    items: list[DataItem] = [DataItem(p, p.name, None, None) for p in loose]
    unknown: list[str] = []
    for d in subdirs:
        index = lookup.get(norm_label(d.name))
        if index is None:
            unknown.append(d.name)
        for f in sorted(d.rglob("*")):
            rel = f.relative_to(root)
            if f.is_file() and is_image_name(f) and not any(s.startswith(".") for s in rel.parts):
                items.append(DataItem(f, rel.as_posix(), index, d.name))
    notes = []
    if unknown:
        notes.append(f"{len(unknown)} folder(s) match no class of the model: {', '.join(unknown)}")
    labelled = any(it.true is not None for it in items)
    return DataSet(root, tuple(items), labelled, tuple(notes))


def _from_csv(path: Path, lookup: dict[str, int]) -> DataSet:
    if path.stat().st_size > MAX_CSV_BYTES:
        raise EngineError(f"{path.name}: a CSV of over {MAX_CSV_BYTES // 2**20} MB is refused.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EngineError(f"{path.name}: cannot be read as UTF-8 text ({exc}).") from None
    rows = list(csv.reader(io.StringIO(text)))
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["path", "label"]:
        rows = rows[1:]
    items: list[DataItem] = []
    unknown: set[str] = set()
    for row in rows:
        if not row or not row[0].strip():
            continue
        rel = row[0].strip()
        label = row[1].strip() if len(row) > 1 and row[1].strip() else None
        index = None if label is None else lookup.get(norm_label(label))
        if label is not None and index is None:
            unknown.add(label)
        file = Path(rel) if Path(rel).is_absolute() else path.parent / rel
        items.append(DataItem(file, rel, index, label))
    if not items:
        raise EngineError(f"{path.name}: no `path,label` rows.")
    notes = [f"labels that match no class: {', '.join(sorted(unknown))}"] if unknown else []
    labelled = any(it.true is not None for it in items)
    return DataSet(path.parent, tuple(items), labelled, tuple(notes))


def predict_dataset(
    model: LoadedModel,
    dataset: DataSet,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    batch: int = BATCH,
) -> list[PredictionRow]:
    """Every image's prediction, in the data set's order; a bad image is a row with `error`.

    Forward passes only, `batch` images at a time; `progress(done, total)` after each batch;
    `cancel` is checked between batches (CancelledError). Probabilities are cached per (model,
    file content), so a second call on the same files runs no model at all.
    """
    from saliency_desktop.engine.images import load_image

    key_model = f"{model.info.id}:{model.info.sha256}:{model.output_index}"
    probs: dict[int, np.ndarray] = {}
    errors: dict[int, str] = {}
    pending: list[tuple[int, str, np.ndarray]] = []
    total = len(dataset.items)

    def flush() -> None:
        if not pending:
            return
        x = np.stack([p[2] for p in pending]).astype(np.float32)
        with model.lock:
            out = model.runtime.probabilities()(x)
        for (i, digest, _), p in zip(pending, np.asarray(out, np.float64), strict=True):
            probs[i] = p
            _remember((key_model, digest), p)
        pending.clear()

    for i, item in enumerate(dataset.items):
        if cancel is not None and cancel.is_set():
            raise CancelledError("Cancelled.")
        try:
            digest = sha256_of(item.path)
            cached = _recall((key_model, digest))
            if cached is not None:
                probs[i] = cached
            else:
                rgb, _ = load_image(item.path)
                pending.append((i, digest, model.prepare(rgb)[1]))
        except (OSError, EngineError) as exc:
            errors[i] = _one_line(item, exc)
        if len(pending) >= batch:
            flush()
        if progress is not None and (i + 1) % batch == 0:
            progress(i + 1, total)
    flush()
    if progress is not None:
        progress(total, total)
    return [
        prediction_row(item, probs.get(i), errors.get(i)) for i, item in enumerate(dataset.items)
    ]


def _one_line(item: DataItem, exc: BaseException) -> str:
    if isinstance(exc, EngineError):
        return str(exc)
    return f"{item.name}: cannot be read ({getattr(exc, 'strerror', None) or exc})."


def _recall(key: tuple[str, str]) -> np.ndarray | None:
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    return None


def forget_predictions() -> None:
    """Drop the remembered predictions (the backend changed: the next ones come from it)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _remember(key: tuple[str, str], p: np.ndarray) -> None:
    with _CACHE_LOCK:
        _CACHE[key] = p
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)


def prediction_row(item: DataItem, p: np.ndarray | None, error: str | None) -> PredictionRow:
    if p is None:
        return PredictionRow(item, None, float("nan"), None, float("nan"), None, error)
    order = np.argsort(-p, kind="stable")
    top = int(order[0])
    second = float(p[order[1]]) if len(order) > 1 else 0.0
    true_p = None if item.true is None else float(p[item.true])
    return PredictionRow(item, top, float(p[top]), true_p, float(p[top]) - second, p)


def confusion(rows: Sequence[PredictionRow], labels: Sequence[str]) -> Confusion:
    """Confusion matrix, accuracy and per-class precision/recall of the labelled, readable rows."""
    n = len(labels)
    m = np.zeros((n, n), dtype=np.int64)
    for r in rows:
        if r.item.true is not None and r.predicted is not None:
            m[r.item.true, r.predicted] += 1
    count = int(m.sum())
    diag = np.diag(m).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(m.sum(0) > 0, diag / m.sum(0), np.nan)
        recall = np.where(m.sum(1) > 0, diag / m.sum(1), np.nan)
    accuracy = float(diag.sum() / count) if count else float("nan")
    return Confusion(tuple(labels), m, accuracy, precision, recall, count)


@dataclass(frozen=True)
class DatasetPrediction:
    """A data set with every image's prediction and the confusion: what the app's view shows."""

    dataset: DataSet
    rows: tuple[PredictionRow, ...]
    confusion: Confusion
    labels: tuple[str, ...]


def predict_source(
    model: LoadedModel,
    source: str | Path,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> DatasetPrediction:
    """`open_dataset` + `predict_dataset` + `confusion` for a folder or CSV."""
    labels = tuple(model.info.labels)
    data = open_dataset(source, labels)
    if not data.items:
        raise EngineError(f"{Path(source).name}: no image files.")
    rows = predict_dataset(model, data, progress, cancel)
    return DatasetPrediction(data, tuple(rows), confusion(rows, labels), labels)


def most_confident_mistakes(rows: Sequence[PredictionRow], k: int) -> list[PredictionRow]:
    """The k misclassified rows with the highest probability for their (wrong) prediction."""
    wrong = [r for r in rows if r.correct is False]
    return sorted(wrong, key=lambda r: -r.probability)[:k]


def explain_mistakes(
    model: LoadedModel,
    rows: Sequence[PredictionRow],
    k: int,
    methods: Sequence[str],
    cancel: threading.Event | None = None,
) -> list[tuple[str, Any]]:
    """(row title, Explanation for the predicted class) of the k most confident mistakes."""
    from saliency_desktop.engine.explainer import explain

    out = []
    for r in most_confident_mistakes(rows, k):
        e = explain(model, r.item.path, methods=list(methods), target=r.predicted, cancel=cancel)
        true = model.info.labels[r.item.true] if r.item.true is not None else "?"
        out.append((f"{Path(r.item.name).name}\ntrue: {true.replace('_', ' ')}", e))
    return out
