"""Sanity checks that re-explain: model-parameter randomisation and the random logit test.

* `randomization`: Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim 2018, "Sanity Checks for
  Saliency Maps", sec. 3.1 (cascading randomisation): the weights are re-initialised layer by
  layer from the output layer down, each layer with its own initializer (seeded), and the map
  is recomputed after each step; its similarity to the original map is the Spearman rank
  correlation of |map| (and the SSIM of the normalised maps). A map that stays similar when the
  model is random does not show what the model uses.
* `random_logit`: Sixt, Granz & Landgraf 2020, "When Explanations Lie" (as Quantus'
  `RandomLogit`): the similarity of the map for the target and for a random other class
  (seeded). Lower is better.

The user's model is never touched: the randomisation works on a copy, cloned once per model and
kept while the model lives (`randomisable_copy`). Its passes are compiled once: each run first
assigns the model's weights back to the copy, then new values to its variables layer by layer,
and assigning values does not retrace a compiled pass (so the second image of a batch, or the
app's second Trust check, compiles nothing).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from saliency_desktop.engine.graph import is_graph_model
from saliency_desktop.engine.metric_types import Curve, MetricResult
from saliency_desktop.engine.models import LoadedModel
from saliency_desktop.engine.registry import get_method
from saliency_desktop.engine.similarity import spearman, ssim
from saliency_desktop.engine.types import EngineError, Explanation, JobControl

# Variable name -> the layer attribute holding its initializer, where the two differ.
_INITIALIZER_ATTR = {
    "depthwise_kernel": "depthwise_initializer",
    "pointwise_kernel": "pointwise_initializer",
    "embeddings": "embeddings_initializer",
}


def copy_model(model: LoadedModel) -> LoadedModel:
    """A copy of the model with its own variables (same layer names, same weights)."""
    import keras

    src = model.keras_model
    try:
        clone = keras.models.clone_model(src)
        clone.set_weights(src.get_weights())
    except Exception as exc:  # custom layers, SavedModel graphs: say it plainly
        raise EngineError(
            f"The model cannot be copied for the randomisation test ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:120] if str(exc) else ''})."
        ) from exc
    return LoadedModel(clone, model.info, model.output_index)


_COPIES: weakref.WeakKeyDictionary[LoadedModel, LoadedModel] = weakref.WeakKeyDictionary()


def randomisable_copy(model: LoadedModel) -> LoadedModel:
    """The model's copy for the randomisation test, with the model's weights: cloned on first
    use and kept while the model lives; later calls assign the model's weights back to it (its
    compiled passes stay valid: new values, same variables)."""
    copy = _COPIES.get(model)
    if copy is None:
        copy = _COPIES[model] = copy_model(model)
    else:
        for mine, theirs in zip(copy.keras_model.weights, model.keras_model.weights, strict=True):
            mine.assign(theirs)
    return copy


def weighted_layers(model: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, layer) of every layer with weights, input to output, nested models walked."""
    found: list[tuple[str, Any]] = []
    for layer in getattr(model, "layers", []):
        path = prefix + layer.name
        if is_graph_model(layer):
            found.extend(weighted_layers(layer, path + "/"))
        elif layer.weights:
            found.append((path, layer))
    return found


def cascade(model: Any, n_steps: int) -> list[list[tuple[str, Any]]]:
    """Groups of layers randomised in turn: the output layer alone, then the rest from the top
    down in `n_steps - 1` contiguous groups (fewer when there are fewer layers)."""
    layers = weighted_layers(model)[::-1]
    if not layers:
        raise EngineError("The model has no weights to randomise.")
    rest = [list(g) for g in np.array_split(np.arange(1, len(layers)), max(n_steps - 1, 1))]
    return [[layers[0]]] + [[layers[i] for i in g] for g in rest if len(g)]


def _initializer(layer: Any, name: str, seed: int) -> Any:
    import keras

    init = getattr(layer, _INITIALIZER_ATTR.get(name, f"{name}_initializer"), None)
    if init is None:  # a layer that keeps no initializer: Keras' defaults
        init = "glorot_uniform" if name.endswith("kernel") else "zeros"
    init = keras.initializers.get(init)
    config = init.get_config()
    if "seed" in config:
        init = type(init).from_config({**config, "seed": seed})
    return init


def reinitialise(layer: Any, seed: int) -> None:
    """Give every variable of `layer` fresh values from its own initializer (seeded)."""
    for j, var in enumerate(layer.weights):
        name = var.path.split("/")[-1]
        init = _initializer(layer, name, seed * 1009 + j)
        var.assign(init(tuple(var.shape), dtype=var.dtype))


def _maps(
    model: LoadedModel,
    rgb: np.ndarray,
    e: Explanation,
    ids: list[str],
    target: int,
    job: JobControl,
) -> dict[str, tuple[np.ndarray, float]]:
    """Each method's (map, seconds) for `target`, with the explanation's own parameters, score
    and layer."""
    from saliency_desktop.engine.explainer import explain

    params = {}
    for mid in ids:
        declared = {p.name for p in get_method(mid).info.params}
        params[mid] = {k: v for k, v in e.methods[mid].params.items() if k in declared}
    again = explain(
        model, rgb, methods=ids, target=target, score=e.score, layer=e.layer, params=params,
        progress=job.progress, cancel=job.cancel, top_k=1,
    )  # fmt: skip
    return {mid: (again.methods[mid].map, again.methods[mid].seconds) for mid in ids}


def randomization(
    model: LoadedModel,
    rgb: np.ndarray,
    e: Explanation,
    ids: list[str],
    job: JobControl,
    seed: int = 0,
    n_steps: int = 8,
) -> dict[str, MetricResult]:
    """Cascading model-parameter randomisation (Adebayo et al. 2018, sec. 3.1) on a copy."""
    copy = randomisable_copy(model)
    groups = cascade(copy.keras_model, n_steps)
    n = len(groups)
    maps = {mid: [e.methods[mid].map.astype(np.float32)] for mid in ids}
    seconds = dict.fromkeys(ids, 0.0)
    labels = ["original"]
    for step, group in enumerate(groups):
        job.check()
        for k, (_path, layer) in enumerate(group):
            reinitialise(layer, seed * 100003 + step * 101 + k)
        labels.append(group[-1][0].split("/")[-1])
        lo, hi = step / n, (step + 1) / n
        sub = JobControl(lambda f, m, lo=lo, hi=hi: job.report(lo + (hi - lo) * f, m), job.cancel)
        for mid, (new, t) in _maps(copy, rgb, e, ids, e.target, sub).items():
            maps[mid].append(new.astype(np.float32))
            seconds[mid] += t
    x = np.arange(n + 1, dtype=np.float64)
    out: dict[str, MetricResult] = {}
    for mid in ids:
        first = maps[mid][0]
        rho = np.array([spearman(first, m) for m in maps[mid]])
        sim = np.array([ssim(first, m) for m in maps[mid]])
        out[mid] = MetricResult(
            "randomization",
            mid,
            {
                "randomization": float(rho[-1]),
                "randomization_ssim": float(sim[-1]),
                "randomization_mean": float(rho[1:].mean()),
            },
            {"spearman": Curve(x, rho), "ssim": Curve(x, sim)},
            {"layers": labels, "maps": np.stack(maps[mid]), "seconds": seconds[mid]},
        )
    return out


def random_logit(
    model: LoadedModel, rgb: np.ndarray, e: Explanation, ids: list[str], job: JobControl,
    seed: int = 0,
) -> dict[str, MetricResult]:  # fmt: skip
    """Similarity of each map to the map of a random other class (Sixt et al. 2020, sec. 4)."""
    n = model.n_classes
    if n < 2:
        raise EngineError("The random logit test needs a model with at least two classes.")
    others = [c for c in range(n) if c != e.target]
    other = int(np.random.default_rng(seed).choice(others))
    with_other = _maps(model, rgb, e, ids, other, job)
    out: dict[str, MetricResult] = {}
    for mid in ids:
        first, (new, t) = e.methods[mid].map, with_other[mid]
        scores = {"random_logit": spearman(first, new), "random_logit_ssim": ssim(first, new)}
        extras = {"other_class": other, "other_label": model.label(other), "map": new, "seconds": t}
        out[mid] = MetricResult("random_logit", mid, scores, {}, extras)
    return out
