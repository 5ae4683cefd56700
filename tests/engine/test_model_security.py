"""Safe mode for model files (issue 18): hostile SavedModels, .h5 and .keras files, the Keras
floor and size-limited labels files. Every hostile file is made by hand in the test."""

from __future__ import annotations

import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest

from saliency_desktop.engine import ModelError, explain, load_model
from saliency_desktop.engine.model_safety import (
    KERAS_REQUIREMENT,
    keras_config_risks,
    keras_version_tuple,
    read_keras_config,
)
from saliency_desktop.engine.safe_ops import ALLOWED, DANGER
from saliency_desktop.engine.savedmodel_scan import risky_ops
from tests.engine import hostile
from tests.engine.tiny_model import tiny_cnn

ROOT = Path(__file__).resolve().parents[2]
IMAGE = np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def savedmodels(tmp_path_factory, keras) -> Path:
    """One folder per hostile effect (`<kind>/`), each aimed at `<kind>.txt` beside it."""
    d = tmp_path_factory.mktemp("savedmodels")
    for kind in (*hostile.SAVEDMODEL_EFFECTS, "print_to_stderr", "clean"):
        hostile.savedmodel(d / kind, kind, d / f"{kind}.txt")
    (d / "read.txt").write_text("a secret")
    hostile.savedmodel_writing_on_load(d / "on_load", d / "on_load.txt")
    tiny_cnn(keras, seed=2).export(d / "keras_export", verbose=False)
    return d


@pytest.mark.parametrize(
    "kind,op",
    [
        ("write", "WriteFile (writes files)"),
        ("read", "ReadFile (reads files)"),
        ("py_function", "EagerPyFunc (runs Python code)"),
        ("loop_write", "WriteFile (writes files)"),  # inside a While body
        ("print_to_file", "PrintV2 (prints to the file"),
        ("on_load", "WriteFile (writes files)"),  # in a resource initialiser run by load()
    ],
)
def test_hostile_savedmodel_is_refused_and_runs_nothing(savedmodels, kind, op):
    with pytest.raises(ModelError, match="refused in safe mode") as info:
        load_model(savedmodels / kind, preprocessing="unit")
    message = str(info.value)
    assert op in message and "--trust-model" in message and "checkbox" in message
    assert "\n" not in message
    assert not (savedmodels / f"{kind}.txt").exists() or kind == "read"
    assert (savedmodels / "read.txt").read_text() == "a secret"


def test_the_file_writing_savedmodel_runs_only_when_trusted(savedmodels, tmp_path):
    target = tmp_path / "pwned.txt"
    folder = hostile.savedmodel(tmp_path / "evil", "write", target)
    with pytest.raises(ModelError, match="WriteFile"):
        load_model(folder)
    assert not target.exists()
    model = load_model(folder, trust_model=True, preprocessing="unit")
    explain(model, IMAGE, methods=["vanilla_gradients"])
    assert target.read_text() == "pwned"  # the hostile op is real: trust lets it run


@pytest.mark.parametrize("kind", ["clean", "print_to_stderr", "keras_export"])
def test_clean_savedmodels_load_without_asking(savedmodels, kind):
    assert risky_ops(savedmodels / kind) == []
    model = load_model(savedmodels / kind, preprocessing="unit")
    res = explain(model, IMAGE, methods=["vanilla_gradients", "integrated_gradients"], n_steps=4)
    assert np.isfinite(res.methods["integrated_gradients"].map).all()


def test_a_real_architecture_export_passes_the_allow_list(keras, tmp_path):
    """MobileNetV2 (batch norm, ReLU6, depthwise convolutions, padding) as `model.export()`
    and `tf.saved_model.save` write it: its checkpoint functions have SaveV2/RestoreV2, its
    serving graph has none."""
    import tensorflow as tf

    net = keras.applications.MobileNetV2((32, 32, 3), alpha=0.35, weights=None, classes=3)
    net.export(tmp_path / "export", verbose=False)
    tf.saved_model.save(net, str(tmp_path / "tfsave"))
    for folder in ("export", "tfsave"):
        assert risky_ops(tmp_path / folder) == []
        assert b"SaveV2" in (tmp_path / folder / "saved_model.pb").read_bytes()


def test_op_lists_are_disjoint_and_name_the_issue_ops():
    assert not ALLOWED & set(DANGER)
    for op in ("WriteFile", "ReadFile", "MatchingFiles", "SaveV2", "RestoreV2", "PyFunc"):
        assert op in DANGER
    assert {"MergeV2Checkpoints", "EagerPyFunc", "PyFuncStateless"} <= set(DANGER)


def test_damaged_savedmodel_folders_are_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"empty: not a SavedModel folder \(no saved_model.pb"):
        load_model(tmp_path / "empty")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "saved_model.pb").write_bytes(b"\xff" * 50)
    with pytest.raises(ModelError, match="junk: saved_model.pb is damaged"):
        load_model(tmp_path / "junk")


# --- .keras and .h5: our own check, before Keras sees the file -------------------------------


@pytest.fixture(scope="module")
def good_files(tmp_path_factory, keras) -> Path:
    d = tmp_path_factory.mktemp("keras_files")
    model = tiny_cnn(keras, seed=3)
    model.save(d / "tiny.keras")
    model.save(d / "tiny.h5")
    model.compile(loss=keras.losses.categorical_crossentropy)  # written as builtins.<name>
    model.save(d / "compiled.keras")
    return d


@pytest.fixture
def keras_never_called(monkeypatch, keras) -> list[object]:
    calls: list[object] = []
    monkeypatch.setattr(keras.models, "load_model", lambda *a, **k: calls.append(a))
    return calls


def test_handmade_h5_with_a_lambda_layer_is_refused_before_keras(
    good_files, tmp_path, keras_never_called
):
    path = hostile.h5_with_lambda(good_files / "tiny.h5", tmp_path / "lambda.h5")
    with pytest.raises(ModelError, match="lambda.h5: refused in safe mode.*a Lambda layer"):
        load_model(path)
    assert keras_never_called == []  # refused whatever the installed Keras would do


@pytest.mark.parametrize(
    "entry,named",
    [
        ({"module": "os", "class_name": "function", "config": "system"}, "os.system"),
        ({"module": "builtins", "class_name": "function", "config": "exec"}, "builtins.exec"),
        ({"module": "keras.utils", "class_name": "function", "config": "get_file"}, "get_file"),
        ({"module": "subprocess", "class_name": "Popen", "config": {}}, "'subprocess'"),
        ({"module": None, "class_name": "X", "registered_name": "evil>X"}, "'evil>X'"),
        (hostile.LAMBDA_LAYER["config"]["function"], "a Lambda layer"),
    ],
)
def test_handmade_keras_file_naming_code_outside_keras_is_refused(
    good_files, tmp_path, keras_never_called, entry, named
):
    path = hostile.keras_file_with(good_files / "tiny.keras", tmp_path / "evil.keras", entry)
    with pytest.raises(ModelError, match="evil.keras: refused in safe mode") as info:
        load_model(path)
    assert named in str(info.value) and "--trust-model" in str(info.value)
    assert keras_never_called == []


def test_real_keras_configs_have_no_false_alarms(good_files):
    for name in ("tiny.keras", "tiny.h5", "compiled.keras"):
        assert keras_config_risks(read_keras_config(good_files / name)) == []
    model = load_model(good_files / "compiled.keras", preprocessing="unit")
    assert model.n_classes == 4


# --- the Keras floor ------------------------------------------------------------------------


@pytest.mark.parametrize("old", ["3.11.3", "3.0.0", "2.15.0"])
def test_old_keras_refuses_untrusted_files_with_the_upgrade_command(
    good_files, monkeypatch, keras, old
):
    monkeypatch.setattr(keras, "__version__", old)
    with pytest.raises(ModelError, match=f"Keras {old} is installed") as info:
        load_model(good_files / "tiny.keras")
    assert f'pip install --upgrade "{KERAS_REQUIREMENT}"' in str(info.value)
    assert load_model(good_files / "tiny.keras", trust_model=True).n_classes == 4


def test_keras_versions_parse_and_the_floor_is_the_pyproject_line():
    assert keras_version_tuple("3.12.0") == (3, 12, 0)
    assert keras_version_tuple("3.12.0rc1") < (3, 12, 1)
    assert keras_version_tuple("3.11.3.dev2025") == (3, 11, 3)
    assert keras_version_tuple("3.15") == (3, 15, 0)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert KERAS_REQUIREMENT in project["dependencies"]


# --- labels files ---------------------------------------------------------------------------


def test_labels_file_is_size_limited_text(good_files, tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a\n" * (1 << 19) + b"b")  # 1 MB + 1 byte
    with pytest.raises(ModelError, match=r"labels file big.txt is over 1 MB"):
        load_model(good_files / "tiny.keras", labels=big)
    pickled = tmp_path / "labels.pkl"
    pickled.write_bytes(pickle.dumps(["cat", "dog", "fox", "owl"]))
    with pytest.raises(ModelError, match=r"labels file labels.pkl is not UTF-8 text"):
        load_model(good_files / "tiny.keras", labels=pickled)
    bom = tmp_path / "bom.txt"
    bom.write_text("\ufeffcat\ndog\nfox\nowl\n", encoding="utf-8")
    model = load_model(good_files / "tiny.keras", labels=bom)
    assert model.info.labels == ("cat", "dog", "fox", "owl")
