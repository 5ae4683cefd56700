"""`evaluate()`: faithfulness metrics and sanity checks of an explanation's maps.

All metrics work at model-input resolution on each method's `map`, for the explained target.
Pixels are ordered by the map, descending (signed maps: positive evidence first), stable sort.
P is the target's softmax (or sigmoid) probability.

* `deletion` / `insertion` (Petsiuk, Das & Saenko 2018, RISE, sec. 4.1): in 100 equal steps of
  ceil(H*W/100) pixels, black out the next pixels (pixel value 0, preprocessed), or, from the
  image blurred with `cv2.GaussianBlur(img, (11, 11), 5)`, put the original pixels back; P at
  steps 0..100; AUC = sum_i (P_i + P_{i+1}) / 2 / 100. Deletion: lower is better; insertion:
  higher is better.
* `road` (Rong et al. 2022): see `metrics_road`.
* `randomization` (Adebayo et al. 2018) and `random_logit` (Sixt et al. 2020): see
  `randomization`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from saliency_desktop.engine.metric_types import METRICS, Curve, Evaluation, MetricResult
from saliency_desktop.engine.models import LoadedModel
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.types import EngineError, Explanation, JobControl

N_STEPS = 100
BLUR_KERNEL, BLUR_SIGMA = (11, 11), 5


def pixel_order(saliency: np.ndarray) -> np.ndarray:
    """rank (H, W): the position of each pixel when sorted by the map, descending, stable."""
    flat = np.asarray(saliency, np.float64).ravel()
    order = np.argsort(-flat, kind="stable")
    rank = np.empty(flat.size, np.int64)
    rank[order] = np.arange(flat.size)
    return rank.reshape(np.shape(saliency))


def auc(p: np.ndarray) -> float:
    """Trapezoid mean of a curve sampled at equal steps over [0, 1]."""
    p = np.asarray(p, np.float64)
    return float(((p[:-1] + p[1:]) / 2).sum() / (len(p) - 1))


def blurred(raw: np.ndarray) -> np.ndarray:
    """The insertion start: the image (pixel space, model size) blurred, OpenCV's default border."""
    import cv2

    out = cv2.GaussianBlur(raw.astype(np.float32), BLUR_KERNEL, BLUR_SIGMA)
    return out.reshape(raw.shape)


def _steps(shape: tuple[int, int]) -> np.ndarray:
    """Pixels changed after each step 0..100: min(i * ceil(H*W/100), H*W)."""
    n = shape[0] * shape[1]
    return np.minimum(np.arange(N_STEPS + 1) * math.ceil(n / N_STEPS), n)


def deletion_insertion(
    ctx: PassCache, saliency: np.ndarray, job: JobControl, which: Sequence[str], target: int
) -> dict[str, np.ndarray]:
    """P at steps 0..100 for 'deletion' and/or 'insertion', all 101 (or 202) inputs batched."""
    rank = pixel_order(saliency)
    counts = _steps(rank.shape)
    black = ctx.model.preprocess_array(np.zeros_like(ctx.raw))
    start_of = {"deletion": ctx.x, "insertion": ctx.model.preprocess_array(blurred(ctx.raw))}
    end_of = {"deletion": black, "insertion": ctx.x}
    plan = [(name, i) for name in which for i in range(N_STEPS + 1)]

    def make_batch(lo: int, hi: int) -> np.ndarray:
        out = np.empty((hi - lo, *ctx.x.shape), np.float32)
        for j, (name, i) in enumerate(plan[lo:hi]):
            changed = (rank < counts[i])[..., None]
            out[j] = np.where(changed, end_of[name], start_of[name])
        return out

    _, probs = ctx.forward_scores(make_batch, len(plan), job, "deletion/insertion", target)
    return {
        name: probs[k * (N_STEPS + 1) : (k + 1) * (N_STEPS + 1)] for k, name in enumerate(which)
    }


def _pixel_results(
    ctx: PassCache, method: str, saliency: np.ndarray, metrics: Sequence[str], job: JobControl,
    target: int, seed: int,
) -> dict[str, MetricResult]:  # fmt: skip
    from saliency_desktop.engine.metrics_road import PERCENTS, road_inputs

    out: dict[str, MetricResult] = {}
    which = [m for m in ("deletion", "insertion") if m in metrics]
    lo, hi = ctx.progress_span
    mid = lo + (hi - lo) * len(which) / (len(which) + 0.5 * ("road" in metrics))
    if which:
        ctx.progress_span = (lo, mid)
        x = np.arange(N_STEPS + 1) / N_STEPS
        start = time.perf_counter()
        curves = deletion_insertion(ctx, saliency, job, which, target)
        share = (time.perf_counter() - start) / len(which)  # one batched run serves both
        for name, p in curves.items():
            score = {f"{name}_auc": auc(p)}
            out[name] = MetricResult(name, method, score, {name: Curve(x, p)}, {"seconds": share})
    if "road" in metrics:
        ctx.progress_span = (mid, hi)
        job.report(mid, "ROAD: imputing")
        start = time.perf_counter()
        inputs = road_inputs(ctx.raw, pixel_order(saliency), ctx.model.preprocess_array, seed)
        _, p = ctx.forward_scores(
            lambda a, b: np.stack(inputs[a:b]), len(inputs), job, "ROAD", target
        )
        x = np.asarray(PERCENTS, np.float64) / 100
        morf, lerf = p[: len(PERCENTS)], p[len(PERCENTS) :]
        scores = {
            "road_morf": float(morf.mean()),
            "road_lerf": float(lerf.mean()),
            "road_gap": float(lerf.mean() - morf.mean()),
        }
        road_curves = {"morf": Curve(x, morf), "lerf": Curve(x, lerf)}
        seconds = {"seconds": time.perf_counter() - start}
        out["road"] = MetricResult("road", method, scores, road_curves, seconds)
    return out


def _check(metrics: Iterable[str] | str, explanation: Explanation) -> tuple[str, ...]:
    chosen = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    if chosen == ["all"]:
        chosen = list(METRICS)
    chosen = list(dict.fromkeys(m for m in chosen if m))
    bad = [m for m in chosen if m not in METRICS]
    if bad or not chosen:
        raise EngineError(
            f"Unknown metric {', '.join(bad) or '(none)'}; the metrics are: {', '.join(METRICS)}."
        )
    if not explanation.methods:
        raise EngineError("The explanation has no map to evaluate.")
    if explanation.contrast is not None:
        raise EngineError(
            f"The maps explain {explanation.target_label} vs {explanation.contrast_label}; the "
            "metrics follow one class's probability, so explain the class alone to evaluate it."
        )
    return tuple(chosen)


def evaluate(
    model: LoadedModel,
    image: Any,
    explanation: Explanation,
    metrics: Iterable[str] | str = ("deletion", "insertion"),
    methods: Iterable[str] | None = None,
    seed: int = 0,
    randomization_steps: int = 8,
    progress: Callable[[float, str], None] | None = None,
    cancel: threading.Event | None = None,
) -> Evaluation:
    """Measure how faithful each map of `explanation` is, and whether it passes sanity checks.

    Args:
        model: the model that made `explanation` (it is never modified).
        image: the image explained (path, PIL image or array); None takes `explanation.image`.
        explanation: the result of `explain()` for this model and image.
        metrics: names from `METRICS` ("all" for every one); default deletion and insertion.
        methods: which of the explanation's methods to evaluate (default all of them).
        seed: seeds ROAD's noise, the random initialisation and the random class.
        randomization_steps: layer groups randomised in turn, from the output down (the first
            group is the output layer alone; the last step has every layer randomised).
        progress: called with (fraction, message); cancel: an event checked between batches.

    Returns an `Evaluation`: per method and metric, the scores and the curves behind them.
    """
    from saliency_desktop.engine.images import load_image
    from saliency_desktop.engine.randomization import random_logit, randomization

    job = JobControl(progress, cancel)
    chosen = _check(metrics, explanation)
    ids = list(explanation.methods if methods is None else dict.fromkeys(methods))
    missing = [m for m in ids if m not in explanation.methods]
    if missing or not ids:
        raise EngineError(f"The explanation has no map for {', '.join(missing) or 'any method'}.")
    rgb = explanation.image if image is None else load_image(image)[0]
    raw, x = model.prepare(rgb)
    start = time.perf_counter()
    results: dict[str, dict[str, MetricResult]] = {m: {} for m in ids}
    pixel = [m for m in chosen if m in ("deletion", "insertion", "road")]
    spans = _spans(chosen, len(ids))
    if pixel:
        with model.lock:
            ctx = PassCache(model, x, raw, explanation.target, explanation.score, None, set())
            for k, mid in enumerate(ids):
                job.check()
                lo, hi = spans["pixel"]
                ctx.progress_span = (
                    lo + (hi - lo) * k / len(ids),
                    lo + (hi - lo) * (k + 1) / len(ids),
                )
                saliency = explanation.methods[mid].map
                results[mid].update(
                    _pixel_results(ctx, mid, saliency, pixel, job, explanation.target, seed)
                )
    for name, fn in (("randomization", randomization), ("random_logit", random_logit)):
        if name in chosen:
            sub = JobControl(_sub_progress(job, spans[name], name), cancel)
            kw = {"n_steps": randomization_steps} if name == "randomization" else {}
            for mid, result in fn(model, rgb, explanation, ids, sub, seed=seed, **kw).items():
                results[mid][name] = result
    job.report(1.0, "done")
    params = {"seed": seed, "randomization_steps": randomization_steps, "n_steps": N_STEPS,
              "blur": {"kernel": list(BLUR_KERNEL), "sigma": BLUR_SIGMA}}  # fmt: skip
    return Evaluation(
        target=explanation.target,
        target_label=explanation.target_label,
        metrics=chosen,
        results=results,
        params=params,
        seconds=time.perf_counter() - start,
    )


def _spans(chosen: Sequence[str], n_methods: int) -> dict[str, tuple[float, float]]:
    """Progress spans by rough cost: forward passes per method, and re-explanations."""
    cost = {
        "pixel": sum({"deletion": 1.0, "insertion": 1.0, "road": 1.5}.get(m, 0) for m in chosen),
        "randomization": 6.0 if "randomization" in chosen else 0.0,
        "random_logit": 1.0 if "random_logit" in chosen else 0.0,
    }
    total = sum(cost.values()) or 1.0
    out, done = {}, 0.0
    for key, c in cost.items():
        out[key] = (done / total, (done + c) / total)
        done += c
    return out


def _sub_progress(
    job: JobControl, span: tuple[float, float], label: str
) -> Callable[[float, str], None]:
    lo, hi = span

    def report(fraction: float, message: str) -> None:
        job.report(lo + (hi - lo) * fraction, f"{label}: {message}" if message else label)

    return report
