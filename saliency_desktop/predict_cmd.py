"""`saliency-desktop predict`: a labelled data set's predictions, confusion and mistakes.

Writes into --out: `predictions.csv` (path, true, predicted, probability, true_probability,
correct), `confusion.json` (labels, matrix with rows = true and columns = predicted, accuracy,
per-class precision and recall) and `confusion.<fmt>`; with `--mistakes K --methods ...`, also
`mistakes.<fmt>`: the K most confident mistakes explained for their predicted class, as the
`--grid` of `explain`. Exit codes as `explain`: 0, 1 (some images failed), 2, 130.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saliency_desktop.batch import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    error,
    load_model_or_fail,
    refuse_planned,
)

if TYPE_CHECKING:
    from saliency_desktop.engine import Confusion, PredictionRow

log = logging.getLogger("saliency_desktop.cli")


def add_predict_parser(sub: Any, parents: list[argparse.ArgumentParser], model_help: str) -> None:
    """The `predict` subcommand, added to the CLI's subparsers."""
    from saliency_desktop.engine import DEFAULT_MODEL

    p = sub.add_parser(
        "predict", parents=parents, help="predict a (labelled) folder: accuracy, confusion",
        description="DATA is a folder whose subfolders are class names, a CSV of path,label "
        "rows, or a folder of images (unlabelled: no accuracy).")  # fmt: skip
    p.add_argument("data", type=Path, metavar="DATA", help="folder or CSV file")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="ID|PATH", help=model_help)
    p.add_argument(
        "--mistakes",
        type=int,
        default=0,
        metavar="K",
        help="also explain the K most confident mistakes (mistakes.<format>)",
    )
    p.add_argument(
        "--methods",
        default="quick",
        metavar="quick|all|ID,...",
        help="methods for --mistakes (default quick: those that cost one pass)",
    )
    p.add_argument("--format", default="png", metavar="png,pdf,svg", help="figure formats")
    p.add_argument("--force", action="store_true", help="overwrite existing files")


def run_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from saliency_desktop.batch import csv_list
    from saliency_desktop.engine import confusion, open_dataset, predict_dataset
    from saliency_desktop.engine.types import EngineError
    from saliency_desktop.render.panels import FORMATS

    formats = csv_list(args.format)
    if not formats or any(f not in FORMATS for f in formats):
        raise UsageError(f"--format: use png, pdf and/or svg, not {args.format!r}.")
    if not args.data.exists():
        raise UsageError(f"{args.data}: no such file or folder.")
    if args.mistakes < 0:
        raise UsageError("--mistakes must be 0 or more.")
    from saliency_desktop.engine import method_ids

    chosen = csv_list(args.methods)
    unknown = [m for m in chosen if m not in method_ids() and args.methods not in ("quick", "all")]
    if args.mistakes and (unknown or not chosen):
        raise UsageError(f"--methods: unknown {', '.join(unknown) or '(empty)'}; "
                         f"known: quick, all, {', '.join(method_ids())}.")  # fmt: skip
    out: Path = args.out
    planned = [out / "predictions.csv", out / "confusion.json"]
    planned += [out / f"confusion.{f}" for f in formats]
    planned += [out / f"mistakes.{f}" for f in formats] if args.mistakes else []
    refuse_planned(planned, args.force)
    model = load_model_or_fail(args.model, args)
    try:
        data = open_dataset(args.data, model.info.labels)
    except EngineError as exc:
        raise UsageError(str(exc)) from None
    if not data.items:
        raise UsageError(f"{args.data}: no image files.")
    for note in data.notes:
        error(f"note: {note}.")
    bar = tqdm(total=len(data.items), unit="image", file=sys.stderr, disable=None, leave=False)

    def progress(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()

    try:
        rows = predict_dataset(model, data, progress)
    finally:
        bar.close()
    failed = [r for r in rows if r.error]
    for r in failed:
        error(r.error or "")
    out.mkdir(parents=True, exist_ok=True)
    labels = model.info.labels
    summary = confusion(rows, labels)
    _write_outputs(out, rows, summary, labels, formats, args)
    if args.mistakes:
        _write_mistakes(model, rows, out, formats, _mistake_methods(model, args.methods), args)
    if summary.n_images:
        print(f"accuracy {100 * summary.accuracy:.1f} % on {summary.n_images} labelled images")
    return EXIT_FAILED if failed else EXIT_OK


def _write_outputs(
    out: Path,
    rows: list[PredictionRow],
    summary: Confusion,
    labels: tuple[str, ...],
    formats: list[str],
    args: argparse.Namespace,
) -> None:
    from saliency_desktop.render.confusion import (
        confusion_record,
        predictions_csv,
        render_confusion,
    )
    from saliency_desktop.render.export import atomic_file

    with atomic_file(out / "predictions.csv", "w", args.force) as f:
        f.write(predictions_csv(rows, labels))
    with atomic_file(out / "confusion.json", "w", args.force) as f:
        json.dump(confusion_record(summary), f, indent=1)
    render_confusion(summary, out / "confusion", formats, force=args.force)


def _mistake_methods(model: Any, choice: str) -> list[str]:
    """`quick`: every available method that costs one pass at its defaults; `all`; or a list."""
    from saliency_desktop.batch import csv_list
    from saliency_desktop.engine import get_method, method_ids

    if choice not in ("quick", "all"):
        return csv_list(choice)
    ids = [m for m in method_ids() if m not in model.info.unavailable]
    if choice == "all":
        return ids
    quick = []
    for mid in ids:
        method = get_method(mid)
        if method.cost(method.resolve_params({}), model.batch_size) <= 1.0:
            quick.append(mid)
    return quick


def _write_mistakes(
    model: Any,
    rows: list[PredictionRow],
    out: Path,
    formats: list[str],
    methods: list[str],
    args: argparse.Namespace,
) -> None:
    from saliency_desktop.engine import explain_mistakes
    from saliency_desktop.render.figures import grid_row, render_grid

    chosen = explain_mistakes(model, rows, args.mistakes, methods)
    if not chosen:
        error("note: no mistakes to explain.")
        return
    names = [name for name, _ in chosen]
    explained = [grid_row(e) for _, e in chosen]
    render_grid(explained, out / "mistakes", names, formats, force=args.force)
