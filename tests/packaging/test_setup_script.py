"""setup.sh decides Qt's system libraries from `ldd`, not from a list (issue 9).

A stand-in `ldd` first on PATH reports what a fresh machine lacked; with SALIENCY_APT=0 the
script installs nothing and must name the Debian packages in one `apt-get install` line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.packaging.paths import ROOT

FRESH_MACHINE = """#!/bin/sh
# What ldd said on a fresh Debian 12 for Qt's xcb plugin (issue 9).
printf '\\tlibxcb-icccm.so.4 => not found\\n\\tlibxcb-keysyms.so.1 => not found\\n'
printf '\\tlibQt6VirtualKeyboard.so.6 => not found\\n'
printf '\\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\\n'
"""


def run_system_check(tmp_path: Path, ldd: str | None) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, SALIENCY_APT="0", SALIENCY_VENV=os.environ.get("SALIENCY_VENV") or sys.prefix
    )
    if ldd is not None:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "ldd").write_text(ldd)
        (bin_dir / "ldd").chmod(0o755)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["bash", str(ROOT / "setup.sh"), "system"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def test_missing_libraries_found_by_ldd_give_one_apt_get_line(tmp_path):
    proc = run_system_check(tmp_path, FRESH_MACHINE)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "apt-get install" in line]
    assert lines == ["To install: sudo apt-get install libxcb-icccm4 libxcb-keysyms1"]
    assert "libxcb-icccm.so.4 libxcb-keysyms.so.1" in proc.stderr
    assert "VirtualKeyboard" not in proc.stderr  # PySide6's own, optional: not a Debian package


def test_this_machine_lacks_nothing_that_qt_loads(tmp_path):
    proc = run_system_check(tmp_path, None)
    assert proc.returncode == 0, proc.stderr
    assert "apt-get" not in proc.stderr
