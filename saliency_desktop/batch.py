"""`saliency-desktop explain`: batch saliency for a list of images and folders.

Each image's outputs are written atomically; a bad image gives one line on stderr and the others
go on. The argument parsing lives in `cli.py`; this module runs the batch.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saliency_desktop.cli_common import (  # also the commands' import
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    UsageError,
    csv_list,
    error,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from saliency_desktop.engine import LoadedModel
    from saliency_desktop.engine.types import Explanation

log = logging.getLogger("saliency_desktop.cli")


def method_param(text: str) -> tuple[str, str, Any]:
    """`ID.NAME=VALUE` -> (method id, parameter name, value of the declared kind) for --param."""
    import argparse

    from saliency_desktop.engine import get_method
    from saliency_desktop.engine.types import EngineError

    key, sep, raw = text.partition("=")
    mid, dot, name = key.strip().partition(".")
    if not sep or not dot or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not ID.NAME=VALUE")
    try:
        info = get_method(mid).info
    except EngineError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    declared = {p.name: p for p in info.params}
    if name not in declared:
        names = ", ".join(declared) or "none"
        raise argparse.ArgumentTypeError(f"{info.label} has no parameter {name!r} ({names})")
    kind = declared[name].kind
    try:
        value: Any = int(raw) if kind == "int" else float(raw) if kind == "float" else raw.strip()
        if kind == "int_or_auto" and value.lower() != "auto":
            value = int(value)
    except ValueError:
        what = "'auto' or an integer" if kind == "int_or_auto" else "a number"
        raise argparse.ArgumentTypeError(f"{mid}.{name} must be {what}, not {raw!r}") from None
    return mid, name, value


def params_by_method(pairs: Sequence[tuple[str, str, Any]] | None) -> dict[str, dict[str, Any]]:
    """`--param ID.NAME=VALUE` values (parsed by `method_param`) as {method id: {name: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for mid, name, value in pairs or []:
        out.setdefault(mid, {})[name] = value
    return out


def refuse_planned(planned: Sequence[Path], force: bool) -> None:
    """Outputs that exist without --force: a UsageError (exit 2) before any work is done."""
    from saliency_desktop.render.export import OutputExistsError, refuse_existing

    try:
        refuse_existing(planned, force)
    except OutputExistsError as exc:
        raise UsageError(str(exc)) from None


def image_bar(total: int) -> Any:
    """The progress bar of a batch command on stderr, one unit an image (off when not a tty)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="image",
        file=sys.stderr,
        disable=None,
        delay=0.5,
        leave=False,
        bar_format="{l_bar}{bar}| {n:.1f}/{total} [{elapsed}<{remaining}]{postfix}",
    )


def image_progress(bar: Any, i: int, name: str) -> Callable[[float, str], None]:
    """The engine's progress callback for image `i`: the fraction within it, then its step."""

    def progress(fraction: float, message: str) -> None:
        bar.n = i + fraction
        bar.set_postfix_str(f"{name}: {message}" if message else name, refresh=False)
        bar.refresh()

    return progress


def batch_summary(verb: str, ok: int, failed: int, total: int, out: Path) -> int:
    """The last line of a batch command, and its exit status."""
    tail = f"; {failed} failed." if failed else "."
    error(f"{ok} of {total} image(s) {verb} into {out}{tail}")
    return EXIT_FAILED if failed else EXIT_OK


def batch_interrupted(bar: Any, finished: int, total: int) -> int:
    """Ctrl+C in a batch command: close the bar, say how far it got (exit status 130)."""
    bar.close()
    error(f"interrupted after {finished} of {total} image(s); every file written is complete.")
    return EXIT_INTERRUPTED


def load_model_or_fail(spec: str, args: argparse.Namespace) -> LoadedModel:
    """The loaded model; an engine error becomes a UsageError (exit status 2, one line)."""
    from tqdm import tqdm

    from saliency_desktop.engine import CATALOGUE, load_model
    from saliency_desktop.engine.types import EngineError

    if spec in CATALOGUE and (args.preprocessing or args.labels):
        error(f"note: --preprocessing and --labels apply to model files; {spec} has its own.")
    bar: tqdm | None = None

    def progress(done: int, total: int | None) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=f"downloading {spec}",
                file=sys.stderr,
                disable=None,
                leave=False,
            )
        bar.update(done - bar.n)

    try:
        return load_model(
            spec,
            preprocessing=args.preprocessing,
            labels=args.labels,
            trust_model=args.trust_model,
            output_index=getattr(args, "output_index", None),
            download_progress=progress,
        )
    except EngineError as exc:
        log.debug("model load failed", exc_info=True)
        raise UsageError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()


def collect_images(inputs: Sequence[str], exclude: Path | None = None) -> list[Path]:
    """Files as given; folders walked recursively for image files, sorted, hidden ones skipped.

    Files under `exclude` (the output folder) are skipped in walks, so a second run does not
    explain the first run's figures.
    """
    from saliency_desktop.engine import is_image_name

    skip = exclude.resolve() if exclude is not None else None
    found: list[Path] = []
    for raw in inputs:
        path = Path(raw)
        if not path.is_dir():
            found.append(path)
            continue
        walked = []
        for f in path.rglob("*"):
            rel = f.relative_to(path)
            if any(part.startswith(".") for part in rel.parts) or not is_image_name(f):
                continue
            if skip is not None and f.resolve().is_relative_to(skip):
                continue
            if f.is_file():
                walked.append((rel.as_posix(), f))
        if not walked:
            error(f"note: no image files in {path}.")
        found += [f for _, f in sorted(walked)]
    unique: dict[Path, Path] = {}
    for f in found:
        unique.setdefault(f.resolve(), f)
    return list(unique.values())


def _check_explain_args(args: argparse.Namespace) -> None:
    from saliency_desktop.engine import method_ids
    from saliency_desktop.render.report import FORMATS, check_colormap

    bad = [f for f in args.format if f not in FORMATS]
    if bad or not args.format:
        raise UsageError(f"--format: use png, pdf and/or svg, not {','.join(bad) or 'nothing'}.")
    for name in (args.colormap, args.signed_colormap):
        try:
            check_colormap(name)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.methods != "all":
        ids = csv_list(args.methods)
        unknown = [m for m in ids if m not in method_ids()]
        if unknown or not ids:
            raise UsageError(
                f"--methods: unknown {', '.join(unknown) or '(empty)'}; "
                f"known: all, {', '.join(method_ids())}."
            )
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder.")
    missing = [raw for raw in args.inputs if not Path(raw).exists()]
    if missing:  # a typo on the command line: nothing is loaded or created
        raise UsageError(f"no such file or folder: {', '.join(missing)}")


def check_model_args(model: LoadedModel, args: argparse.Namespace) -> tuple[list[str], int | None]:
    """Methods to run and the target index, checked once against the model (UsageError)."""
    from saliency_desktop.engine import get_method, method_ids, resolve_layer
    from saliency_desktop.engine.types import EngineError

    unavailable = model.info.unavailable
    if args.methods == "all":
        methods = [m for m in method_ids() if m not in unavailable]
        for mid, reason in unavailable.items():
            error(f"note: {mid} skipped: {reason}.")
    else:
        methods = list(dict.fromkeys(csv_list(args.methods)))
        bad = [m for m in methods if m in unavailable]
        if bad:
            raise UsageError(f"{bad[0]} is not available for this model: {unavailable[bad[0]]}.")
    if not methods:
        raise UsageError("No method can run on this model.")
    try:
        target = None if args.target == "auto" else model.class_index(args.target)
    except EngineError as exc:
        raise UsageError(f"{exc} `{PROG} classes {args.model}` lists them all.") from None
    try:
        if any(get_method(m).info.needs_layer for m in methods):
            resolve_layer(model, args.layer)
        elif args.layer:
            error("note: --layer is used by CAM methods only; none is selected.")
    except EngineError as exc:
        raise UsageError(str(exc)) from None
    return methods, target


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


def failure_line(path: Path, exc: Exception) -> str:
    """The one line shown for an image that failed."""
    from saliency_desktop.engine.types import EngineError
    from saliency_desktop.render.export import OutputExistsError

    if isinstance(exc, EngineError | OutputExistsError):
        text = str(exc)
        return text if text.startswith(path.name) else f"{path}: {text}"
    if isinstance(exc, OSError):
        return f"{path}: cannot write the results ({exc.strerror or exc})."
    return f"{path}: unexpected {type(exc).__name__}: {exc} (--verbose shows the traceback)."


def batch_inputs(
    args: argparse.Namespace, verb: str
) -> tuple[Path, list[Path], list[str], list[str]]:
    """(output folder, images, their output names, formats) of a batch command's arguments;
    no image at all is a UsageError ("No image to <verb>.")."""
    from saliency_desktop.render.export import output_names

    images = collect_images(args.inputs, exclude=args.out)
    if not images:
        raise UsageError(f"No image to {verb}.")
    return args.out, images, output_names(images), list(dict.fromkeys(args.format))


def run_explain(args: argparse.Namespace) -> int:
    from saliency_desktop.cluster import check_cluster_args
    from saliency_desktop.compute import explain_image
    from saliency_desktop.render import maps
    from saliency_desktop.render.figures import grid_row

    _check_explain_args(args)
    check_cluster_args(args)
    out, images, names, formats = batch_inputs(args, "explain")
    planned = [out / f"{n}.{ext}" for n in names for ext in ("npz", "json")]
    planned += [out / f"{n}_report.{fmt}" for n in names for fmt in formats]
    planned += [out / f"grid.{fmt}" for fmt in formats] if args.grid else []
    refuse_planned(planned, args.force)
    model = load_model_or_fail(args.model, args)
    methods, target = check_model_args(model, args)
    from saliency_desktop.cli_boxes import localization_summary, prepare_localization

    prepare_localization(model, args)
    out.mkdir(parents=True, exist_ok=True)
    style = dict(
        cmap=args.colormap or maps.DEFAULT_CMAP,
        signed_cmap=args.signed_colormap or maps.DEFAULT_SIGNED_CMAP,
        opacity=args.opacity,
        percentile=args.percentile,
        rgb_gradients=args.rgb_gradients,
    )
    settings = {
        **style,
        "methods": args.methods,
        "target": args.target,
        "formats": formats,
        "dpi": args.dpi,
        "model": args.model,
    }
    params = dict(
        methods="all" if args.methods == "all" else methods,  # "all" records what was skipped
        target=target,
        score=args.score,
        layer=args.layer,
        top_k=max(5, len(model.info.labels)),
        rule=args.ig_method,
        baseline=args.baseline,
        seed=args.seed,
        contrast=args.contrast_index,
    )
    if getattr(args, "ig_backend", None):
        params["backend"] = args.ig_backend
    per_method = params_by_method(getattr(args, "param", None))
    if getattr(args, "ig_steps", None) is not None:  # IG's only (others name theirs apart)
        ig = per_method.setdefault("integrated_gradients", {})
        ig.setdefault("n_steps", args.ig_steps)  # an explicit --param wins, as before
    params["params"] = per_method
    rows: dict[int, tuple[str, Explanation]] = {}  # kept for the grid, by input index
    ok = failed = 0

    def fail(i: int, exc: BaseException) -> None:
        nonlocal failed
        log.debug("%s failed", images[i], exc_info=exc)  # the traceback with --verbose
        error(failure_line(images[i], exc))
        failed += 1

    def deliver(i: int, e: Explanation) -> None:
        nonlocal ok
        try:
            e = write_explanation(e, images[i], out / names[i], args, style, settings)
        except Exception as exc:  # one line for the user
            fail(i, exc)
            return
        ok += 1
        if args.grid:
            rows[i] = (images[i].name, grid_row(e, keep_attributions=args.rgb_gradients))

    bar = image_bar(len(images))
    try:
        if getattr(args, "ray", None):
            from saliency_desktop.cluster.driver import run_on_ray

            run_on_ray(args, model, images, ("explain", {"params": params}), deliver, fail, bar)
        else:
            for i, (path, name) in enumerate(zip(images, names, strict=True)):
                progress = image_progress(bar, i, name)
                progress(0.0, "")
                try:
                    e = explain_image(model, path, params, progress)
                except Exception as exc:
                    fail(i, exc)
                else:
                    deliver(i, e)
                bar.n = i + 1
                bar.refresh()
        bar.close()
        if args.grid and rows:
            from saliency_desktop.render.figures import render_grid

            ordered = [rows[i] for i in sorted(rows)]  # input order, however results arrived
            render_grid(
                [e for _, e in ordered],
                out / "grid",
                [n for n, _ in ordered],
                formats,
                args.dpi,
                force=args.force,
                **style,
            )
    except KeyboardInterrupt:
        return batch_interrupted(bar, ok + failed, len(images))
    if (line := localization_summary(args)) is not None:
        error(line)
    return batch_summary("explained", ok, failed, len(images), out)
