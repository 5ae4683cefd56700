"""Writing a file so that it is either whole or not there: the one atomic writer of the package.

A file is written under a temporary name in its destination folder, flushed to disk (`fsync`),
then renamed over the final name (`os.replace`, atomic on POSIX and Windows). On any exception,
KeyboardInterrupt included, the temporary file is removed and the destination is left as it was.
The temporary file is created with mode 0o666 and the process umask applied by the operating
system, as for any new file, so the umask is never read or changed.

Standard library only: the engine (weights download), `render/` (arrays, records, reports), the
CLI and the app (exports, screenshots) all write through here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
)


class OutputExistsError(FileExistsError):
    """An output file exists and `force` was not given. The message is fit for a user."""


def refuse_existing(paths: Iterable[Path], force: bool) -> None:
    """Raise `OutputExistsError` naming the existing files, unless `force`."""
    if force:
        return
    existing = [p for p in paths if p.exists()]
    if existing:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise OutputExistsError(f"{existing[0]} already exists{more}; use --force to overwrite.")


def _create_temp(path: Path, suffix: str) -> tuple[int, Path]:
    """A new, empty, hidden file beside `path`, open for writing: (descriptor, its path)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "No free temporary file name", str(path.parent))


@contextlib.contextmanager
def atomic_file(
    path: str | os.PathLike[str], mode: str = "wb", force: bool = False, suffix: str = ".tmp"
) -> Iterator[IO]:
    """Open a temporary file next to `path`; when the block ends without error it becomes `path`.

    `mode` is "wb" or "w" (UTF-8 text). Without `force` an existing `path` raises
    `OutputExistsError`, before writing and again just before the rename. Missing parent
    folders are created. `suffix` ends the temporary name (".part" for downloads).
    """
    path = Path(path)
    refuse_existing([path], force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path, suffix)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        refuse_existing([path], force)  # created by someone else meanwhile?
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
