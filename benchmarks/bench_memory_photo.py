"""Peak RSS of `explain --methods all` on a big photo, stage by stage (issue 14's memory target).

    python benchmarks/bench_memory_photo.py PHOTO [--model dog-breeds] [--out DIR]

Prints the resident set size and the process's peak after each stage: model loaded, photo
decoded, each method's result, the .npz/.json written, the report written. Make a 12-megapixel
photo with Pillow, e.g. `Image.open(sample).resize((4000, 3000)).save("/tmp/photo.jpg")`.
SALIENCY_DESKTOP_BATCH_MB sets the batch budget (CPU default 1,536 MB). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _gb_now() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def mark(what: str) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(f"{what:40s} rss {_gb_now():.2f} GB  peak {peak:.2f} GB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo")
    parser.add_argument("--model", default="dog-breeds")
    parser.add_argument("--out", help="folder for the outputs (default: a temporary one)")
    args = parser.parse_args()
    mark("start")
    from saliency_desktop.engine import explain, load_image, load_model
    from saliency_desktop.render.export import write_arrays
    from saliency_desktop.render.report import render_report

    model = load_model(args.model)
    mark("model loaded")
    load_image(args.photo)  # decoded, then dropped: its peak is what counts
    mark("photo decoded")
    e = explain(model, args.photo, methods="all", on_result=lambda r: mark(f"  {r.method}"))
    mark("explained")
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-memory-"))
    out.mkdir(parents=True, exist_ok=True)
    write_arrays(e, out / "photo", args.model, {}, True)
    mark(".npz and .json written")
    render_report(e, out / "photo_report", ["png"], force=True)
    mark("report written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
