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


def start_python(
    code: str, *, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.Popen[str]:
    """`python -c code` started in the checkout, to run beside other work; `finish_python`
    waits for it."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(cwd),
        env=env,
    )


def finish_python(
    proc: subprocess.Popen[str], *, timeout: float
) -> subprocess.CompletedProcess[str]:
    """The output of a `start_python` process, once it has ended (killed past `timeout`)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
