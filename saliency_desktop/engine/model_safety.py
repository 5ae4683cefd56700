"""Safe mode for model files: what we check ourselves before Keras or TensorFlow sees a file.

A model file is a program. Keras' `safe_mode` refuses Lambda layers and arbitrary imports, but
releases before 3.12.0 could be talked out of it (CVE-2025-1550: config.json imports, fixed in
3.9; CVE-2025-8747 / CVE-2025-9906: `get_file` and `enable_unsafe_deserialization` reached from
a config, fixed in 3.11.0; CVE-2025-9905: safe mode ignored for `.h5`, fixed in 3.11.3;
CVE-2025-12060: path traversal in `get_file`, fixed in 3.12.0), and a SavedModel is a
TensorFlow graph that safe mode does not look at. So, unless the user trusts the file:

- an installed Keras older than `MIN_KERAS` refuses every model file (`check_keras_version`);
- a `.keras` or `.h5` file's model config is read as JSON (never executed) and refused if it
  has a Lambda layer, a Python function or an object from a module outside Keras' layers
  (`keras_config_risks`), whatever the installed Keras would do;
- a SavedModel's graph is read as a protobuf and refused if it can run an op outside the
  allow-list (`savedmodel_scan.risky_ops`).

Everything here reads files with size limits; nothing is unpickled, evaluated or imported.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from saliency_desktop.engine.types import ModelError

MIN_KERAS = (3, 12, 0)
KERAS_REQUIREMENT = "keras>=3.12.0,<3.16"
UPGRADE = f'pip install --upgrade "{KERAS_REQUIREMENT}"'
MAX_CONFIG_BYTES = 64 * 2**20  # a model config is JSON text: ResNet152's is under 1 MB
TRUST_PATH = (
    "Load it only if you trust its source (--trust-model, or the trust checkbox in the app; "
    "trust is never remembered)."
)
# The Keras namespaces a model config may name (not utils, config or saving: CVE-2025-8747/9906)
_NAMESPACES = (
    "activations applications backend constraints dtype_policies initializers layers losses "
    "metrics mixed_precision models ops optimizers quantizers random regularizers"
)
_KERAS_MODULE = re.compile(rf"^keras(\.src)?(\.({'|'.join(_NAMESPACES.split())})(\.\w+)*)?$")
_FUNCTION_MODULE = re.compile(r"^keras(\.src)?\.(activations|losses|metrics|ops)(\.\w+)*$")
_LAMBDAS = ("Lambda", "__lambda__", "TFOpLambda", "SlicingOpLambda")


def keras_version_tuple(version: str) -> tuple[int, ...]:
    """(3, 12, 0) from "3.12.0", "3.12.0rc1" or "3.12.0.dev2025"."""
    parts = re.findall(r"\d+", version.split("+")[0])[:3]
    return tuple(int(p) for p in parts) + (0,) * (3 - len(parts))


def check_keras_version(version: str | None = None) -> None:
    """Refuse untrusted model files under a Keras whose safe mode can be bypassed."""
    if version is None:
        import keras

        version = str(keras.__version__)
    if keras_version_tuple(version) < MIN_KERAS:
        floor = ".".join(map(str, MIN_KERAS))
        raise ModelError(
            f"Keras {version} is installed; before {floor} its safe mode can be bypassed by a "
            f"crafted model file, so untrusted model files are refused. Upgrade with: {UPGRADE}"
        )


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _keras_function(module: Any, name: Any) -> bool:
    """A function reference Keras resolves to its own loss, metric or activation by name.

    Keras writes built-in losses as `{"module": "builtins", "class_name": "function",
    "config": "categorical_crossentropy"}`; `builtins.exec` is not one of them."""
    if not isinstance(name, str) or not name.isidentifier() or not isinstance(module, str):
        return False
    if module != "builtins" and not _FUNCTION_MODULE.match(module):
        return False
    import keras

    return any(
        callable(getattr(ns, name, None)) and not name.startswith("_")
        for ns in (keras.losses, keras.metrics, keras.activations)
    )


def _risk(entry: dict[str, Any]) -> str | None:
    """What is unsafe in one serialized object of a Keras config, or None."""
    cls, module = entry.get("class_name"), entry.get("module")
    registered = entry.get("registered_name")
    if cls in _LAMBDAS:
        return "a Lambda layer"
    if cls == "function":
        if not _keras_function(module, entry.get("config")):
            return f"the Python function {module}.{entry.get('config')}"
    elif isinstance(module, str) and not _KERAS_MODULE.match(module):
        return f"an object from the module {module!r}"
    if isinstance(registered, str) and ">" in registered:
        package = registered.split(">")[0]
        if package != "keras":
            return f"the custom object {registered!r}"
    return None


def keras_config_risks(config: Any) -> list[str]:
    """Sorted descriptions of the unsafe objects a Keras model config names ([] if none)."""
    return sorted({r for r in map(_risk, _dicts(config)) if r})


def read_keras_config(path: Path) -> Any:
    """The model config of a `.keras` (config.json in the zip) or `.h5` (`model_config`)."""
    name = path.name
    if path.suffix.lower() == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                info = archive.getinfo("config.json")
                if info.file_size > MAX_CONFIG_BYTES:
                    raise ModelError(f"{name}: config.json is over {MAX_CONFIG_BYTES >> 20} MB.")
                text = archive.read(info).decode("utf-8")
        except KeyError:
            raise ModelError(f"{name}: not a Keras model file (no config.json in it).") from None
        except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"{name}: damaged or not a Keras file ({exc}).") from None
    else:
        text = _h5_model_config(path)
    try:
        return json.loads(text)
    except ValueError:
        raise ModelError(f"{name}: its model config is not valid JSON.") from None


def _h5_model_config(path: Path) -> str:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
            if raw is None:
                raise ModelError(
                    f"{path.name}: holds weights only (no model config); load the weights "
                    "into a model in Python and pass that model instead."
                )
            size = raw.nbytes if hasattr(raw, "nbytes") else len(raw)
            if size > MAX_CONFIG_BYTES:
                raise ModelError(f"{path.name}: model_config is over {MAX_CONFIG_BYTES >> 20} MB.")
            return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path.name}: damaged or not a Keras file ({exc}).") from None


def check_untrusted(path: Path) -> None:
    """Raise `ModelError` unless the model file or SavedModel folder may be loaded untrusted."""
    check_keras_version()
    if path.is_dir():
        from saliency_desktop.engine.savedmodel_scan import risky_ops

        ops = risky_ops(path)
        if ops:
            shown = ", ".join(ops[:6]) + (f" and {len(ops) - 6} more" if len(ops) > 6 else "")
            raise ModelError(
                f"{path.name}: refused in safe mode. Its graph runs operations beyond "
                f"computing on tensors: {shown}. A SavedModel is a TensorFlow program and can "
                f"do anything your user account can. {TRUST_PATH}"
            )
        return
    risks = keras_config_risks(read_keras_config(path))
    if risks:
        raise ModelError(
            f"{path.name}: refused in safe mode. Its config names {', '.join(risks[:4])}: "
            "loading it would run Python code stored in the file or imported by it, which can "
            f"do anything your user account can. {TRUST_PATH}"
        )
