"""`saliency-desktop evaluate`: faithfulness metrics and sanity checks for a list of images.

Writes into --out: `<stem>.npz` (each method's `<id>.map` as `explain` writes it, plus every
curve), `metrics.csv` (image, method, metric, value), `metrics.json` (all curves, parameters,
versions; `resources/metrics.schema.json`) and `evaluation.<format>` (the figure). Same folders,
exit codes, atomic writes and --force as `explain`.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saliency_desktop.batch import (
    Tally,
    UsageError,
    batch_inputs,
    batch_interrupted,
    batch_summary,
    check_methods_arg,
    check_model_args,
    csv_list,
    image_bar,
    load_model_or_fail,
    refuse_planned,
    run_local,
)
from saliency_desktop.cli_params import method_param, params_by_method
from saliency_desktop.cluster import add_cluster_arguments

if TYPE_CHECKING:
    import numpy as np

    from saliency_desktop.engine.metric_types import Evaluation
    from saliency_desktop.engine.types import Explanation

METRICS_SCHEMA_RESOURCE = "metrics.schema.json"


def add_evaluate_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """The `evaluate` subcommand, added to the CLI's subparsers."""
    from saliency_desktop.engine import DEFAULT_MODEL
    from saliency_desktop.engine.metric_types import METRICS

    # fmt: off
    ev = sub.add_parser(
        "evaluate", parents=parents, help="which map can I trust? faithfulness metrics",
        description="For each image, explain it, then measure each map: deletion and insertion "
        "(Petsiuk et al. 2018), ROAD (Rong et al. 2022), model randomisation (Adebayo et al. "
        "2018) and random logit (Sixt et al. 2020). Writes <stem>.npz, metrics.csv, "
        "metrics.json and evaluation.<format> into --out.")
    ev.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR",
                    help="image files, or folders (searched recursively, in sorted order)")
    ev.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    ev.add_argument("--model", default=DEFAULT_MODEL, metavar="ID|PATH",
                    help=f"catalogue id or model file (default {DEFAULT_MODEL})")
    ev.add_argument("--methods", default="all", metavar="all|ID,ID,...",
                    help="methods to evaluate (default all)")
    ev.add_argument("--metrics", default="all", metavar="all|NAME,...",
                    help=f"metrics: {', '.join(METRICS)} (default all)")
    ev.add_argument("--target", default="auto", metavar="auto|INDEX|LABEL",
                    help="class to explain (default auto: the top prediction)")
    ev.add_argument("--layer", metavar="PATH", help="CAM layer (default: the last eligible)")
    ev.add_argument("--score", choices=("logit", "probability"), default="logit",
                    help="what the gradients are taken of (default logit)")
    ev.add_argument("--param", action="append", type=method_param, default=[],
                    metavar="ID.NAME=VALUE", help="a parameter of one method (repeatable)")
    ev.add_argument("--seed", type=int, default=0,
                    help="seed of ROAD's noise, the random weights and the random class")
    ev.add_argument("--randomization-steps", type=int, default=8, metavar="N",
                    help="layer groups randomised in turn, output layer first (default 8)")
    ev.add_argument("--format", type=csv_list, default=["png"], metavar="png,pdf,svg",
                    help="figure formats (default png)")
    ev.add_argument("--dpi", type=int, default=200, help="default 200")
    ev.add_argument("--force", action="store_true", help="overwrite existing files")
    ev.add_argument("--contrast", help=argparse.SUPPRESS)  # refused with a reason (_check_args)
    # fmt: on
    add_cluster_arguments(ev)


CONTRAST_REFUSED = (
    "--contrast: evaluate measures maps of one class's score (deletion, insertion, ROAD and "
    "randomization follow that class's probability); A vs B maps are made by "
    "`explain --contrast` and are not evaluated."
)


def _check_args(args: argparse.Namespace) -> list[str]:
    from saliency_desktop.engine.metric_types import METRICS
    from saliency_desktop.render.panels import FORMATS

    if args.contrast is not None:
        raise UsageError(CONTRAST_REFUSED)
    metrics = (
        list(METRICS) if args.metrics == "all" else list(dict.fromkeys(csv_list(args.metrics)))
    )
    bad = [m for m in metrics if m not in METRICS]
    if bad or not metrics:
        raise UsageError(
            f"--metrics: unknown {', '.join(bad) or '(empty)'}; known: all, {', '.join(METRICS)}."
        )
    bad = [f for f in args.format if f not in FORMATS]
    if bad or not args.format:
        raise UsageError(f"--format: use png, pdf and/or svg, not {','.join(bad) or 'nothing'}.")
    if not 1 <= args.randomization_steps <= 64 or args.dpi < 1:
        raise UsageError("--randomization-steps must be 1..64 and --dpi positive.")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder.")
    check_methods_arg(args.methods)
    return metrics


def curve_arrays(ev: Evaluation) -> dict[str, np.ndarray]:
    """`<id>.<metric>.<curve>` (2, n): x then y; `<id>.randomization.maps` (steps+1, H, W)."""
    import numpy as np

    out: dict[str, np.ndarray] = {}
    for mid, by_metric in ev.results.items():
        for metric, r in by_metric.items():
            for name, c in r.curves.items():
                out[f"{mid}.{metric}.{name}"] = np.stack([c.x, c.y]).astype(np.float64)
            if "maps" in r.extras:
                out[f"{mid}.{metric}.maps"] = np.asarray(r.extras["maps"], np.float32)
            if "map" in r.extras:
                out[f"{mid}.{metric}.map"] = np.asarray(r.extras["map"], np.float32)
    return out


def write_npz(e: Explanation, ev: Evaluation, path: Path, force: bool) -> None:
    import numpy as np

    from saliency_desktop.render.export import atomic_file

    arrays: dict[str, np.ndarray] = {"input": np.asarray(e.input)}
    for mid in ev.results:
        arrays[f"{mid}.map"] = np.asarray(e.methods[mid].map)
    arrays.update(curve_arrays(ev))
    with atomic_file(path, "wb", force) as f:
        np.savez_compressed(f, allow_pickle=False, **arrays)


def csv_rows(name: str, ev: Evaluation) -> list[tuple[str, str, str, float]]:
    return [(name, mid, k, v) for mid in ev.results for k, v in ev.scores(mid).items()]


def image_record(path: Path, name: str, e: Explanation, ev: Evaluation) -> dict[str, Any]:
    """One image's entry in metrics.json: target, and per method its scores and curves."""
    methods: dict[str, Any] = {}
    for mid, by_metric in ev.results.items():
        entry: dict[str, Any] = {"params": e.methods[mid].params, "metrics": {}}
        for metric, r in by_metric.items():
            m: dict[str, Any] = {"scores": r.scores, "curves": {}}
            for cname, c in r.curves.items():
                m["curves"][cname] = {"x": c.x.tolist(), "y": c.y.tolist()}
            for key in ("layers", "other_class", "other_label", "seconds"):
                if key in r.extras:
                    m[key] = r.extras[key]
            entry["metrics"][metric] = m
        methods[mid] = entry
    return {
        "path": str(path),
        "name": name,
        "target": {"index": int(e.target), "label": e.target_label},
        "layer": e.layer,
        "score": e.score,
        "seconds": ev.seconds,
        "methods": methods,
    }


def _write_tables(out: Path, rows: list, records: list, args: argparse.Namespace, model) -> None:
    import datetime

    from saliency_desktop.engine import versions
    from saliency_desktop.render.export import atomic_file, jsonable, write_json

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["image", "method", "metric", "value"])
    writer.writerows((i, m, k, f"{v:.6g}") for i, m, k, v in rows)
    with atomic_file(out / "metrics.csv", "w", args.force) as f:
        f.write(text.getvalue())
    record = {
        "schema_version": 1,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "model": {"id": model.info.id, "spec": args.model, "label": model.info.label,
                  "sha256": model.info.sha256, "input_size": list(model.info.input_size)},
        "parameters": {"metrics": args.metric_list, "methods": args.methods, "seed": args.seed,
                       "randomization_steps": args.randomization_steps, "score": args.score,
                       "target": args.target, "deletion_steps": 100,
                       "insertion_blur": {"kernel": [11, 11], "sigma": 5},
                       "road_percents": list(range(10, 100, 10)), "road_noise": 0.01},
        "versions": versions(),
        "images": records,
    }  # fmt: skip
    write_json(jsonable(record), out / "metrics.json", args.force)


def run_evaluate(args: argparse.Namespace) -> int:
    from saliency_desktop.cluster import check_cluster_args
    from saliency_desktop.cluster.driver import run_on_ray
    from saliency_desktop.render.evaluation import render_evaluation

    args.metric_list = _check_args(args)
    check_cluster_args(args)
    out, images, names, formats = batch_inputs(args, "evaluate")
    planned = [out / f"{n}.npz" for n in names] + [out / "metrics.csv", out / "metrics.json"]
    planned += [out / f"evaluation.{fmt}" for fmt in formats]
    refuse_planned(planned, args.force)
    model = load_model_or_fail(args.model, args)
    methods, target = check_model_args(model, args)
    out.mkdir(parents=True, exist_ok=True)
    kwargs = {"explain": dict(methods=methods, target=target, score=args.score, layer=args.layer,
                              params=params_by_method(args.param)),
              "evaluate": dict(metrics=args.metric_list, seed=args.seed,
                               randomization_steps=args.randomization_steps)}  # fmt: skip
    results: dict[int, tuple[Explanation, Evaluation]] = {}  # by input index, for the tables
    tally = Tally(images)

    def deliver(i: int, result: tuple[Explanation, Evaluation]) -> None:
        try:
            write_npz(*result, out / f"{names[i]}.npz", args.force)
        except Exception as exc:  # one line for the user
            tally.fail(i, exc)
            return
        results[i] = result

    bar = image_bar(len(images))
    try:
        if getattr(args, "ray", None):
            run_on_ray(args, model, images, ("evaluate", kwargs), deliver, tally.fail, bar)
        else:
            run_local(model, images, names, ("evaluate", kwargs), deliver, tally.fail, bar)
        bar.close()
        done = [(images[i].name, results[i][1], results[i][0]) for i in sorted(results)]
        if done:
            rows = [r for i in sorted(results) for r in csv_rows(images[i].name, results[i][1])]
            records = [image_record(images[i], names[i], *results[i]) for i in sorted(results)]
            _write_tables(out, rows, records, args, model)
            render_evaluation(done, out / "evaluation", formats, args.dpi, force=args.force)
    except KeyboardInterrupt:
        return batch_interrupted(bar, len(results) + tally.failed, len(images))
    return batch_summary("evaluated", len(results), tally.failed, len(images), out)


def schema() -> dict[str, Any]:
    """The JSON schema of metrics.json (draft 2020-12)."""
    import json
    from importlib import resources

    res = resources.files("saliency_desktop.resources").joinpath(METRICS_SCHEMA_RESOURCE)
    return json.loads(res.read_text(encoding="utf-8"))
