"""Atomic writes, the .npz arrays and the .json record (schema-checked), without TensorFlow."""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from saliency_desktop.render.export import (
    OutputExistsError,
    atomic_file,
    explanation_record,
    output_names,
    schema,
    versions,
    write_arrays,
)


def test_atomic_file_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(target, force=True) as f:
        f.write(b"half a fi")
        raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"old"
    with pytest.raises(KeyboardInterrupt), atomic_file(tmp_path / "new.bin") as f:
        f.write(b"x")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # no temporary left
    with atomic_file(target, force=True) as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"


def test_atomic_file_refuses_to_overwrite_and_honours_umask(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("keep")
    with pytest.raises(OutputExistsError, match="already exists; use --force"):
        with atomic_file(target, "w") as f:
            f.write("lost")
    assert target.read_text() == "keep"
    with atomic_file(tmp_path / "fresh.txt", "w") as f:
        f.write("hello")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "fresh.txt").stat().st_mode) == 0o666 & ~umask


def test_npz_holds_exactly_the_engine_arrays(explanation, tmp_path):
    npz, js = write_arrays(explanation, tmp_path / "photo")
    assert (npz.name, js.name) == ("photo.npz", "photo.json")
    with np.load(npz, allow_pickle=False) as data:
        keys = set(data.files)
        expected = {"input"}
        for mid, r in explanation.methods.items():
            expected.add(f"{mid}.map")
            np.testing.assert_array_equal(data[f"{mid}.map"], r.map)
            assert data[f"{mid}.map"].dtype == np.float32
            if r.attributions is not None:
                expected.add(f"{mid}.attributions")
                np.testing.assert_array_equal(data[f"{mid}.attributions"], r.attributions)
            if r.cam is not None:
                expected.add(f"{mid}.cam")
                np.testing.assert_array_equal(data[f"{mid}.cam"], r.cam)
        np.testing.assert_array_equal(data["input"], explanation.input)
    assert keys == expected
    assert "gradcam.cam" in keys and "gradcam.attributions" not in keys


def test_record_validates_and_carries_what_a_paper_needs(explanation):
    record = explanation_record(explanation, "models/synthetic.keras", {"image": {"path": "a.png"}})
    jsonschema.validate(record, schema())
    json.dumps(record, allow_nan=False)  # strict JSON
    assert record["model"]["spec"] == "synthetic.keras"  # a path is reduced to its name
    assert record["model"]["sha256"] == "0" * 64
    assert record["input_size"] == [32, 32] and record["image"]["size"] == [60, 90]
    assert record["image"] == {"size": [60, 90], "notes": [], "path": "a.png"}
    assert record["target"] == {"index": 1, "label": "dog", "probability": 0.7}
    assert [p["label"] for p in record["top_k"]] == ["dog", "cat", "tractor"]
    ig = record["methods"]["integrated_gradients"]
    assert ig["convergence_delta"] == pytest.approx(0.0123) and ig["signed"] is True
    assert ig["params"] == {"n_steps": 8, "rule": "gausslegendre", "baseline": "black", "seed": 0}
    assert record["methods"]["gradcam"]["arrays"] == ["gradcam.map", "gradcam.cam"]
    assert record["methods"]["gradcam"]["label"] == "Grad-CAM"
    assert set(record["versions"]) >= {"saliency_desktop", "tensorflow", "keras", "python"}
    assert record["device"] == "CPU (test)" and record["layer"] == "block/relu"


def test_record_is_strict_json_for_nan_and_numpy_values(explanation):
    ig = explanation.methods["integrated_gradients"]
    bad = replace(ig, extras={"convergence_delta": np.float32(math.nan), "steps": np.int64(3)})
    e = replace(explanation, methods={**explanation.methods, "integrated_gradients": bad})
    record = explanation_record(e)
    assert record["methods"]["integrated_gradients"]["convergence_delta"] is None
    assert record["methods"]["integrated_gradients"]["extras"]["steps"] == 3
    jsonschema.validate(record, schema())
    json.dumps(record, allow_nan=False)


def test_schema_rejects_a_record_missing_the_model_hash(explanation):
    record = explanation_record(explanation)
    del record["model"]["sha256"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(record, schema())


def test_target_outside_top_k_has_no_probability(explanation):
    e = replace(explanation, target=2, target_label="tractor", top_k=explanation.top_k[:2])
    assert explanation_record(e)["target"]["probability"] is None


def test_versions_do_not_import_tensorflow():
    import sys

    had = "tensorflow" in sys.modules
    v = versions()
    assert v["python"].count(".") == 2 and v["tensorflow"]
    assert ("tensorflow" in sys.modules) == had


def test_output_names_are_unique_case_insensitively():
    paths = [Path("a/x.png"), Path("b/x.png"), Path("X.jpg"), Path("y.png"), Path("c/x.png")]
    assert output_names(paths) == ["x", "x_png", "X_jpg", "y", "x_2"]


def test_record_carries_file_names_and_hashes_not_local_paths(explanation, tmp_path):
    from saliency_desktop.engine.files import sha256_of

    private = tmp_path / "home" / "alice" / "secret project"
    private.mkdir(parents=True)
    image, weights = private / "photo.png", private / "net.keras"
    image.write_bytes(b"not really a png")
    weights.write_bytes(b"weights")
    model = replace(explanation.model, id=str(weights), source=str(weights))
    e = replace(explanation, model=model)
    extra = {"image": {"path": str(image)}, "settings": {"model": str(weights)}}
    record = explanation_record(e, str(weights), extra)
    jsonschema.validate(record, schema())
    assert "alice" not in json.dumps(record)
    assert record["image"] == {
        "size": [60, 90], "notes": [], "path": "photo.png", "sha256": sha256_of(image)
    }  # fmt: skip
    model_entry = record["model"]
    assert model_entry["id"] == model_entry["spec"] == model_entry["source"] == "net.keras"
    assert record["settings"]["model"] == "net.keras"
    kept = explanation_record(e, str(weights), extra, full_paths=True)
    jsonschema.validate(kept, schema())
    assert kept["image"]["path"] == str(image) and kept["model"]["source"] == str(weights)
    assert kept["model"]["spec"] == kept["settings"]["model"] == str(weights)
    windows = explanation_record(e, "C:\\Users\\alice\\net.keras", {"image": {"path": "a.png"}})
    assert windows["model"]["spec"] == "net.keras"
