"""Writing results to disk: the `.npz` arrays and the `.json` record.

Every file goes through `saliency_desktop.atomic.atomic_file` (temporary name, fsync, rename):
an interrupted run leaves complete files only. Nothing is overwritten unless `force` is true.

No TensorFlow and no Qt here; version strings come from package metadata when TensorFlow has
not been imported.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.atomic import OutputExistsError as OutputExistsError  # re-exported
from saliency_desktop.atomic import atomic_file as atomic_file
from saliency_desktop.atomic import refuse_existing as refuse_existing
from saliency_desktop.engine import file_name, sha256_of, versions
from saliency_desktop.engine.types import Explanation

SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "report.schema.json"


def output_names(images: Sequence[Path]) -> list[str]:
    """One output stem per input image, unique even on case-insensitive file systems.

    `a/x.png, b/x.png, x.jpg` -> `x, x_png, x_jpg` (then `x_2`, `x_3` ...), in input order.
    """
    names: list[str] = []
    used: set[str] = set()
    for p in images:
        name = p.stem or p.name
        if name.lower() in used and p.suffix:
            name = f"{p.stem}_{p.suffix.lstrip('.')}"
        n = 2
        while name.lower() in used:
            name, n = f"{p.stem}_{n}", n + 1
        used.add(name.lower())
        names.append(name)
    return names


def write_npz(explanation: Explanation, path: str | os.PathLike[str], force: bool = False) -> Path:
    """`<id>.map`, `<id>.attributions` / `<id>.cam` (when the method has them) and `input`.

    The arrays are exactly the engine's (float32, model-input space), compressed.
    """
    arrays: dict[str, np.ndarray] = {"input": np.asarray(explanation.input)}
    for mid, result in explanation.methods.items():
        arrays[f"{mid}.map"] = np.asarray(result.map)
        if result.attributions is not None:
            arrays[f"{mid}.attributions"] = np.asarray(result.attributions)
        if result.cam is not None:
            arrays[f"{mid}.cam"] = np.asarray(result.cam)
    with atomic_file(path, "wb", force) as f:
        np.savez_compressed(f, allow_pickle=False, **arrays)
    return Path(path)


def write_json(
    record: Mapping[str, Any], path: str | os.PathLike[str], force: bool = False
) -> Path:
    with atomic_file(path, "w", force) as f:
        json.dump(record, f, indent=2, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    return Path(path)


def write_arrays(
    explanation: Explanation,
    path_base: str | os.PathLike[str],
    model_spec: str | None = None,
    extra: Mapping[str, Any] | None = None,
    force: bool = False,
    full_paths: bool = False,
) -> list[Path]:
    """`<path_base>.npz` and `<path_base>.json`; returns the paths written.

    `full_paths` keeps absolute paths in the JSON (see `explanation_record`)."""
    base = Path(path_base)
    npz, js = base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")
    refuse_existing([npz, js], force)
    record = explanation_record(explanation, model_spec, extra, full_paths)
    return [write_npz(explanation, npz, force), write_json(record, js, force)]


def target_probability(explanation: Explanation) -> float | None:
    """The target's probability, when it is among `top_k` (the CLI asks for every class)."""
    for p in explanation.top_k:
        if p.index == explanation.target:
            return float(p.probability)
    return None


def jsonable(value: Any) -> Any:
    """Builtins from numpy scalars/arrays; NaN and infinities become None (strict JSON)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist()) if value.size <= 64 else f"array{list(value.shape)}"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def method_info(method_id: str) -> Any:
    from saliency_desktop.engine import get_method
    from saliency_desktop.engine.types import EngineError

    try:
        return get_method(method_id).info
    except EngineError:  # a method the registry no longer has (e.g. a plug-in): keep the arrays
        return None


def explanation_record(
    explanation: Explanation,
    model_spec: str | None = None,
    extra: Mapping[str, Any] | None = None,
    full_paths: bool = False,
) -> dict[str, Any]:
    """The JSON record of one explanation (see `resources/report.schema.json`).

    `model_spec` is what the user asked for (catalogue id or path; defaults to the model id).
    `extra` is merged at the top level (e.g. `{"image": {"path": ...}, "settings": {...}}`);
    a `versions` key there replaces the detected versions.

    A record is written to be shared: the image's and the model's paths (`image.path`,
    `model.id`, `model.spec`, `model.source`, `settings.model`) are reduced to file names, and
    the image file's SHA-256 is added as `image.sha256` (the model's is `model.sha256`), so the
    files can be identified without the user's folders. `full_paths` keeps the paths as given
    (the model's source absolute), for private use.
    """
    e = explanation
    info = e.model
    methods: dict[str, Any] = {}
    for mid, r in e.methods.items():
        minfo = method_info(mid)
        entry: dict[str, Any] = {
            "label": minfo.label if minfo else mid,
            "paper": minfo.paper if minfo else "",
            "signed": bool(minfo.signed) if minfo else False,
            "params": jsonable(r.params),
            "seconds": float(r.seconds),
            "map_shape": list(r.map.shape),
            "arrays": [f"{mid}.map"]
            + ([f"{mid}.attributions"] if r.attributions is not None else [])
            + ([f"{mid}.cam"] if r.cam is not None else []),
            "extras": jsonable(r.extras),
        }
        if "convergence_delta" in r.extras:
            entry["convergence_delta"] = jsonable(r.extras["convergence_delta"])
        methods[mid] = entry
    h0, w0 = e.image.shape[:2]
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "image": {"size": [int(h0), int(w0)], "notes": list(e.notes)},
        "model": {
            "id": info.id,
            "spec": str(model_spec) if model_spec is not None else info.id,
            "label": info.label,
            "source": info.source,
            "sha256": info.sha256,
            "input_size": [int(info.input_size[0]), int(info.input_size[1])],
            "channels": int(info.channels),
            "preprocessing": info.preprocessing,
            "final_activation": info.final_activation,
            "n_classes": len(info.labels),
        },
        "input_size": [int(e.input.shape[0]), int(e.input.shape[1])],
        "preprocessing": info.preprocessing,
        "target": {
            "index": int(e.target),
            "label": e.target_label,
            "probability": target_probability(e),
        },
        "score": e.score,
        "top_k": [
            {"index": int(p.index), "label": p.label, "probability": float(p.probability)}
            for p in e.top_k[:5]
        ],
        "layer": e.layer,
        "methods": methods,
        "skipped": {
            mid: {"label": getattr(method_info(mid), "label", mid), "reason": reason}
            for mid, reason in e.skipped.items()
        },
        "versions": versions(),
        "device": e.device,
    }
    if e.contrast is not None:  # explained S_target - S_contrast: "why A and not B"
        record["contrast"] = {
            "index": int(e.contrast),
            "label": e.contrast_label,
            "title": f"{e.target_label} vs {e.contrast_label}",
        }
    for key, value in (extra or {}).items():
        if isinstance(value, Mapping) and isinstance(record.get(key), dict):
            record[key] = {**record[key], **jsonable(value)}
        else:
            record[key] = jsonable(value)
    _identify_image(record["image"])
    return record if full_paths else _without_paths(record)


def _identify_image(image: dict[str, Any]) -> None:
    """`image.sha256` of the file `image.path` names, when it is a readable file."""
    path = image.get("path")
    if isinstance(path, str) and path and "sha256" not in image:
        with contextlib.suppress(OSError):
            if Path(path).is_file():
                image["sha256"] = sha256_of(Path(path))


def _without_paths(record: dict[str, Any]) -> dict[str, Any]:
    """The record with every local path reduced to its file name (see `explanation_record`)."""
    for section, key in (
        ("image", "path"),
        ("model", "id"),
        ("model", "spec"),
        ("model", "source"),
        ("settings", "model"),
    ):
        entry = record.get(section)
        if isinstance(entry, dict) and isinstance(entry.get(key), str):
            entry[key] = file_name(entry[key])
    return record


def schema() -> dict[str, Any]:
    """The JSON schema of `explanation_record` (draft 2020-12)."""
    text = (
        resources.files("saliency_desktop.resources")
        .joinpath(SCHEMA_RESOURCE)
        .read_text(encoding="utf-8")
    )
    return json.loads(text)
