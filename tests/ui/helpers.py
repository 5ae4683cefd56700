"""Helpers for the UI tests."""

from __future__ import annotations

from typing import Any


def wait_done(qtbot: Any, win: Any, timeout: int = 5000) -> None:
    """Wait until every chosen method has its result for the current image."""

    def done() -> bool:
        s = win.session
        entry = s.current_entry()
        return (
            s.model is not None
            and entry is not None
            and entry.rgb is not None
            and not s.missing()
            and not s.client.is_busy()
            and s.explanation() is not None
        )

    qtbot.waitUntil(done, timeout=timeout)


def wait_for_target(qtbot: Any, win: Any, target: int, timeout: int = 5000) -> None:
    """Wait until the explanation shown is of class `target` and every map for it is in."""

    def shown() -> bool:
        explanation = win.session.explanation()
        return explanation is not None and explanation.target == target

    qtbot.waitUntil(shown, timeout=timeout)
    wait_done(qtbot, win)


def open_and_wait(qtbot: Any, win: Any, path: str, timeout: int = 5000) -> None:
    win.open_paths([path])
    wait_done(qtbot, win, timeout)


def drop_urls(win: Any, paths: Any) -> Any:
    """Drop these files/folders on the window, as a file manager would (file URLs)."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    win.dropEvent(event)
    return event


def job_event(qtbot: Any, source: Any, lane: str, kind: str, timeout: int = 5000) -> Any:
    """`qtbot.waitSignal` for the next `JobEvent` of `lane` and `kind` ("done", "cancelled"...)
    from `source`, an `EngineClient` (current jobs only) or its `Worker` (every job)."""
    from saliency_desktop.ui.jobs import Kind

    want = Kind(kind)
    return qtbot.waitSignal(
        source.event, timeout=timeout, check_params_cb=lambda e: e.lane == lane and e.kind is want
    )
