"""The app's log file (rotating) in the user's data folder; Help > Show log opens it."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from PySide6.QtCore import QStandardPaths

LOG_NAME = "saliency-desktop.log"
_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
_handler: logging.Handler | None = None
_path: Path | None = None  # the file the handler writes, fixed when it is set up


def log_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / LOG_NAME


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send the `saliency_desktop` loggers to the rotating log file (once); its path or None."""
    global _handler, _path
    if _handler is not None:
        return _path
    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError as exc:
        logging.getLogger(__name__).warning("no log file (%s): %s", path, exc)
        return None
    _path = path
    _handler.setFormatter(logging.Formatter(_FORMAT))
    logger = logging.getLogger("saliency_desktop")
    logger.addHandler(_handler)
    logger.setLevel(min(logger.level or level, level))
    return path


def current_log() -> Path | None:
    """The file being written (not `log_path()` again: the application name may have changed)."""
    return _path if _handler is not None else None
