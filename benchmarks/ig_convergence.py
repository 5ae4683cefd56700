"""Integrated Gradients' completeness gap on the sample photos, fixed steps against n_steps="auto".

    python benchmarks/ig_convergence.py [--steps 50] [PHOTO ...]

For each photo (default: the dog photos in saliency_desktop/resources/samples), with the
dog-breeds model, the black baseline and the top class: the convergence delta
delta = sum(attributions) - (S(x) - S(x')), its relative size |delta| / |S(x) - S(x')|, and the
gradient evaluations, at `--steps` Gauss-Legendre steps and with the adaptive default
(tolerance 5 %, at most 1,024 evaluations). Prints a Markdown table (the README's).
"""

from __future__ import annotations

import argparse
import os
from importlib import resources
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def ig_row(model: object, photo: str, n_steps: int | str) -> tuple[float, float, int, float]:
    """(delta, relative delta, gradient evaluations, seconds) of IG with n_steps."""
    from saliency_desktop.engine import explain

    params = {"n_steps": n_steps, "rule": "gausslegendre", "baseline": "black"}
    result = explain(model, photo, methods=["integrated_gradients"],
                     params={"integrated_gradients": params})  # fmt: skip
    m = result.methods["integrated_gradients"]
    steps = m.extras.get("steps", n_steps)
    return m.extras["convergence_delta"], m.extras["relative_delta"], int(steps), m.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("photos", nargs="*")
    args = parser.parse_args()
    from saliency_desktop.engine import load_model

    samples = Path(str(resources.files("saliency_desktop.resources").joinpath("samples")))
    photos = args.photos or sorted(str(p) for p in samples.glob("dog_*.jpg"))
    model = load_model("dog-breeds")
    print(
        f"| photo | δ, {args.steps} GL steps | \\|δ\\| / \\|S(x) − S(x')\\| | "
        "δ, auto | \\|δ\\| / \\|S(x) − S(x')\\|, auto | evaluations, auto | seconds (fixed, auto) |"
    )
    print("|---|---|---|---|---|---|---|")
    for photo in photos:
        d0, r0, _, t0 = ig_row(model, photo, args.steps)
        d1, r1, n1, t1 = ig_row(model, photo, "auto")
        print(
            f"| {Path(photo).name} | {d0:+.3f} | {100 * r0:.1f} % | {d1:+.3f} | "
            f"{100 * r1:.2f} % | {n1} | {t0:.1f}, {t1:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
