"""`saliency-desktop explain`: batch saliency for a list of images and folders.

For each image, `<stem>.npz` (the raw arrays), `<stem>.json` (how they were made) and
`<stem>_report.<format>` (the figure) are written atomically into --out; a bad image gives one
line on stderr and the others go on. The shared batch machinery (inputs, model, progress, the
per-image loop) is `batch.py`'s.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saliency_desktop import batch
from saliency_desktop.cli_common import UsageError, csv_list, error
from saliency_desktop.cli_params import (
    add_method_options,
    method_option_values,
    method_param,
    number,
    param_example,
    params_by_method,
    positive_int,
)
from saliency_desktop.cluster import add_cluster_arguments

if TYPE_CHECKING:
    from saliency_desktop.engine import LoadedModel
    from saliency_desktop.engine.types import Explanation


def _unit_float(text: str) -> float:
    return number(text, float, 0.0, 1.0, "between 0 and 1")


def _percentile(text: str) -> float:
    return number(text, float, 1e-9, 100.0, "in (0, 100]")


def add_explain_parser(
    sub: Any, parents: list[argparse.ArgumentParser], model_help: str
) -> argparse.ArgumentParser:
    """The `explain` subcommand, added to the CLI's subparsers; returns its parser."""
    from saliency_desktop.engine import DEFAULT_MODEL
    from saliency_desktop.render import maps

    # fmt: off
    ex = sub.add_parser(
        "explain", parents=parents, help="explain images headless, write files",
        description="For each image, write <stem>.npz (the raw arrays), <stem>.json (how they "
        "were made) and <stem>_report.png (a figure) into --out.")
    ex.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR",
                    help="image files, or folders (searched recursively, in sorted order)")
    ex.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    ex.add_argument("--model", default=DEFAULT_MODEL, metavar="ID|PATH", help=model_help)
    ex.add_argument("--methods", default="all", metavar="all|ID,ID,...",
                    help="methods to run (see `saliency-desktop methods`; default all)")
    ex.add_argument("--target", default="auto", metavar="auto|INDEX|LABEL",
                    help="class to explain (default auto: the top prediction)")
    ex.add_argument("--layer", metavar="PATH",
                    help="CAM layer (default: the last eligible; see `saliency-desktop layers`)")
    ex.add_argument("--score", choices=("logit", "probability"), default="logit",
                    help="what the gradients are taken of (default logit)")
    ex.add_argument("--force", action="store_true", help="overwrite existing files")
    ex.add_argument("--full-paths", action="store_true",
                    help="keep the image's and the model's absolute paths in the JSON records "
                    "(default: file names and SHA-256 only, so records can be shared)")
    ex.add_argument("--seed", type=int, default=0,
                    help="seed of the noise baseline and of every sampling method (default 0)")
    ex.add_argument("--param", action="append", type=method_param, default=[],
                    metavar="ID.NAME=VALUE", help=f"a parameter of one method, e.g. "
                    f"{param_example()} (repeatable; `saliency-desktop methods --verbose` lists "
                    "each method's parameters)")
    add_method_options(ex)  # the options some methods declare (e.g. IG's --ig-steps)
    fig = ex.add_argument_group("figures")
    fig.add_argument("--colormap", metavar="NAME",
                     help=f"matplotlib colormap for unsigned maps (default {maps.DEFAULT_CMAP})")
    fig.add_argument("--signed-colormap", metavar="NAME",
                     help="colormap for signed maps such as Integrated Gradients, centred on "
                     f"zero (default {maps.DEFAULT_SIGNED_CMAP})")
    fig.add_argument("--opacity", type=_unit_float, default=maps.DEFAULT_OPACITY, metavar="0..1",
                     help=f"heatmap opacity over the image (default {maps.DEFAULT_OPACITY})")
    fig.add_argument("--percentile", type=_percentile, default=maps.DEFAULT_PERCENTILE,
                     help="maps are clipped at this percentile of their values "
                     f"(default {maps.DEFAULT_PERCENTILE})")
    fig.add_argument("--rgb-gradients", action="store_true",
                     help="show Guided Backprop, DeconvNet and Guided Grad-CAM as RGB gradients")
    fig.add_argument("--format", type=csv_list, default=["png"], metavar="png,pdf,svg",
                     help="figure formats (default png)")
    fig.add_argument("--dpi", type=positive_int, default=300, help="default 300")
    fig.add_argument("--grid", action="store_true",
                     help="also write grid.<format>: a row per image, a column per method")
    # fmt: on
    add_cluster_arguments(ex)
    return ex


def _check_explain_args(args: argparse.Namespace) -> None:
    from saliency_desktop.render.panels import FORMATS, check_colormap

    bad = [f for f in args.format if f not in FORMATS]
    if bad or not args.format:
        raise UsageError(f"--format: use png, pdf and/or svg, not {','.join(bad) or 'nothing'}.")
    for name in (args.colormap, args.signed_colormap):
        try:
            check_colormap(name)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    batch.check_methods_arg(args.methods)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder.")
    missing = [raw for raw in args.inputs if not Path(raw).exists()]
    if missing:  # a typo on the command line: nothing is loaded or created
        raise UsageError(f"no such file or folder: {', '.join(missing)}")


def write_explanation(
    e: Explanation,
    path: Path,
    base: Path,
    args: argparse.Namespace,
    style: dict[str, Any],
    settings: dict[str, Any],
) -> Explanation:
    """Write one image's .npz, .json and report figure(s) (atomic; --force as given); returns
    `e` as written: with the --boxes scores, added here (in the driver, for --ray too)."""
    from saliency_desktop.cli_boxes import annotate
    from saliency_desktop.render.export import write_arrays
    from saliency_desktop.render.report import render_report

    extra = {"image": {"path": str(path.resolve())}, "settings": settings}
    e = annotate(e, path, args, extra)  # --boxes, --annotations, --contrast
    write_arrays(e, base, args.model, extra, args.force, full_paths=args.full_paths)
    report = base.with_name(base.name + "_report")
    render_report(e, report, args.format, args.dpi, force=args.force, title=path.name, **style)
    return e


def _explain_params(
    args: argparse.Namespace, model: LoadedModel, methods: list[str], target: int | None
) -> dict[str, Any]:
    """The keywords of `explain()` for every image: the methods' own options (IG's --ig-steps,
    ...) as flat keywords, --param by method (which wins where both name a parameter)."""
    return dict(
        methods="all" if args.methods == "all" else methods,  # "all" records what was skipped
        target=target,
        score=args.score,
        layer=args.layer,
        top_k=max(5, len(model.info.labels)),
        seed=args.seed,
        contrast=args.contrast_index,
        params=params_by_method(args.param),
        **method_option_values(args),
    )


def _style(args: argparse.Namespace) -> dict[str, Any]:
    from saliency_desktop.render import maps

    return dict(
        cmap=args.colormap or maps.DEFAULT_CMAP,
        signed_cmap=args.signed_colormap or maps.DEFAULT_SIGNED_CMAP,
        opacity=args.opacity,
        percentile=args.percentile,
        rgb_gradients=args.rgb_gradients,
    )


def run_explain(args: argparse.Namespace) -> int:
    from saliency_desktop.cli_boxes import localization_summary, prepare_localization
    from saliency_desktop.cluster import check_cluster_args
    from saliency_desktop.cluster.driver import run_on_ray
    from saliency_desktop.render.figures import grid_row, render_grid

    _check_explain_args(args)
    check_cluster_args(args)
    out, images, names, formats = batch.batch_inputs(args, "explain")
    planned = [out / f"{n}.{ext}" for n in names for ext in ("npz", "json")]
    planned += [out / f"{n}_report.{fmt}" for n in names for fmt in formats]
    planned += [out / f"grid.{fmt}" for fmt in formats] if args.grid else []
    batch.refuse_planned(planned, args.force)
    model = batch.load_model_or_fail(args.model, args)
    methods, target = batch.check_model_args(model, args)
    prepare_localization(model, args)
    out.mkdir(parents=True, exist_ok=True)
    style = _style(args)
    settings = {**style, "methods": args.methods, "target": args.target, "formats": formats,
                "dpi": args.dpi, "model": args.model}  # fmt: skip
    params = _explain_params(args, model, methods, target)
    rows: dict[int, tuple[str, Explanation]] = {}  # kept for the grid, by input index
    tally = batch.Tally(images)

    def deliver(i: int, e: Explanation) -> None:
        try:
            e = write_explanation(e, images[i], out / names[i], args, style, settings)
        except Exception as exc:  # one line for the user
            tally.fail(i, exc)
            return
        tally.ok += 1
        if args.grid:
            rows[i] = (images[i].name, grid_row(e, keep_attributions=args.rgb_gradients))

    bar = batch.image_bar(len(images))
    try:
        work = ("explain", {"params": params})
        if getattr(args, "ray", None):
            run_on_ray(args, model, images, work, deliver, tally.fail, bar)
        else:
            batch.run_local(model, images, names, work, deliver, tally.fail, bar, announce=True)
        bar.close()
        if args.grid and rows:
            ordered = [rows[i] for i in sorted(rows)]  # input order, however results arrived
            render_grid([e for _, e in ordered], out / "grid", [n for n, _ in ordered], formats,
                        args.dpi, force=args.force, **style)  # fmt: skip
    except KeyboardInterrupt:
        return batch.batch_interrupted(bar, tally.ok + tally.failed, len(images))
    if (line := localization_summary(args)) is not None:
        error(line)
    return batch.batch_summary("explained", tally.ok, tally.failed, len(images), out)
