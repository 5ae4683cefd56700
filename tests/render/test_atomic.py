"""The one atomic writer (`saliency_desktop.atomic`) and each kind of caller that writes through it.

A failure in the middle of a write (a full disk at fsync, after the bytes went out) must leave
the user's earlier file whole and no temporary file behind. New files get 0o666 less the umask
of the moment, which the package never reads or changes.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from saliency_desktop.atomic import atomic_file
from saliency_desktop.render.export import write_json, write_npz
from saliency_desktop.render.report import render_report
from tests.faults import EARLIER, assert_only_the_earlier_file, full_disk_at_fsync


def _raw(path: Path, explanation: object) -> None:
    with atomic_file(path, "wb", force=True) as f:
        f.write(b"x" * 100_000)


def _text(path: Path, explanation: object) -> None:
    with atomic_file(path, "w", force=True) as f:
        f.write("a line\n" * 1000)


CALLERS: dict[str, tuple[str, Callable[[Path, object], object]]] = {
    "atomic_file bytes": ("out.bin", _raw),
    "atomic_file text": ("out.csv", _text),
    "json record": ("photo.json", lambda p, e: write_json({"a": 1}, p, force=True)),
    "npz arrays": ("photo.npz", lambda p, e: write_npz(e, p, force=True)),
    "report figure": ("photo.png", lambda p, e: render_report(e, p.with_suffix(""), force=True)),
}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temp(
    caller, explanation, tmp_path, monkeypatch
):
    name, write = CALLERS[caller]
    target = tmp_path / name
    target.write_bytes(EARLIER)
    full_disk_at_fsync(monkeypatch)
    with pytest.raises(OSError, match="No space left"):
        write(target, explanation)
    assert_only_the_earlier_file(target)
    monkeypatch.undo()
    write(target, explanation)  # the disk is fine again
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert target.read_bytes() != EARLIER


def test_new_files_follow_the_umask_of_the_moment(tmp_path):
    old = os.umask(0o027)  # set after the package was imported: it must still count
    try:
        with atomic_file(tmp_path / "private.txt", "w") as f:
            f.write("hello")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o640


def test_importing_the_package_never_touches_the_umask():
    """os.umask can only be read by setting it: a flip at import races other threads' files."""
    code = (
        "import os, pkgutil, importlib, saliency_desktop\n"
        "calls = []\n"
        "real = os.umask\n"
        "os.umask = lambda m: calls.append(m) or real(m)\n"
        "for m in pkgutil.walk_packages(saliency_desktop.__path__, 'saliency_desktop.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(calls)\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
