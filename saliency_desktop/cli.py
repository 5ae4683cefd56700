"""The command line: `saliency-desktop [gui|explain|models|methods|layers|classes] ...`.

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

from saliency_desktop import __version__
from saliency_desktop.batch import check_methods_arg, load_model_or_fail
from saliency_desktop.cli_activations import add_commands as add_activation_commands
from saliency_desktop.cli_activations import run_activations
from saliency_desktop.cli_common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    UsageError,
    csv_list,
    error,
)
from saliency_desktop.evaluate_cmd import add_evaluate_parser, run_evaluate
from saliency_desktop.explain_cmd import add_explain_parser, run_explain
from saliency_desktop.predict_cmd import add_predict_parser, run_predict

log = logging.getLogger("saliency_desktop.cli")

COMMANDS = (
    "gui", "explain", "evaluate", "predict", "models", "methods", "layers", "classes",
    "activations",
)  # fmt: skip


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


def build_parser() -> argparse.ArgumentParser:
    from saliency_desktop.engine import CATALOGUE, DEFAULT_MODEL, PREPROCESSING

    model_spec = f"catalogue id ({', '.join(CATALOGUE)}) or model file"
    model_help = f"{model_spec} (default {DEFAULT_MODEL})"
    # fmt: off
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log details, with tracebacks, on stderr")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--preprocessing", choices=list(PREPROCESSING), metavar="P",
                       help=f"preprocessing of a model file: {', '.join(PREPROCESSING)} "
                       "(default unit; catalogue models know their own)")
    model.add_argument("--preprocess", choices=list(PREPROCESSING), dest="preprocessing",
                       help=argparse.SUPPRESS)  # the old name, kept working
    model.add_argument("--labels", type=Path, metavar="FILE",
                       help="class names of a model file, one per line")
    model.add_argument("--output-index", type=int, metavar="N",
                       help="for a model file with several outputs: the one to explain "
                       "(explain and layers; the app takes single-output models)")
    model.add_argument("--backend", choices=["tensorflow", "jax", "torch"],
                       help="Keras backend to run the model on (default tensorflow, or "
                       "SALIENCY_DESKTOP_BACKEND); jax and torch need the [jax]/[torch] extras")
    model.add_argument("--trust-model", action="store_true",
                       help="allow a model file with custom code (Lambda layers, imports, "
                       "a SavedModel graph with file or Python ops) to load: only for files "
                       "from a source you trust")

    parser = argparse.ArgumentParser(
        prog=PROG, description="See where an image classifier is looking.",
        epilog="Without a command, the app opens (saliency-desktop gui).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--self-test", action="store_true",
        help="check this installation headless: default model, every method on a bundled "
        "photo, a report written and checked; prints one line, exits 0 or 1")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", parents=[common, model], help="open the app (the default)")
    gui.add_argument("images", nargs="*", type=Path, metavar="IMAGE")
    gui.add_argument("--model", metavar="ID|PATH", help=model_help)
    gui.add_argument("--methods", type=csv_list, metavar="all|ID,ID,...",
                     help="methods to check (`saliency-desktop methods`; default: as last time)")
    gui.add_argument("--screenshot", type=Path, metavar="PNG",
                     help="save a screenshot of the window once results are shown, then quit")

    ex = add_explain_parser(sub, [common, model], model_help)

    add_predict_parser(sub, [common, model], model_help)
    add_evaluate_parser(sub, [common, model])
    sub.add_parser("models", parents=[common], help="list the model catalogue")
    sub.add_parser("methods", parents=[common], help="list the saliency methods and papers")
    layers = sub.add_parser("layers", parents=[common, model],
                            help="list a model's layers eligible for CAM methods")
    layers.add_argument("model", metavar="MODEL", help=model_spec)
    classes = sub.add_parser("classes", parents=[common, model],
                             help="list a model's classes: index and label",
                             description="Every class the model predicts, one per line: the "
                             "index and the label that --target accepts.")
    classes.add_argument("model", metavar="MODEL", help=model_spec)
    add_activation_commands(sub, ex, [common, model])  # activations; explain --boxes, --contrast
    # fmt: on
    for subparser in sub.choices.values():  # an unknown option shows the command's usage
        subparser.set_defaults(command_parser=subparser)
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
    raw = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in raw:
        from saliency_desktop.selftest import main as self_test

        return self_test(raw)  # ignores --self-test/-v/--verbose; accepts --keep DIR
    args_list = _with_default_command(raw)
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(args_list)
        if unknown:  # the subcommand's usage, not the top-level one
            getattr(args, "command_parser", parser).error(
                f"unrecognized arguments: {' '.join(unknown)}"
            )
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 for --help/--version
        return int(exc.code or 0)
    if args.command != "gui":  # the app sets up its own logging
        _setup_logging(args.verbose)
    if not _choose_backend(getattr(args, "backend", None)):
        return EXIT_USAGE
    commands = {
        "gui": cmd_gui,
        "explain": run_explain,
        "predict": run_predict,
        "evaluate": run_evaluate,
        "models": cmd_models,
        "methods": cmd_methods,
        "layers": cmd_layers,
        "classes": cmd_classes,
        "activations": run_activations,
    }
    try:
        return commands[args.command](args)
    except UsageError as exc:
        error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        error("interrupted.")
        return EXIT_INTERRUPTED


def _choose_backend(name: str | None) -> bool:
    """Set KERAS_BACKEND (from --backend or SALIENCY_DESKTOP_BACKEND) before Keras loads."""
    import os

    from saliency_desktop.engine import BACKEND_ENV, choose_backend
    from saliency_desktop.engine.types import EngineError

    if name is None and not os.environ.get(BACKEND_ENV):
        return True  # the default (TensorFlow), or whatever this process already runs
    try:
        choose_backend(name)
    except EngineError as exc:
        error(str(exc))
        return False
    return True


def gui_main() -> int:
    """The gui-script entry point (`saliency-desktop-gui [IMAGES...] [options]`)."""
    return main(["gui", *sys.argv[1:]])


def _no_display() -> bool:
    """On Linux, no X11 or Wayland display and no Qt platform chosen: a window cannot open."""
    import os

    return (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    )


def _gui_methods(methods: list[str] | None) -> list[str] | None:
    """`--methods` of the app checked like explain's: `all` is every method, in registry order."""
    from saliency_desktop.engine import method_ids

    if methods is None:
        return None
    if methods == ["all"]:
        return method_ids()
    check_methods_arg(",".join(methods))
    return methods


def cmd_gui(args: argparse.Namespace) -> int:
    methods = _gui_methods(args.methods)
    if _no_display():
        if args.screenshot is None:
            raise UsageError(
                "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                "`saliency-desktop explain` makes the figures headless."
            )
        import os

        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    if args.output_index is not None:
        raise UsageError(
            "--output-index works with explain and layers; the app takes single-output models."
        )
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
            methods=methods,
            screenshot=args.screenshot,
            preprocess=args.preprocessing,
            labels=args.labels,
            trust_model=args.trust_model,
        )
    )


def cmd_methods(args: argparse.Namespace) -> int:
    from saliency_desktop.engine import list_methods

    infos = list_methods()
    width = max(len(i.id) for i in infos) + 2
    lwidth = max(len(i.label) for i in infos) + 2
    for info in infos:
        print(f"{info.id:<{width}}{info.label:<{lwidth}}{info.paper}")
        if getattr(args, "verbose", False):
            for p in info.params:
                choices = f" ({'|'.join(p.choices)})" if p.choices else ""
                print(f"    --param {info.id}.{p.name}=... default {p.default}{choices}: {p.help}")
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from saliency_desktop.engine import (
        CATALOGUE,
        ModelError,
        cached_weights,
        embedded_path,
        keras_cache_dir,
    )

    rows = []
    for entry in CATALOGUE.values():
        if entry.kind == "embedded":
            try:
                embedded_path(entry)
                status = "installed"
            except ModelError:
                status = "not installed"
        else:
            status = "cached" if cached_weights(entry) else "downloaded on first use"
        h, w = entry.input_size
        rows.append((entry.id, entry.kind, f"{h}x{w}", status, entry.label))
    header = ("ID", "KIND", "INPUT", "WEIGHTS", "DESCRIPTION")
    widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(4)]
    for row in [header, *rows]:
        print("".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + row[4])
    print(f"\nImageNet weights are cached in {keras_cache_dir()}.")
    print("A model file (.keras, .h5, SavedModel folder) can be given as a path instead of an id.")
    return EXIT_OK


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


def cmd_classes(args: argparse.Namespace) -> int:
    model = load_model_or_fail(args.model, args)
    labels = model.info.labels
    width = len(str(model.n_classes - 1)) + 2
    for index in range(model.n_classes):
        label = labels[index] if index < len(labels) else ""
        print(f"{index:<{width}}{label}".rstrip())
    if not labels:
        error("note: this model has no labels (--labels FILE gives them, one per line).")
    return EXIT_OK
