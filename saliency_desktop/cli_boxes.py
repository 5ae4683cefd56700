"""`explain --boxes / --annotations / --contrast`: localization boxes, their scores, A vs B.

Hooks called by `explain_cmd.run_explain`: `prepare_localization` once (checks --contrast, reads the
annotations: a bad file is a usage error, exit 2), `annotate` per image (boxes, IoU and the
pointing game into each method's extras, which the JSON records and the report draws), and
`localization_summary` at the end (one line on stderr: mean IoU and pointing accuracy per
method over the annotated images).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saliency_desktop.cli_common import UsageError, error

if TYPE_CHECKING:
    from saliency_desktop.engine import LoadedModel
    from saliency_desktop.engine.types import Explanation


def prepare_localization(model: LoadedModel, args: argparse.Namespace) -> None:
    """Resolve --contrast and read --annotations once; the results ride on `args`."""
    from saliency_desktop.engine import load_annotations
    from saliency_desktop.engine.types import EngineError

    args.contrast_index = None
    args.truth = None
    args.scores = []  # (image, method, iou, hit) of the annotated images
    try:
        if getattr(args, "contrast", None) is not None:
            args.contrast_index = model.class_index(args.contrast)
            if args.target != "auto" and model.class_index(args.target) == args.contrast_index:
                raise UsageError("--contrast names the target itself; choose another class.")
            _refuse_class_agnostic(args)
        if getattr(args, "annotations", None) is not None:
            args.truth = load_annotations(args.annotations)
            args.boxes = True
    except EngineError as exc:
        raise UsageError(str(exc)) from None


def _refuse_class_agnostic(args: argparse.Namespace) -> None:
    """--contrast with a method named that ignores the class (Eigen-CAM): a usage error
    (with --methods all such a method is skipped, and the JSON says why)."""
    from saliency_desktop.cli_common import csv_list
    from saliency_desktop.engine import get_method

    if args.methods == "all":
        return
    agnostic = [m for m in csv_list(args.methods) if get_method(m).info.class_agnostic]
    if agnostic:
        raise UsageError(
            f"--contrast: {', '.join(agnostic)} is class-agnostic (the same map for every "
            "class), so it has no A vs B map; leave it out of --methods."
        )


def annotate(e: Explanation, path: Path, args: argparse.Namespace, extra: dict) -> Explanation:
    """`e` with a box (and IoU / pointing hit) in each method's extras; records on `extra`.
    (The contrast, "A vs B", is recorded by `write_arrays` from the explanation itself.)"""
    from saliency_desktop.engine import map_box, score_map, truth_for

    if not getattr(args, "boxes", False):
        return e
    size = e.image.shape[:2]
    threshold = args.box_threshold
    truth = truth_for(args.truth, path) if args.truth is not None else None
    if args.truth is not None and truth is None:
        error(f"note: {path.name} has no ground-truth boxes in {args.annotations}.")
    methods = {}
    for mid, r in e.methods.items():
        if truth is None:
            box = map_box(r.map, size, threshold)
            found: dict[str, Any] = {"box": None if box is None else list(box)}
        else:
            found = score_map(r.map, size, truth, threshold, label=e.target_label)
            args.scores.append((path.name, mid, found["iou"], found["pointing_hit"]))
        methods[mid] = replace(r, extras={**r.extras, **found})
    extra["localization"] = {"threshold": threshold, "box": "x0, y0, x1, y1 inclusive, pixels"}
    if truth is not None:
        extra["localization"]["ground_truth"] = [
            {"label": g.label, "box": list(g.box)} for g in truth
        ]
    return replace(e, methods=methods)


def localization_summary(args: argparse.Namespace) -> str | None:
    """'localization over N annotated image(s): ID IoU 0.52, pointing 80 %; ...' or None."""
    scores = getattr(args, "scores", None)
    if not scores:
        return None
    images = len({image for image, *_ in scores})
    parts = []
    for mid in dict.fromkeys(m for _, m, _, _ in scores):
        rows = [(iou, hit) for _, m, iou, hit in scores if m == mid]
        mean_iou = sum(r[0] for r in rows) / len(rows)
        hits = sum(r[1] for r in rows) / len(rows)
        parts.append(f"{mid} IoU {mean_iou:.2f}, pointing {100 * hits:.0f} %")
    return f"localization over {images} annotated image(s): " + "; ".join(parts) + "."
