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

log = logging.getLogger("saliency_desktop.cli")


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


def check_methods_arg(text: str) -> None:
    """`--methods all` or known ids, comma-separated; a UsageError naming the known ones."""
    from saliency_desktop.engine import method_ids

    if text == "all":
        return
    ids = csv_list(text)
    unknown = [m for m in ids if m not in method_ids()]
    if unknown or not ids:
        raise UsageError(
            f"--methods: unknown {', '.join(unknown) or '(empty)'}; "
            f"known: all, {', '.join(method_ids())}."
        )


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


def failure_line(path: Path, exc: BaseException) -> str:
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


class Tally:
    """A batch command's count of images done and failed; `fail` says why in one line."""

    def __init__(self, images: Sequence[Path]) -> None:
        self.images = images
        self.ok = 0
        self.failed = 0

    def fail(self, i: int, exc: BaseException) -> None:
        log.debug("%s failed", self.images[i], exc_info=exc)  # the traceback with --verbose
        error(failure_line(self.images[i], exc))
        self.failed += 1


def run_local(
    model: LoadedModel,
    images: Sequence[Path],
    names: Sequence[str],
    work: tuple[str, dict[str, Any]],
    deliver: Callable[[int, Any], None],
    fail: Callable[[int, BaseException], None],
    bar: Any,
    *,
    announce: bool = False,
) -> None:
    """Each image's `work` (kind, keywords: see `compute.run_work`) here, one after the other,
    as `cluster.driver.run_on_ray` does on a cluster (--ray; the commands choose which):
    `deliver(i, result)` or `fail(i, exc)`, and the bar advances an image at a time.
    `announce`: the image's name shows on the bar before its first progress report."""
    from saliency_desktop.compute import run_work

    kind, kwargs = work
    for i, (path, name) in enumerate(zip(images, names, strict=True)):
        progress = image_progress(bar, i, name)
        if announce:
            progress(0.0, "")
        try:
            result = run_work(kind, model, path, kwargs, progress)
        except Exception as exc:
            fail(i, exc)
        else:
            deliver(i, result)
        bar.n = i + 1
        bar.refresh()
