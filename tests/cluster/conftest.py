"""One loopback Ray cluster (a head and a second node, one CPU each) for the whole session,
a tiny model file and small images; the CLI runs in subprocesses, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.cluster.loopback import LoopbackCluster

ROOT = Path(__file__).resolve().parents[2]
METHODS = "vanilla_gradients,gradcam,gradient_x_input"
# The CLI as a user runs it; without --ray, it also proves that Ray was never imported.
CLI = (
    "import sys; from saliency_desktop.cli import main; code = main(sys.argv[1:]); "
    "sys.exit(code if '--ray' in sys.argv or 'ray' not in sys.modules else 99)"
)


def cli_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}


def start_cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def finish_cli(proc: subprocess.Popen, timeout: float = 420) -> subprocess.CompletedProcess:
    """Wait for a `start_cli` process (killed if it outlives `timeout`); its output."""
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_side_by_side(*commands: list[str]) -> list[subprocess.CompletedProcess]:
    """Several CLI runs at once (independent work: a local run beside a cluster's run uses the
    core the other leaves idle); every one is waited for, or killed if anything goes wrong."""
    procs = [start_cli(*args) for args in commands]
    try:
        return [finish_cli(proc) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LoopbackCluster]:
    """Started once; every process of it killed by id at the end, whatever happened."""
    cluster = LoopbackCluster(cli_env())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        assert cluster.pids_of() == [], "Ray processes left running"


@pytest.fixture(scope="session")
def model_file(tmp_path_factory) -> Path:
    """A tiny CNN (16x16x3, two convolutions, three classes) saved as .keras."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
            keras.layers.Conv2D(6, 3, activation="relu", name="conv2"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, name="logits"),
        ]
    )
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    """20 small PNGs of seeded noise and one corrupt file (`corrupt.png`)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(20):
        pixels = rng.integers(0, 256, (24, 20 + i % 3, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i:02d}.png")
    (folder / "corrupt.png").write_bytes(b"not a png at all")
    return folder
