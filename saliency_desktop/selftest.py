"""`saliency-desktop --self-test`: prove an installation (or the bundle) works, headless.

Loads the default model, computes every registered method on the bundled sample photo, writes
the same files `saliency-desktop explain` writes (.npz, .json and the report figure) into a
temporary folder, checks them, and prints ONE line:

    self-test ok: 7 methods, top-1 Chihuahua 0.43, report 1044x523 px, device CPU (...), 11.5 s
    self-test FAILED: <reason>

Exit status 0 or 1. No Qt is imported; TensorFlow only through the engine. The sample is read
through `importlib.resources`, which PyInstaller's frozen importer serves from the bundle.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

SAMPLE = "chelsea.png"
REPORT_DPI = 100


def quick_params() -> dict[str, dict[str, object]]:
    """Each method's `ParamInfo.quick` values (a few IG steps, a few RISE masks, ...): enough
    to prove a method runs; the papers' defaults are for real use."""
    from saliency_desktop.engine import list_methods

    found = {
        i.id: {p.name: p.quick for p in i.params if p.quick is not None} for i in list_methods()
    }
    return {mid: values for mid, values in found.items() if values}


class SelfTestError(Exception):
    """A check that failed; the message is the reason printed after `self-test FAILED:`."""


@contextlib.contextmanager
def sample_path(name: str | None = None) -> Iterator[Path]:
    """A real file path for a bundled sample (extracted to a temporary file if need be)."""
    name = name or SAMPLE
    ref = resources.files("saliency_desktop.resources").joinpath("samples").joinpath(name)
    if not ref.is_file():
        raise SelfTestError(f"the bundled sample {name} is missing")
    with resources.as_file(ref) as path:
        yield Path(path)


def check_finite(explanation: object, expected: Sequence[str]) -> None:
    methods = explanation.methods  # type: ignore[attr-defined]
    missing = [m for m in expected if m not in methods]
    if missing:
        raise SelfTestError(f"methods without a result: {', '.join(missing)}")
    for mid, result in methods.items():
        for kind in ("map", "attributions", "cam"):
            array = getattr(result, kind)
            if array is not None and not np.all(np.isfinite(array)):
                raise SelfTestError(f"{mid}: the {kind} has NaN or infinite values")
        if result.map.ndim != 2 or result.map.size == 0:
            raise SelfTestError(f"{mid}: the map has shape {result.map.shape}, not (H, W)")


def _check_files(base: Path, report: Path, expected: Sequence[str], device: str) -> tuple[int, int]:
    """Read back what was written; return the report's size in pixels."""
    npz, js = base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")
    for path in (npz, js, report):
        if not path.is_file() or path.stat().st_size == 0:
            raise SelfTestError(f"{path.name} was not written")
    with np.load(npz, allow_pickle=False) as arrays:
        for mid in expected:
            key = f"{mid}.map"
            if key not in arrays.files or not np.all(np.isfinite(arrays[key])):
                raise SelfTestError(f"{npz.name}: {key} is missing or not finite")
    record = json.loads(js.read_text(encoding="utf-8"))
    if sorted(record.get("methods", {})) != sorted(expected):
        raise SelfTestError(f"{js.name} does not list the {len(expected)} methods")
    if record.get("device") != device:
        raise SelfTestError(f"{js.name} names the device {record.get('device')!r}, not {device!r}")
    return check_report_image(report)


def check_report_image(path: Path) -> tuple[int, int]:
    """The report's size in pixels; raises SelfTestError when it is tiny or blank."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        size = image.size
        grey = np.asarray(image.convert("L"), dtype=np.float32)
    if min(size) < 100:
        raise SelfTestError(f"the report is only {size[0]}x{size[1]} px")
    # A report is a white page with pictures: blank (or one flat colour) means nothing was drawn.
    if grey.std() < 5.0 or len(np.unique(grey[::4, ::4])) < 64:
        raise SelfTestError("the report image is blank")
    return size


def run(out_dir: Path, model_id: str | None = None) -> str:
    """Run the checks, writing into `out_dir`; return the summary (raises SelfTestError)."""
    from saliency_desktop.engine import DEFAULT_MODEL, EngineError, explain, load_model, method_ids
    from saliency_desktop.render.export import write_arrays
    from saliency_desktop.render.report import render_report

    start = time.perf_counter()
    model_id = model_id or DEFAULT_MODEL
    expected = list(method_ids())
    with sample_path() as photo:
        try:
            model = load_model(model_id)
        except EngineError as exc:
            raise SelfTestError(f"cannot load the model {model_id}: {exc}") from None
        if model.info.unavailable:
            reasons = "; ".join(f"{m}: {r}" for m, r in model.info.unavailable.items())
            raise SelfTestError(f"{model_id} cannot run every method ({reasons})")
        try:
            explanation = explain(model, photo, methods="all", params=quick_params())
        except EngineError as exc:
            raise SelfTestError(f"cannot explain {photo.name}: {exc}") from None
    check_finite(explanation, expected)
    base = out_dir / Path(SAMPLE).stem
    write_arrays(
        explanation, base, model_spec=model_id, extra={"settings": {"self_test": True}}, force=True
    )
    reports = render_report(
        explanation,
        base.with_name(base.name + "_report"),
        ("png",),
        REPORT_DPI,
        title=f"self-test: {SAMPLE}",
        force=True,
    )
    width, height = _check_files(base, reports[0], expected, explanation.device)
    top = explanation.top_k[0]
    seconds = time.perf_counter() - start
    return (
        f"{len(explanation.methods)} methods, top-1 {top.label} {top.probability:.2f}, "
        f"report {width}x{height} px, device {explanation.device}, {seconds:.1f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print one line, `self-test ok: ...` (exit 0) or `self-test FAILED: reason` (exit 1).

    `--keep DIR` writes into DIR instead of a temporary folder (to look at the report).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    args = [a for a in args if a not in ("--self-test", "-v", "--verbose")]
    keep = None
    if args[:1] == ["--keep"] and len(args) == 2:
        keep = Path(args[1])
    elif args:
        print(f"self-test FAILED: unexpected arguments {' '.join(args)}", flush=True)
        return 1
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            summary = run(keep)
        else:
            with tempfile.TemporaryDirectory(prefix="saliency-self-test-") as tmp:
                summary = run(Path(tmp))
    except SelfTestError as exc:
        print(f"self-test FAILED: {exc}", flush=True)
        return 1
    except Exception as exc:  # a bug: one line on stdout, the traceback on stderr
        traceback.print_exc(file=sys.stderr)
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", flush=True)
        return 1
    print(f"self-test ok: {summary}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
