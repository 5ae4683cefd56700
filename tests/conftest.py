"""Shared test set-up: quiet TensorFlow, Qt offscreen, and a private home.

HOME, the XDG folders and KERAS_HOME point at one temporary folder for the whole session, set
here before any test module is imported, so neither the tests nor the programs they start
(which inherit the environment) touch the user's real settings, data, logs or Keras folder.
Hypothesis keeps its example database there too, instead of `.hypothesis/` in the checkout.
pip's download cache stays the user's own (PIP_CACHE_DIR): the wheel test builds with
setuptools from PyPI, and a cache is not the user's data.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PRIVATE_HOME = Path(tempfile.mkdtemp(prefix="saliency-tests-home-"))
atexit.register(shutil.rmtree, PRIVATE_HOME, ignore_errors=True)


def _private_home() -> None:
    real_pip_cache = os.environ.get("PIP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pip"
    )
    folders = {
        "HOME": "",
        "XDG_CONFIG_HOME": ".config",
        "XDG_DATA_HOME": ".local/share",
        "XDG_CACHE_HOME": ".cache",
        "XDG_STATE_HOME": ".local/state",
        "KERAS_HOME": ".keras",
        "HYPOTHESIS_STORAGE_DIRECTORY": "hypothesis",
    }
    for var, sub in folders.items():
        path = PRIVATE_HOME / sub
        path.mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(path)
    os.environ["PIP_CACHE_DIR"] = real_pip_cache


_private_home()


@pytest.fixture(scope="session")
def backend_run(tmp_path_factory) -> Callable[[str], Path]:
    """`backend_run(name)`: the folder of that Keras backend's one process of
    tests/engine/backend_maps.py (the CLI's dog-breeds explain in `cli/`, every method on the
    tiny model in `maps.npz`), started at most once a session; skips where it is not installed.
    The engine's and the CLI's backend tests share it, so each backend starts once."""
    from tests.engine.backend_maps import run_backend

    folders: dict[str, Path] = {}

    def run(backend: str) -> Path:
        if importlib.util.find_spec(backend) is None:
            pytest.skip(f"{backend} not installed (extra [{backend}])")
        if backend not in folders:
            folders[backend] = run_backend(backend, tmp_path_factory.mktemp(backend))
        return folders[backend]

    return run
