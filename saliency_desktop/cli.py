"""The command line: `saliency-desktop [gui|explain|models|methods|layers] ...`.

`gui` (the app) is the default command. TensorFlow, matplotlib and the engine's model code are
imported inside the commands, so `--help` and `methods` answer at once.

Exit status: 0 all done, 1 some images failed, 2 bad arguments (or a model that cannot be
loaded, or outputs that exist without --force), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saliency_desktop import __version__

if TYPE_CHECKING:
    from collections.abc import Callable

    from saliency_desktop.engine.models import LoadedModel
    from saliency_desktop.engine.types import Explanation

log = logging.getLogger("saliency_desktop.cli")

COMMANDS = ("gui", "explain", "models", "methods", "layers")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "saliency-desktop"


class UsageError(Exception):
    """Bad arguments found after parsing (exit status 2); the message is one line."""


def error(message: str) -> None:
    """One line on stderr, through tqdm so that a progress bar is not torn."""
    from tqdm import tqdm

    tqdm.write(f"{PROG}: {message}", file=sys.stderr)


class _StderrHandler(logging.Handler):
    """Writes to the current sys.stderr (so pytest's capture and tqdm both see it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never raise
            self.handleError(record)


def _setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("saliency_desktop")
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _number(text: str, kind: type, low: float, high: float, what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be {what}, not {text}")
    return value


def _unit_float(text: str) -> float:
    return _number(text, float, 0.0, 1.0, "between 0 and 1")


def _positive_int(text: str) -> int:
    return _number(text, int, 1, sys.maxsize, "a positive integer")


def _percentile(text: str) -> float:
    return _number(text, float, 1e-9, 100.0, "in (0, 100]")


def build_parser() -> argparse.ArgumentParser:
    from saliency_desktop.engine.catalogue import CATALOGUE, DEFAULT_MODEL
    from saliency_desktop.engine.models import PREPROCESSING
    from saliency_desktop.engine.registry import get_method, method_ids
    from saliency_desktop.render import maps

    method_ids()  # registers the methods in their display order before importing one of them
    from saliency_desktop.engine.methods.integrated import BASELINES, RULES

    model_help = f"catalogue id ({', '.join(CATALOGUE)}) or model file (default {DEFAULT_MODEL})"
    # fmt: off
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log details, with tracebacks, on stderr")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--preprocess", choices=list(PREPROCESSING), metavar="P",
                       help=f"preprocessing of a model file: {', '.join(PREPROCESSING)} "
                       "(default unit; catalogue models know their own)")
    model.add_argument("--labels", type=Path, metavar="FILE",
                       help="class names of a model file, one per line")
    model.add_argument("--trust-model", action="store_true",
                       help="allow a model file with custom code (Lambda layers) to load: "
                       "only for files from a source you trust")

    parser = argparse.ArgumentParser(
        prog=PROG, description="See where an image classifier is looking.",
        epilog="Without a command, the app opens (saliency-desktop gui).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", parents=[common, model], help="open the app (the default)")
    gui.add_argument("images", nargs="*", type=Path, metavar="IMAGE")
    gui.add_argument("--model", metavar="ID|PATH", help=model_help)
    gui.add_argument("--methods", type=_csv, metavar="LIST", help="method ids, comma-separated")
    gui.add_argument("--screenshot", type=Path, metavar="PNG",
                     help="save a screenshot of the window once results are shown, then quit")

    ex = sub.add_parser(
        "explain", parents=[common, model], help="explain images headless, write files",
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
    ig = ex.add_argument_group("Integrated Gradients")
    ig.add_argument("--ig-steps", type=_positive_int, default=50, metavar="N",
                    help="points on the path (default 50)")
    ig.add_argument("--ig-method", choices=RULES, default="gausslegendre",
                    help="integration rule (default gausslegendre)")
    ig.add_argument("--baseline", choices=BASELINES, default="black", help="default black")
    ig.add_argument("--seed", type=int, default=0, help="seed of the noise baseline")
    ig_params = {p.name: p for p in get_method("integrated_gradients").info.params}
    if "backend" in ig_params:  # optional implementations (e.g. alibi's)
        ig.add_argument("--ig-backend", choices=ig_params["backend"].choices,
                        help=f"implementation (default {ig_params['backend'].default})")
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
    fig.add_argument("--format", type=_csv, default=["png"], metavar="png,pdf,svg",
                     help="figure formats (default png)")
    fig.add_argument("--dpi", type=_positive_int, default=300, help="default 300")
    fig.add_argument("--grid", action="store_true",
                     help="also write grid.<format>: a row per image, a column per method")

    sub.add_parser("models", parents=[common], help="list the model catalogue")
    sub.add_parser("methods", parents=[common], help="list the saliency methods and papers")
    layers = sub.add_parser("layers", parents=[common, model],
                            help="list a model's layers eligible for CAM methods")
    layers.add_argument("model", metavar="MODEL", help=model_help)
    # fmt: on
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    """Insert `gui` when no command is given (`saliency-desktop photo.jpg` opens the app)."""
    for i, arg in enumerate(argv):
        if arg in ("-v", "--verbose"):
            continue
        if arg in COMMANDS or arg in ("-h", "--help", "--version"):
            return argv
        return [*argv[:i], "gui", *argv[i:]]
    return [*argv, "gui"]


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point; returns the exit status."""
    args_list = _with_default_command(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 for --help/--version
        return int(exc.code or 0)
    if args.command != "gui":  # the app sets up its own logging
        _setup_logging(args.verbose)
    commands = {
        "gui": cmd_gui,
        "explain": run_explain,
        "models": cmd_models,
        "methods": cmd_methods,
        "layers": cmd_layers,
    }
    try:
        return commands[args.command](args)
    except UsageError as exc:
        error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        error("interrupted.")
        return EXIT_INTERRUPTED


def gui_main() -> int:
    """The gui-script entry point (`saliency-desktop-gui [IMAGES...] [options]`)."""
    return main(["gui", *sys.argv[1:]])


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from saliency_desktop.ui.app import run
    except ModuleNotFoundError as exc:
        log.debug("cannot import the app", exc_info=True)
        missing = exc.name or "?"
        what = f"{missing} is not installed"
        if missing.startswith("saliency_desktop"):
            what = "the app is not part of this installation"
        error(f"cannot open the app: {what} (`saliency-desktop explain` works without it).")
        return EXIT_FAILED
    return int(
        run(
            images=list(args.images),
            model=args.model,
            methods=args.methods,
            screenshot=args.screenshot,
            preprocess=args.preprocess,
            labels=args.labels,
            trust_model=args.trust_model,
        )
    )


def cmd_methods(args: argparse.Namespace) -> int:
    from saliency_desktop.engine.registry import list_methods

    infos = list_methods()
    width = max(len(i.id) for i in infos) + 2
    lwidth = max(len(i.label) for i in infos) + 2
    for info in infos:
        print(f"{info.id:<{width}}{info.label:<{lwidth}}{info.paper}")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from saliency_desktop.engine import catalogue
    from saliency_desktop.engine.types import ModelError

    rows = []
    for entry in catalogue.CATALOGUE.values():
        if entry.kind == "embedded":
            try:
                catalogue.embedded_path(entry)
                status = "installed"
            except ModelError:
                status = "not installed"
        else:
            status = "cached" if catalogue.cached_weights(entry) else "downloaded on first use"
        h, w = entry.input_size
        rows.append((entry.id, entry.kind, f"{h}x{w}", status, entry.label))
    header = ("ID", "KIND", "INPUT", "WEIGHTS", "DESCRIPTION")
    widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(4)]
    for row in [header, *rows]:
        print("".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + row[4])
    print(f"\nImageNet weights are cached in {catalogue.keras_cache_dir()}.")
    print("A model file (.keras, .h5, SavedModel folder) can be given as a path instead of an id.")
    return EXIT_OK


def load_model_or_fail(spec: str, args: argparse.Namespace) -> LoadedModel:
    """The loaded model; an engine error becomes a UsageError (exit status 2, one line)."""
    from tqdm import tqdm

    from saliency_desktop.engine import load_model
    from saliency_desktop.engine.catalogue import CATALOGUE
    from saliency_desktop.engine.types import EngineError

    if spec in CATALOGUE and (args.preprocess or args.labels):
        error(f"note: --preprocess and --labels apply to model files; {spec} has its own.")
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
            preprocessing=args.preprocess,
            labels=args.labels,
            trust_model=args.trust_model,
            download_progress=progress,
        )
    except EngineError as exc:
        log.debug("model load failed", exc_info=True)
        raise UsageError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()


def cmd_layers(args: argparse.Namespace) -> int:
    model = load_model_or_fail(args.model, args)
    info = model.info
    if not info.layers:
        print(f"{info.label}: no layer is eligible for CAM methods (no 4-D feature map).")
        return EXIT_OK
    width = max(len(layer.path) for layer in info.layers) + 2
    for layer in info.layers:
        h, w, c = layer.shape
        default = "  (default)" if layer.path == info.default_layer else ""
        print(f"{layer.path:<{width}}{h}x{w}x{c}{default}")
    return EXIT_OK


def collect_images(inputs: Sequence[str], exclude: Path | None = None) -> list[Path]:
    """Files as given; folders walked recursively for image files, sorted, hidden ones skipped.

    Files under `exclude` (the output folder) are skipped in walks, so a second run does not
    explain the first run's figures.
    """
    from saliency_desktop.engine.images import is_image_name

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
    from saliency_desktop.engine.registry import method_ids
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
        ids = _csv(args.methods)
        unknown = [m for m in ids if m not in method_ids()]
        if unknown or not ids:
            raise UsageError(
                f"--methods: unknown {', '.join(unknown) or '(empty)'}; "
                f"known: all, {', '.join(method_ids())}."
            )
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder.")


def _check_model_args(model: LoadedModel, args: argparse.Namespace) -> tuple[list[str], int | None]:
    """Methods to run and the target index, checked once against the model (UsageError)."""
    from saliency_desktop.engine.explainer import resolve_layer
    from saliency_desktop.engine.registry import get_method, method_ids
    from saliency_desktop.engine.types import EngineError

    unavailable = model.info.unavailable
    if args.methods == "all":
        methods = [m for m in method_ids() if m not in unavailable]
        for mid, reason in unavailable.items():
            error(f"note: {mid} skipped: {reason}.")
    else:
        methods = list(dict.fromkeys(_csv(args.methods)))
        bad = [m for m in methods if m in unavailable]
        if bad:
            raise UsageError(f"{bad[0]} is not available for this model: {unavailable[bad[0]]}.")
    if not methods:
        raise UsageError("No method can run on this model.")
    try:
        target = None if args.target == "auto" else model.class_index(args.target)
        if any(get_method(m).info.needs_layer for m in methods):
            resolve_layer(model, args.layer)
        elif args.layer:
            error("note: --layer is used by CAM methods only; none is selected.")
    except EngineError as exc:
        raise UsageError(str(exc)) from None
    return methods, target


def _explain_one(
    model: LoadedModel,
    path: Path,
    base: Path,
    args: argparse.Namespace,
    params: dict[str, Any],
    style: dict[str, Any],
    settings: dict[str, Any],
    progress: Callable[[float, str], None],
) -> Explanation:
    """Explain one image and write its .npz, .json and report figure(s)."""
    from saliency_desktop.engine import explain
    from saliency_desktop.render.export import write_arrays
    from saliency_desktop.render.report import render_report

    e = explain(model, path, progress=progress, **params)
    extra = {"image": {"path": str(path)}, "settings": settings}
    write_arrays(e, base, model_spec=args.model, extra=extra, force=args.force)
    report = base.with_name(base.name + "_report")
    render_report(e, report, args.format, args.dpi, force=args.force, title=path.name, **style)
    return e


def _failure(path: Path, exc: Exception) -> str:
    """The one line shown for an image that failed."""
    from saliency_desktop.engine.types import EngineError
    from saliency_desktop.render.export import OutputExistsError

    if isinstance(exc, EngineError | OutputExistsError):
        text = str(exc)
        return text if text.startswith(path.name) else f"{path}: {text}"
    if isinstance(exc, OSError):
        return f"{path}: cannot write the results ({exc.strerror or exc})."
    return f"{path}: unexpected {type(exc).__name__}: {exc} (--verbose shows the traceback)."


def run_explain(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from saliency_desktop.render import maps
    from saliency_desktop.render.export import OutputExistsError, output_names, refuse_existing
    from saliency_desktop.render.figures import grid_row

    _check_explain_args(args)
    out: Path = args.out
    images = collect_images(args.inputs, exclude=out)
    if not images:
        raise UsageError("No image to explain.")
    names = output_names(images)
    formats = list(dict.fromkeys(args.format))
    planned = [out / f"{n}.{ext}" for n in names for ext in ("npz", "json")]
    planned += [out / f"{n}_report.{fmt}" for n in names for fmt in formats]
    planned += [out / f"grid.{fmt}" for fmt in formats] if args.grid else []
    try:
        refuse_existing(planned, args.force)
    except OutputExistsError as exc:
        raise UsageError(str(exc)) from None
    model = load_model_or_fail(args.model, args)
    methods, target = _check_model_args(model, args)
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
        methods=methods,
        target=target,
        score=args.score,
        layer=args.layer,
        top_k=max(5, len(model.info.labels)),
        n_steps=args.ig_steps,
        rule=args.ig_method,
        baseline=args.baseline,
        seed=args.seed,
    )
    if getattr(args, "ig_backend", None):
        params["backend"] = args.ig_backend
    rows: list[tuple[str, Explanation]] = []  # kept for the grid
    ok = failed = 0
    bar = tqdm(
        total=len(images),
        unit="image",
        file=sys.stderr,
        disable=None,
        delay=0.5,
        leave=False,
        bar_format="{l_bar}{bar}| {n:.1f}/{total} [{elapsed}<{remaining}]{postfix}",
    )
    try:
        for i, (path, name) in enumerate(zip(images, names, strict=True)):

            def progress(fraction: float, message: str, i: int = i, name: str = name) -> None:
                bar.n = i + fraction
                bar.set_postfix_str(f"{name}: {message}" if message else name, refresh=False)
                bar.refresh()

            progress(0.0, "")
            try:
                e = _explain_one(model, path, out / name, args, params, style, settings, progress)
                ok += 1
                if args.grid:
                    rows.append((path.name, grid_row(e, keep_attributions=args.rgb_gradients)))
            except Exception as exc:  # one line for the user, the traceback with --verbose
                log.debug("%s failed", path, exc_info=True)
                error(_failure(path, exc))
                failed += 1
            bar.n = i + 1
            bar.refresh()
        bar.close()
        if args.grid and rows:
            from saliency_desktop.render.figures import render_grid

            render_grid(
                [e for _, e in rows],
                out / "grid",
                [n for n, _ in rows],
                formats,
                args.dpi,
                force=args.force,
                **style,
            )
    except KeyboardInterrupt:
        bar.close()
        error(
            f"interrupted after {ok + failed} of {len(images)} image(s); "
            "every file written is complete."
        )
        return EXIT_INTERRUPTED
    tail = f"; {failed} failed." if failed else "."
    error(f"{ok} of {len(images)} image(s) explained into {out}{tail}")
    return EXIT_FAILED if failed else EXIT_OK
