"""`explain()`: one image, several methods, shared passes, progress and cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from saliency_desktop.engine.images import load_image
from saliency_desktop.engine.models import LoadedModel
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import get_method, method_ids
from saliency_desktop.engine.types import (
    EngineError,
    Explanation,
    JobControl,
    MethodResult,
    Prediction,
)

ResultCallback = Callable[[MethodResult], None]


def first_methods(model: LoadedModel) -> list[str]:
    """The methods of the first map: on by default, one pass each (`cost`), available for this
    model (what the app shows first, and what `warm_up` compiles)."""
    ids = []
    for mid in method_ids():
        method = get_method(mid)
        if not method.info.default_on or mid in model.info.unavailable:
            continue
        if method.cost(method.resolve_params({}), model.batch_size) <= 1.0:
            ids.append(mid)
    return ids


def warm_up(model: LoadedModel, cancel: threading.Event | None = None) -> list[str]:
    """Compile now the passes of the first map's methods (`first_methods`), on a mid-grey image
    of the model's size, so that the first real map does not wait for them.

    A pass is traced (TensorFlow) or compiled (JAX: seconds per pass, 8 to 19 s for the first
    map on an H100) on its first call; the app calls this right after a model is loaded, while
    the user picks an image, and a cancel stops it between methods. Returns the methods.
    """
    ids = first_methods(model)
    h, w = model.info.input_size
    grey = np.full((h, w, 3), 128, np.uint8)
    if ids:
        explain(model, grey, methods=ids, cancel=cancel, top_k=1)
    return ids


def resolve_layer(model: LoadedModel, layer: str | None) -> str | None:
    if layer is None:
        return model.info.default_layer
    paths = [info.path for info in model.info.layers]
    if layer in paths:
        return layer
    matches = [p for p in paths if p.split("/")[-1] == layer]
    if len(matches) == 1:
        return matches[0]
    raise EngineError(
        f"{layer!r} is not an eligible CAM layer; eligible: {', '.join(paths[-5:])} "
        f"(and {max(len(paths) - 5, 0)} more, see `saliency-desktop layers`)."
    )


def explain(
    model: LoadedModel,
    image: Any,
    methods: Iterable[str] | str = "all",
    target: int | str | None = None,
    score: str = "logit",
    layer: str | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: threading.Event | None = None,
    on_result: ResultCallback | None = None,
    top_k: int = 5,
    on_predictions: Callable[[list[Prediction], int], None] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    contrast: int | str | None = None,
    **method_params: Any,
) -> Explanation:
    """Explain `image` for `target` (top-1 when None) with each method in `methods`.

    `image` is a path, a PIL image or an HxWxC uint8 array. `score` is "logit" (the pre-softmax
    score, the papers' S) or "probability". Unknown `method_params` raise an error; each method
    takes the parameters it declares (for IG: n_steps, rule, baseline, seed).
    `params` gives each method its own parameters, by method id: `params={method_id: {name:
    value}}`, the names its `MethodInfo.params` declare; a flat
    keyword (`n_steps=128`) applies to every chosen method that declares that name, and the
    per-method form wins where both are given. Unknown ids or names raise an error.
    `on_result` is called with each method's result as soon as it is ready, and
    `on_predictions(top_k, target)` once the first pass has run, before any method.
    With `methods="all"`, the methods the model cannot run are listed with their reasons in
    `Explanation.skipped`. A single-output model is two classes (1: the output, 0: its
    complement), so `target` may be 0 or 1.
    `contrast` (a class index or label B) makes every method explain S_target - S_B, the
    logit (or probability) difference: "why this class and not that one".
    """
    job = JobControl(progress, cancel)
    ids, skipped = _method_list(methods, model)
    per_method = _per_method_params(ids, params or {}, method_params)
    if score not in ("logit", "probability"):
        raise EngineError(f"score must be 'logit' or 'probability', not {score!r}.")
    rgb, notes = load_image(image)
    raw, x = model.prepare(rgb)
    target_index = None if target is None else model.class_index(target)
    contrast_index = None if contrast is None else model.class_index(contrast)
    if contrast_index is not None:
        ids = _refuse_class_agnostic(ids, skipped, methods == "all")
    needs_layer = any(get_method(m).info.needs_layer for m in ids)
    cam_layer = resolve_layer(model, layer) if needs_layer else None
    with model.lock:
        job.check()
        job.report(0.0, "predicting")
        ctx = PassCache(model, x, raw, target_index, score, cam_layer, set(ids), contrast_index)
        start = time.perf_counter()
        plain = ctx.plain()
        if contrast_index is not None and contrast_index == plain.target:
            raise EngineError(
                f"The contrast class {model.label(contrast_index)!r} is the target itself; "
                "choose another class to explain against."
            )
        plain_seconds = time.perf_counter() - start
        order = np.argsort(-plain.probabilities, kind="stable")[:top_k]
        predictions = [
            Prediction(int(i), model.label(int(i)), float(plain.probabilities[i])) for i in order
        ]
        if on_predictions is not None:
            on_predictions(predictions, plain.target)
        results: dict[str, MethodResult] = {}
        instances = {m: get_method(m) for m in ids}
        resolved = {m: inst.resolve_params(per_method[m]) for m, inst in instances.items()}
        costs = {m: instances[m].cost(resolved[m], model.batch_size) for m in ids}
        total = sum(costs.values()) + 1.0
        done = 1.0
        job.report(done / total, "predicted")
        for mid in sorted(ids, key=lambda m: costs[m] > 1.0):  # cheap first, stable
            job.check()
            inst = instances[mid]
            ctx.progress_span = (done / total, (done + costs[mid]) / total)
            start = time.perf_counter()
            heat, attributions, cam, extras = inst.compute(ctx, resolved[mid], job)
            seconds = time.perf_counter() - start
            seconds += plain_seconds  # the first (shared) pass, charged once, to the first method
            plain_seconds = 0.0
            ctx.shared[mid] = (heat, attributions, cam, extras)
            result = MethodResult(
                method=mid,
                map=np.asarray(heat, np.float32),
                attributions=None if attributions is None else np.asarray(attributions, np.float32),
                cam=None if cam is None else np.asarray(cam, np.float32),
                seconds=seconds,
                params=dict(
                    resolved[mid], **({"layer": cam_layer} if inst.info.needs_layer else {})
                ),
                extras={k: v for k, v in extras.items() if k != "layer"},
            )
            results[mid] = result
            done += costs[mid]
            job.report(done / total, inst.info.label)
            if on_result is not None:
                on_result(result)
        job.report(1.0, "done")
    return Explanation(
        model=model.info,
        image=rgb,
        input=x,
        target=plain.target,
        target_label=model.label(plain.target),
        score=score,
        top_k=predictions,
        layer=cam_layer,
        methods={m: results[m] for m in ids},
        device=model.device,
        notes=notes,
        skipped=skipped,
        contrast=contrast_index,
        contrast_label=None if contrast_index is None else model.label(contrast_index),
    )


def _method_list(
    methods: Iterable[str] | str, model: LoadedModel
) -> tuple[list[str], dict[str, str]]:
    """(ids to run, {id: reason} of the methods "all" leaves out because the model lacks what
    they need). A method asked for by name that cannot run is an error."""
    if isinstance(methods, str):
        if methods == "all":
            unavailable = model.info.unavailable
            skipped = {m: unavailable[m] for m in method_ids() if m in unavailable}
            return [m for m in method_ids() if m not in unavailable], skipped
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    ids = list(dict.fromkeys(methods))
    if not ids:
        raise EngineError("No method chosen.")
    for mid in ids:
        get_method(mid)  # raises for unknown ids
        if mid in model.info.unavailable:
            raise EngineError(
                f"{mid} is not available for this model: {model.info.unavailable[mid]}."
            )
    return ids, {}


def _refuse_class_agnostic(ids: list[str], skipped: dict[str, str], all_: bool) -> list[str]:
    """The ids that can explain a contrast S_A - S_B; with "all", the class-agnostic ones go to
    `skipped`, and one asked for by name is an error."""
    agnostic = [m for m in ids if get_method(m).info.class_agnostic]
    reason = "class-agnostic (its map is the same for every class), so it has no A vs B map"
    if agnostic and not all_:
        labels = ", ".join(get_method(m).info.label for m in agnostic)
        raise EngineError(f"{labels} is {reason}; leave it out to explain against a class.")
    skipped.update({m: reason for m in agnostic})
    return [m for m in ids if m not in agnostic]


def _per_method_params(
    ids: list[str], params: dict[str, dict[str, Any]], flat: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each chosen method's parameters: flat keywords it declares, then its own `params` entry."""
    known = {p.name for mid in method_ids() for p in get_method(mid).info.params}
    unknown = set(flat) - known
    if unknown:
        raise EngineError(f"Unknown parameter(s): {', '.join(sorted(unknown))}.")
    out: dict[str, dict[str, Any]] = {}
    for mid in ids:
        declared = {p.name for p in get_method(mid).info.params}
        out[mid] = {k: v for k, v in flat.items() if k in declared}
    for mid, values in params.items():
        info = get_method(mid).info  # raises for an unknown id
        declared = {p.name for p in info.params}
        bad = set(values) - declared
        if bad:
            names = ", ".join(sorted(declared)) or "none"
            raise EngineError(
                f"{info.label} has no parameter {', '.join(sorted(bad))} (it has: {names})."
            )
        if mid in out:
            out[mid].update(values)
    return out
