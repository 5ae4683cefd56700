"""Fault injection shared by the tests: a disk that fills up when a file is flushed."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

EARLIER = b"the user's earlier file"


def full_disk_at_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `os.fsync` fails with ENOSPC: the bytes went out, the disk refused to keep them."""

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)


def assert_only_the_earlier_file(target: Path) -> None:
    """`target` still holds `EARLIER`, and its folder holds nothing else (no temporary file)."""
    assert [p.name for p in target.parent.iterdir()] == [target.name]
    assert target.read_bytes() == EARLIER
