"""What every command of the CLI shares: its name, exit statuses, usage errors, one-line messages.

Standard library and tqdm only, so `batch.py` and the commands' helper modules (`cli_boxes.py`)
import it without importing each other.
"""

from __future__ import annotations

import sys

PROG = "saliency-desktop"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad arguments found after parsing (exit status 2); the message is one line."""


def error(message: str) -> None:
    """One line on stderr, through tqdm so that a progress bar is not torn."""
    from tqdm import tqdm

    tqdm.write(f"{PROG}: {message}", file=sys.stderr)


def csv_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
