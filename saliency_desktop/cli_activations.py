"""`saliency-desktop activations IMAGE`: which neurons fired in one layer, as files.

Writes `<stem>_activations.<fmt>` (the grid figure), `<stem>_activations.npz` (the chosen
channels' maps, indices and values) and `<stem>_activations.json` (the ranking, the layer's
summary and the strip of every feature layer) into --out, each atomically; nothing is
overwritten without --force. Exit status as `explain`: 0 done, 1 the image failed, 2 bad
arguments (unknown layer, model that cannot load, outputs that exist).

`add_commands` also adds the localization and contrast options of `explain` (see
`cli_boxes.py`), so cli.py registers this module with one call.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from saliency_desktop.batch import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    csv_list,
    error,
    load_model_or_fail,
)

log = logging.getLogger("saliency_desktop.cli")


def _top(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"must be between 1 and 4096, not {text}")
    return value


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], not {text}")
    return value


def add_commands(sub: Any, explain: argparse.ArgumentParser, parents: list[Any]) -> None:
    """The `activations` command, and `explain`'s --boxes/--annotations/--contrast options."""
    # fmt: off
    act = sub.add_parser(
        "activations", parents=parents, help="a layer's top channels for one image, as files",
        description="Write <stem>_activations.<format> (a grid of the top channels over the "
        "image), .npz (their maps) and .json (the ranking and every layer's summary) into --out.")
    act.add_argument("image", type=Path, metavar="IMAGE")
    act.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    act.add_argument("--model", default=None, metavar="ID|PATH",
                     help="catalogue id or model file (default: the default model)")
    act.add_argument("--layer", metavar="PATH",
                     help="layer path or name (default: the CAM layer; see `layers MODEL`)")
    act.add_argument("--top", type=_top, default=16, metavar="N", help="channels (default 16)")
    act.add_argument("--rank", choices=("mean", "contribution"), default="mean",
                     help="by mean activation, or by Grad-CAM weight x mean activation")
    act.add_argument("--target", default="auto", metavar="auto|INDEX|LABEL",
                     help="class of the contribution ranking (default auto: the top prediction)")
    act.add_argument("--format", type=csv_list, default=["png"], metavar="png,pdf,svg")
    act.add_argument("--dpi", type=int, default=200, help="default 200")
    act.add_argument("--force", action="store_true", help="overwrite existing files")
    loc = explain.add_argument_group("localization and contrast")
    loc.add_argument("--boxes", action="store_true",
                     help="a box per map (Grad-CAM sec. 4.1: largest component above the "
                     "threshold), in the JSON and drawn in the report")
    loc.add_argument("--box-threshold", type=_threshold, default=0.15, metavar="0..1",
                     help="fraction of the map's maximum (default 0.15)")
    loc.add_argument("--annotations", type=Path, metavar="PATH",
                     help="ground-truth boxes: Pascal VOC .xml (or a folder) or COCO .json; "
                     "adds IoU and the pointing game (implies --boxes)")
    loc.add_argument("--contrast", metavar="INDEX|LABEL",
                     help="explain target minus this class: why A and not B")
    # fmt: on


def _outputs(args: argparse.Namespace) -> tuple[Path, list[Path]]:
    from saliency_desktop.render.panels import FORMATS

    bad = [f for f in args.format if f not in FORMATS]
    if bad or not args.format:
        raise UsageError(f"--format: use png, pdf and/or svg, not {','.join(bad) or 'nothing'}.")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder.")
    base = args.out / f"{args.image.stem or args.image.name}_activations"
    paths = [base.with_name(f"{base.name}.{ext}") for ext in ("npz", "json", *args.format)]
    return base, paths


def run_activations(args: argparse.Namespace) -> int:
    from saliency_desktop.engine import (
        DEFAULT_MODEL,
        layer_activations,
        layer_summaries,
        load_image,
        resolve_layer,
    )
    from saliency_desktop.engine.types import EngineError, ImageError
    from saliency_desktop.render.export import OutputExistsError, refuse_existing

    base, paths = _outputs(args)
    try:
        refuse_existing(paths, args.force)
    except OutputExistsError as exc:
        raise UsageError(str(exc)) from None
    args.model = args.model or DEFAULT_MODEL
    model = load_model_or_fail(args.model, args)
    try:
        layer = resolve_layer(model, args.layer)
        target = None if args.target == "auto" else model.class_index(args.target)
    except EngineError as exc:
        raise UsageError(str(exc)) from None
    try:
        rgb, _ = load_image(args.image)
        acts = layer_activations(model, rgb, layer, args.top, args.rank, target)
        strip = layer_summaries(model, rgb)
        _write(args, base, rgb, acts, strip, model)
    except (ImageError, OSError) as exc:
        log.debug("activations failed", exc_info=True)
        text = getattr(exc, "strerror", None) or str(exc)
        error(text if str(args.image) in text else f"{args.image}: {text}")
        return EXIT_FAILED
    except EngineError as exc:
        raise UsageError(str(exc)) from None
    error(f"{len(acts.indices)} channel(s) of {acts.layer} written into {args.out}.")
    return EXIT_OK


def ranking_record(acts: Any, strip: list[Any], model: Any, image: Path) -> dict[str, Any]:
    """The JSON record: the ranking, the layer's summary and the strip of all layers."""
    from dataclasses import asdict

    return {
        "image": str(image),
        "model": model.info.id,
        "layer": acts.layer,
        "shape": list(acts.shape),
        "rank": acts.rank,
        "target": None
        if acts.target is None
        else {"index": acts.target, "label": model.label(acts.target)},
        "channels": [
            {"channel": int(k), "value": float(v), "mean": float(m)}
            for k, v, m in zip(acts.indices, acts.values, acts.means, strict=True)
        ],
        "summary": asdict(acts.summary),
        "layers": [asdict(s) for s in strip],
        "npz": {"maps": "(top, H, W) float32 at model input size", "indices": "channels"},
    }


def _write(
    args: argparse.Namespace, base: Path, rgb: Any, acts: Any, strip: Any, model: Any
) -> None:
    import numpy as np

    from saliency_desktop.render.activations import render_activations
    from saliency_desktop.render.export import atomic_file, write_json

    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_file(base.with_name(base.name + ".npz"), "wb", args.force) as f:
        np.savez_compressed(
            f, maps=acts.maps, indices=acts.indices, values=acts.values, means=acts.means
        )
    record = ranking_record(acts, strip, model, args.image)
    write_json(record, base.with_name(base.name + ".json"), args.force)
    render_activations(
        rgb, acts, base, list(dict.fromkeys(args.format)), args.dpi, args.force, args.image.name
    )
