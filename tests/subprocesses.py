"""Python code run in a fresh interpreter, for the tests that need a process of their own (what
a new process imports, a real app start, a crash that must not take the test run with it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(
    code: str, *, timeout: float, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """`python -c code` in the checkout (so `saliency_desktop` and `tests` import from it);
    its output captured as text. `timeout` is required: a hung child must not hang the run."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(cwd),
        env=env,
    )
