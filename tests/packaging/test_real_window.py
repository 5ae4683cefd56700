"""The README's first command opens the real window: Qt's `xcb` platform on an X server.

Every other UI test runs Qt `offscreen`, which needs none of the X libraries; these start an
X server of their own with `xvfb-run`, with QT_QPA_PLATFORM unset, so a system library that
setup.sh failed to install makes them fail (Qt aborts) instead of going unnoticed. Without
xvfb-run they install it as setup.sh does (apt-get, as root), or fail saying why: never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.packaging.paths import ROOT, SAMPLE

pytestmark = pytest.mark.slow

SCREEN = "-screen 0 1600x1000x24"


@pytest.fixture(scope="module")
def xvfb_run() -> str:
    found = shutil.which("xvfb-run")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "xvfb", "xauth"],
            capture_output=True,
            timeout=600,
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        )
        found = shutil.which("xvfb-run")
    if found is None:
        pytest.fail(
            "xvfb-run is missing, so the real window cannot be tested: "
            "sudo apt-get install xvfb xauth (bash setup.sh test does it as root)"
        )
    return found


def x_env() -> dict[str, str]:
    """This environment with no Qt platform and no display chosen: Qt picks xcb on Xvfb."""
    drop = ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["SALIENCY_VENV"] = os.environ.get("SALIENCY_VENV") or sys.prefix  # the tests' venv
    return env


def test_qt_opens_the_xcb_platform(xvfb_run):
    code = (
        "from PySide6.QtGui import QGuiApplication\n"
        "app = QGuiApplication([])\n"
        "print(app.platformName())\n"
    )
    proc = subprocess.run(
        [xvfb_run, "-a", "-s", SCREEN, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=x_env(),
        timeout=120,
    )
    assert proc.returncode == 0, f"Qt could not open xcb (rc {proc.returncode}):\n{proc.stderr}"
    assert proc.stdout.split() == ["xcb"]


def test_the_readme_first_command_opens_the_window_with_maps(xvfb_run, tmp_path):
    readme = (ROOT / "README.md").read_text()
    assert "bash setup.sh app " in readme.split("\n```", 2)[1]  # still the first command
    shot = tmp_path / "window.png"
    args = [str(SAMPLE), "--methods", "gradcam", "--screenshot", str(shot)]
    proc = subprocess.run(
        [xvfb_run, "-a", "-s", SCREEN, "bash", str(ROOT / "setup.sh"), "app", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=x_env(),
        timeout=600,
    )
    assert proc.returncode == 0, f"rc {proc.returncode}:\n{proc.stdout}\n{proc.stderr[-6000:]}"
    with Image.open(shot) as image:
        rgb = np.asarray(image.convert("RGB")).astype(np.int16)
    height, width, _ = rgb.shape
    assert width >= 800 and height >= 500
    assert rgb.std() > 20, "the window is blank"
    colours = np.unique(rgb.reshape(-1, 3) // 8, axis=0)
    assert len(colours) > 500, "no photo or map in the window"
    assert purple(rgb) > 0.005 * width * height, "no Grad-CAM map in the window"
    with Image.open(SAMPLE) as photo:
        assert purple(np.asarray(photo.convert("RGB")).astype(np.int16)) == 0


def purple(rgb: np.ndarray) -> int:
    """Pixels tinted like the overlay's cold end (inferno's purple, blended on the photo)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(np.count_nonzero((r - g > 25) & (b - g > 25)))
