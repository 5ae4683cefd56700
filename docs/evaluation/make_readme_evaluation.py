"""The README's "Which map can I trust?" figure, table and data, from `evaluate` output folders.

    python docs/evaluation/make_readme_evaluation.py trust/dog_in_towel trust/dog_on_porch ...

Each folder is one `saliency-desktop evaluate` run (the README runs one photo per folder, so a
finished photo keeps its results while the next one computes). This merges them without
recomputing anything: `docs/images/evaluation.png` (the same figure `evaluate` draws for all
the photos at once), `docs/evaluation/metrics.csv` and `metrics.json` (the runs' records, their
images concatenated; the per-image .npz maps stay out of the repository), and prints the
README's table (mean and 95 % t-interval over the photos) and the time each metric took.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = (
    ("deletion_auc", "deletion AUC ↓"),
    ("insertion_auc", "insertion AUC ↑"),
    ("road_gap", "ROAD gap ↑"),
    ("randomization_mean", "randomisation, cascade mean ↓"),
    ("randomization", "all layers random ↓"),
    ("random_logit", "random logit ↓"),
)


def _cell(values: list[float]) -> str:
    from saliency_desktop.render.evaluation_rows import mean_interval

    mean, half = mean_interval(values)
    return f"{mean:.2f} ± {half:.2f}" if len(values) > 1 else f"{mean:.2f}"


def table(rows: list) -> str:
    """Markdown: each method's scores (mean ± 95 % half-width) and its sanity-check verdict."""
    from saliency_desktop.render.evaluation_rows import mean_interval, method_order
    from saliency_desktop.render.panels import method_label
    from saliency_desktop.render.trust_text import SANITY_THRESHOLD

    head = "| method | " + " | ".join(c for _, c in COLUMNS) + " | sanity check |"
    lines = [head, "|---" * (len(COLUMNS) + 2) + "|"]
    for mid in method_order(rows):
        cells = []
        for key, _ in COLUMNS:
            cells.append(_cell([ev.scores(mid)[key] for _, ev, _ in rows if key in ev.scores(mid)]))
        mean, half = mean_interval([ev.scores(mid)["randomization_mean"] for _, ev, _ in rows])
        verdict = "passes" if mean < SANITY_THRESHOLD else "fails"
        if mean - half < SANITY_THRESHOLD < mean + half:
            verdict += " (interval spans 0.5)"
        lines.append(f"| {method_label(mid)} | " + " | ".join(cells) + f" | {verdict} |")
    return "\n".join(lines)


def timing(rows: list) -> str:
    """Markdown: seconds per method and metric, mean over the photos."""
    from saliency_desktop.engine.metric_types import METRICS
    from saliency_desktop.render.evaluation_rows import method_order
    from saliency_desktop.render.panels import method_label

    lines = ["| method | " + " | ".join(METRICS) + " | total |", "|---" * (len(METRICS) + 2) + "|"]
    for mid in method_order(rows):
        per = [np.mean([ev.results[mid][m].extras.get("seconds", np.nan) for _, ev, _ in rows])
               for m in METRICS]  # fmt: skip
        lines.append(f"| {method_label(mid)} | " + " | ".join(f"{s:.0f}" for s in per)
                     + f" | {np.nansum(per):.0f} |")  # fmt: skip
    return "\n".join(lines)


def merge_records(folders: list[Path], out: Path) -> None:
    records = [json.loads((f / "metrics.json").read_text(encoding="utf-8")) for f in folders]
    merged = dict(records[0], images=[im for r in records for im in r["images"]])
    pairs = zip(folders, records, strict=True)
    merged["runs"] = [{"folder": f.name, "created": r["created"]} for f, r in pairs]
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(merged, indent=1) + "\n", encoding="utf-8")
    rows: list[list[str]] = []
    for f in folders:
        with open(f / "metrics.csv", newline="", encoding="utf-8") as fh:
            rows.extend(list(csv.reader(fh))[1:])
    with open(out / "metrics.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["image", "method", "metric", "value"])
        writer.writerows(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--dpi", type=int, default=110)
    parser.add_argument("--figure", type=Path, default=ROOT / "docs/images/evaluation")
    parser.add_argument("--data", type=Path, default=ROOT / "docs/evaluation")
    args = parser.parse_args()

    from saliency_desktop.render.evaluation import render_evaluation
    from saliency_desktop.render.evaluation_load import load_many

    rows = load_many(args.folders)
    title = f"Which map can I trust? The {len(rows)} dog photos, every method"
    render_evaluation(rows, args.figure, ["png"], args.dpi, force=True, title=title)
    merge_records(args.folders, args.data)
    print(table(rows), timing(rows), sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
