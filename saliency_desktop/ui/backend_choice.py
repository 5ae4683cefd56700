"""The engine's Keras backend as a preference: Model > Engine backend (TensorFlow, JAX, PyTorch).

At start, the saved choice sets `KERAS_BACKEND` before the engine thread imports Keras (unless
`--backend`, `SALIENCY_DESKTOP_BACKEND` or `KERAS_BACKEND` already chose). A change while the
app runs switches the engine in its own thread (`engine.switch_backend`, which re-imports Keras
on the new backend and drops the engine's compiled passes), then reloads the model from its
file there: the app and its images stay, the maps are computed again on the new backend.

Only backends whose framework is installed can be chosen; that is asked of
`importlib.util.find_spec`, which finds a package without importing it (this module never
imports TensorFlow, Keras, JAX or torch).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from saliency_desktop.engine import BACKEND_ENV, BACKENDS, choose_backend
from saliency_desktop.engine.types import EngineError
from saliency_desktop.ui.engine_api import LoadedModelState

if TYPE_CHECKING:
    from saliency_desktop.ui.settings import Settings

log = logging.getLogger(__name__)

KEY = "engine/backend"
LABELS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
EXTRAS = {"tensorflow": "saliency-desktop", "jax": "saliency-desktop[jax]",
          "torch": "saliency-desktop[torch]"}  # fmt: skip


def label(backend: str) -> str:
    return LABELS.get(backend, backend)


def installed(backend: str) -> bool:
    """True when the backend's framework can be imported (found, not imported)."""
    return importlib.util.find_spec(backend) is not None


def saved(settings: Settings) -> str | None:
    value = str(settings.q.value(KEY, "") or "")
    return value if value in BACKENDS else None


def save(settings: Settings, backend: str) -> None:
    settings.q.setValue(KEY, backend)


def running() -> str:
    """The backend Keras runs on, or will run on when the engine thread imports it."""
    keras = sys.modules.get("keras")  # read only: the engine thread imported it
    if keras is not None:
        return str(keras.backend.backend())
    name = os.environ.get("KERAS_BACKEND", "tensorflow")
    return name if name in BACKENDS else "tensorflow"


def apply_saved(settings: Settings) -> str | None:
    """At start: the saved backend, unless the command line or the environment chose one, or
    Keras is already imported. Returns the backend set, or None (the default stays)."""
    choice = saved(settings)
    chosen_elsewhere = os.environ.get(BACKEND_ENV) or os.environ.get("KERAS_BACKEND")
    if choice is None or chosen_elsewhere or "keras" in sys.modules:
        return None
    try:
        return choose_backend(choice)
    except EngineError as exc:  # uninstalled since: the default, and say why in the log
        log.warning("the saved backend %s is not used: %s", choice, exc)
        return None


class _SwitchWorker(QObject):
    """Lives in the engine thread: switches the backend between two of the worker's jobs."""

    done = Signal(str)  # the backend now in use
    failed = Signal(str)  # one line for the user

    def __init__(self, engine: Any) -> None:
        super().__init__()
        self._engine = engine

    @Slot(str)
    def switch(self, backend: str) -> None:
        try:
            self.done.emit(str(self._engine.switch_backend(backend)))
        except EngineError as exc:
            log.warning("backend switch to %s failed: %s", backend, exc, exc_info=True)
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("backend switch to %s failed", backend)
            why = f"Cannot switch to {label(backend)}: {exc}."
            self.failed.emit(f"{why} The details are in the log (Help > Show log).")


class BackendChoice(QObject):
    """The Engine backend submenu and the switch it starts."""

    switched = Signal(str)  # the backend now in use, after a successful switch
    _requested = Signal(str)

    def __init__(self, win: Any, menu: QMenu) -> None:  # the main window (no import circle)
        super().__init__(win)
        self.win = win
        self.current = running()
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for name in BACKENDS:
            action = QAction(LABELS[name], self, checkable=True)
            ok = installed(name)
            action.setEnabled(ok)
            tip = (
                f"Run the model on {LABELS[name]}"
                if ok
                else (f"{LABELS[name]} is not installed: pip install '{EXTRAS[name]}'")
            )
            action.setStatusTip(tip)
            action.setToolTip(tip)
            action.triggered.connect(lambda _=False, n=name: self.choose(n))
            self.group.addAction(action)
            menu.addAction(action)
            self.actions[name] = action
        self._check(self.current)
        client = win.session.client
        self.worker = _SwitchWorker(win.engine)
        self.worker.moveToThread(client.thread)
        client.thread.finished.connect(self.worker.deleteLater)
        self._requested.connect(self.worker.switch)
        self.worker.done.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        win.session.model_ready.connect(self._on_model_ready)

    def choose(self, backend: str) -> None:
        """Switch the engine to `backend`, then reload the model there (GUI thread)."""
        if backend == self.current:
            return self._check(backend)
        state = self.win.session.model
        if state is not None and backend != "tensorflow" and Path(state.request.spec).is_dir():
            self._check(self.current)
            return self._on_failed(
                "This model is a TensorFlow SavedModel folder, which runs on TensorFlow only: "
                "export it as .keras to run it on another backend."
            )
        client = self.win.session.client
        for lane in list(client.current):  # every job of the old backend
            client.cancel(lane)
        self.win.statusBar().showMessage(f"Switching the engine to {label(backend)}...")
        self._requested.emit(backend)  # queued before the reload: the engine thread runs both
        if state is not None:  # in order, so no job sees the old model on the new backend
            self.win.session.load_model(state.request, state.info.label)

    @Slot(str)
    def _on_done(self, backend: str) -> None:
        self.current = backend
        self._check(backend)
        if self.win.persist:
            save(self.win.settings, backend)
        log.info("the engine now runs on %s", backend)
        self.switched.emit(backend)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._check(self.current)
        self.win.statusBar().showMessage(message)
        from saliency_desktop.ui import dialogs

        dialogs.show_error(self.win, "Cannot switch the backend", message)

    def _on_model_ready(self, state: LoadedModelState) -> None:
        backend = state.versions.get("backend")
        if backend in self.actions:
            self.current = backend
            self._check(backend)

    def _check(self, backend: str) -> None:
        action = self.actions.get(backend)
        if action is not None:
            action.setChecked(True)
