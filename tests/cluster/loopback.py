"""A real Ray cluster on 127.0.0.1 for the tests: `ray start` head and worker nodes.

Each node gets a temporary folder of its own (`--temp-dir`) and is started in a session of its
own, so that its processes can be found and killed by process id whatever happens: those whose
command line names one of our folders, and those in the process groups that our `ray start`
calls created. `ray stop` is not used: it stops every Ray process on the machine, not ours only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent, process group, command line) of every process we can read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            found[int(entry.name)] = (int(fields[1]), int(fields[2]), cmd)
    return found


class LoopbackCluster:
    """`start()` a head and one more node; `add_node()`; `pids_of(node)`; `stop()`."""

    def __init__(self, env: dict[str, str]) -> None:
        # A short folder: Ray's socket paths must stay under the 107-byte limit of AF_UNIX.
        self.root = Path(tempfile.mkdtemp(prefix="sdray-", dir="/tmp"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        # Ray (2.60) replaces 127.0.0.1 by the host's address and listens on every interface;
        # its token authentication (the default, the token under the tests' private HOME) keeps
        # the test cluster closed to anyone else.
        self.env = {**env, "RAY_TMPDIR": str(self.root)}
        self.groups: list[int] = []
        self.nodes: list[Path] = []

    def _ray_start(self, *args: str) -> Path:
        folder = self.root / f"n{len(self.nodes)}"
        folder.mkdir()
        common = ["--num-cpus=1", "--object-store-memory=200000000", "--disable-usage-stats"]
        proc = subprocess.Popen(
            [RAY, "start", *args, *common, f"--temp-dir={folder}"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our own process group, inherited by the daemons
        )
        self.groups.append(proc.pid)
        self.nodes.append(folder)
        out, _ = proc.communicate(timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"ray start failed:\n{out.decode(errors='replace')[-3000:]}")
        return folder

    def start(self) -> LoopbackCluster:
        head = ["--head", "--node-ip-address=127.0.0.1", f"--port={self.port}"]
        self._ray_start(*head, "--include-dashboard=false")
        self.add_node()
        return self

    def add_node(self) -> Path:
        return self._ray_start(f"--address={self.address}", "--node-ip-address=127.0.0.1")

    def pids_of(self, folder: Path | None = None, name: str = "") -> list[int]:
        """Our processes (of one node's folder, when given) whose command line holds `name`."""
        mark = str(folder or self.root)
        table = _processes()
        ours = {
            pid
            for pid, (_, pgid, cmd) in table.items()
            if mark in cmd or (folder is None and pgid in self.groups)
        }
        grown = True
        while grown:  # and their descendants (workers rename themselves `ray::...`)
            more = {pid for pid, (ppid, _, _) in table.items() if ppid in ours} - ours
            ours |= more
            grown = bool(more)
        return sorted(p for p in ours if name in table[p][2] and p != os.getpid())

    def stop(self) -> None:
        """Kill every process of ours, by id, until none is left; remove the folders."""
        for _ in range(20):
            pids = self.pids_of()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.25)
        shutil.rmtree(self.root, ignore_errors=True)
