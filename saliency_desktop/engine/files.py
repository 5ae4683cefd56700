"""Reading the small files a user points the engine at: size-limited, text only, and hashed.

Nothing read here is unpickled, evaluated or imported: a labels file is UTF-8 text, one name a
line. No TensorFlow, no Qt.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from saliency_desktop.engine.types import EngineError

MAX_LABELS_BYTES = 1 << 20  # 1 MB: ImageNet's 1,000 names take 21 kB


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, or of a folder's files' contents in sorted path order."""
    if not path.is_dir():
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as f:
                hashlib.file_digest(f, lambda: h)  # feeds this file's bytes into `h`
    return h.hexdigest()


def file_name(text: str) -> str:
    """The last part of a path written with `/` or `\\` ("C:\\m\\a.keras" -> "a.keras")."""
    parts = [p for p in re.split(r"[\\/]", str(text)) if p]
    return parts[-1] if parts else str(text)


def read_text_limited(
    path: Path, limit: int, what: str, error: type[EngineError] = EngineError
) -> str:
    """The UTF-8 text of `path`; over `limit` bytes, or not text, raises `error` (one line).

    `what` names the file in the message ("labels file")."""
    name = Path(path).name
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise error(f"Cannot read the {what} {name}: {exc.strerror or exc}.") from None
    if len(data) > limit:
        size = f"{limit / 2**20:g} MB"
        raise error(f"The {what} {name} is over {size}; it should be a short text file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\0"
    if "\0" in text:
        raise error(f"The {what} {name} is not UTF-8 text.")
    return text
