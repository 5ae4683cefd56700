"""The engine's Keras backend as a preference: Model > Engine backend (TensorFlow, JAX, PyTorch).

At start, the saved choice sets `KERAS_BACKEND` before the engine thread imports Keras (unless
`--backend`, `SALIENCY_DESKTOP_BACKEND` or `KERAS_BACKEND` already chose). A change while the
app runs switches the engine in its own thread (`engine.switch_backend`, which re-imports Keras
on the new backend and drops the engine's compiled passes), then reloads the model from its
file there: the app and its images stay, the maps are computed again on the new backend.

The switch and the reload are one job (`switch_job`): the old model's Keras objects are
unusable after a switch, so the model is never kept across one. When the new backend does not
start or the model does not load there, the switch is undone (back to the previous backend,
the model reloaded there, and a message says why): a user who tries JAX on a model that JAX
cannot load keeps working where they were. Only a model that loads on neither leaves none.

Only backends whose framework is installed can be chosen; that is asked of
`importlib.util.find_spec`, which finds a package without importing it (this module never
imports TensorFlow, Keras, JAX or torch).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from saliency_desktop.engine import BACKEND_ENV, BACKENDS, choose_backend
from saliency_desktop.engine.types import CancelledError, EngineError
from saliency_desktop.ui.engine_api import LoadedModelState, ModelRequest
from saliency_desktop.ui.jobs import (
    MODEL,
    WARM_UP,
    JobContext,
    Kind,
    load_model_job,
    route,
    warm_up_job,
)

if TYPE_CHECKING:
    from saliency_desktop.ui.settings import Settings

log = logging.getLogger(__name__)

KEY = "engine/backend"
LANE = "backend"  # the engine client's lane of switch jobs
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


@dataclass(frozen=True)
class Switched:
    """What a switch job did (its payload): the backend the engine runs on now, the model
    reloaded there (None: no model), why the switch was undone (empty when it was not) and
    why the model could not come back either (empty when it did)."""

    backend: str
    state: LoadedModelState | None
    problem: str = ""
    stranded: str = ""


def switch_job(
    backend: str, previous: str, request: ModelRequest | None
) -> Callable[[JobContext], Switched]:
    """Switch the engine to `backend` and reload `request` there, as one job (engine thread).

    `keras.config.set_backend` leaves every Keras object made before unusable, so the model is
    dropped as soon as the switch is made. When the new backend does not start or the model
    does not load there, the switch is undone: back to `previous`, the model reloaded there.
    A model that loads on neither leaves none: a stale model is never kept. A switch that is
    refused before anything changed (an `EngineError`) fails the job and keeps the model."""

    def run(ctx: JobContext) -> Switched:
        try:
            now = ctx.engine.switch_backend(backend)
        except EngineError:
            raise
        except Exception as exc:  # Keras may be half re-imported: nothing of it is kept
            log.exception("the engine could not start on %s", backend)
            return _undo(ctx, previous, request, _why(exc))
        ctx.keep_model(None)  # its Keras objects died with the old backend
        if request is None:
            return Switched(now, None)
        try:
            return Switched(now, load_model_job(request)(ctx))
        except CancelledError:  # the app is closing
            raise
        except Exception as exc:
            log.warning("%s does not load on %s", request.spec, backend, exc_info=True)
            return _undo(ctx, previous, request, _why(exc))

    return run


def _undo(ctx: JobContext, previous: str, request: ModelRequest | None, why: str) -> Switched:
    ctx.keep_model(None)
    try:
        now = ctx.engine.switch_backend(previous)
        state = None if request is None else load_model_job(request)(ctx)
    except Exception as exc:
        log.warning("the model did not come back on %s", previous, exc_info=True)
        ctx.keep_model(None)
        return Switched(_now(ctx, previous), None, why, _why(exc))
    return Switched(now, state, why)


def _now(ctx: JobContext, guess: str) -> str:
    """The backend Keras runs on after a switch that failed both ways (`guess` if unknown)."""
    try:
        return str(ctx.engine.versions().get("backend", guess))
    except Exception:
        log.exception("the engine's backend is unknown")
        return guess


def _why(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith((".", "!", "?")) else f"{text}."


def undone_message(done: Switched, wanted: str, had_model: bool) -> str:
    """One message for a switch that was undone (`done.problem` set): what failed, where the
    engine is now, and whether a model is loaded."""
    now = label(done.backend)
    if not had_model:
        return f"Cannot switch to {label(wanted)}:\n{done.problem}\n\nThe engine stays on {now}."
    text = f"Cannot run the model on {label(wanted)}:\n{done.problem}\n\n"
    if done.state is not None:
        return f"{text}The engine is back on {now}, with the model reloaded there."
    return (
        f"{text}The engine is back on {now}, but the model did not load there either:\n"
        f"{done.stranded}\n\nNo model is loaded: open one from the Model menu."
    )


class BackendChoice(QObject):
    """The Engine backend submenu and the switch it starts."""

    switched = Signal(str)  # the backend now in use, after a successful switch

    def __init__(self, win: Any, menu: QMenu) -> None:  # the main window (no import circle)
        super().__init__(win)
        self.win, self.menu = win, menu
        self.current = running()
        self._wanted = ""  # the backend of the switch under way ("" when none is)
        self._held: LoadedModelState | None = None  # the model while a switch is under way
        self._carried: ModelRequest | None = None  # the model the switch reloads
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        self._installed = {name: installed(name) for name in BACKENDS}
        for name in BACKENDS:
            action = QAction(LABELS[name], self, checkable=True)
            ok = self._installed[name]
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
        menu.setToolTipsVisible(True)  # why a backend cannot be chosen, on the greyed item
        self._enable(True)
        self._check(self.current)
        win.session.client.event.connect(
            route({(LANE, Kind.DONE): self._on_done, (LANE, Kind.FAILED): self._on_failed})
        )
        win.session.model_ready.connect(self._on_model_ready)

    def choose(self, backend: str) -> None:
        """Switch the engine to `backend` and reload the model there (GUI thread): the model
        being loaded if a load is under way, else the model loaded."""
        if backend == self.current or self._wanted:
            return self._check(self.current)
        session, client = self.win.session, self.win.session.client
        state = session.model
        # the model to bring along: the one being loaded (its load is cancelled), else this one
        request = client.loading if client.is_busy(MODEL) else state and state.request
        if request is not None and backend != "tensorflow" and Path(request.spec).is_dir():
            self._check(self.current)
            return self._say(
                "This model is a TensorFlow SavedModel folder, which runs on TensorFlow only: "
                "export it as .keras to run it on another backend."
            )
        for lane in list(client.current):  # every job of the old backend
            client.cancel(lane)
        self._wanted, self._held, self._carried = backend, state, request
        session.model = None  # nothing runs on the old model from now on
        session.backend = backend
        session.busy.emit(False)
        self._enable(False)  # one switch at a time
        reload = " and reloading the model" if request is not None else ""
        self.win.statusBar().showMessage(f"Switching the engine to {label(backend)}{reload}...")
        client.submit(LANE, switch_job(backend, self.current, request), f"switch to {backend}")
        if request is not None:
            same = state is not None and request == state.request
            session.model_loading.emit(state.info.label if same else session.loading_label)
            client.submit(WARM_UP, warm_up_job, "warm-up")

    def _on_done(self, done: Switched) -> None:
        wanted, had_model = self._finish(done.backend)
        if done.state is not None:
            self.win.session.adopt_model(done.state, same=True)
        if done.backend == wanted and not done.problem:  # `switched` sees the model reloaded
            if self.win.persist:
                save(self.win.settings, done.backend)
            log.info("the engine now runs on %s", done.backend)
            self.switched.emit(done.backend)
        message = undone_message(done, wanted, had_model) if done.problem else ""
        if done.state is None and had_model:  # the window says so and shows "No model"
            self.win.session.drop_model(message)
        elif message:
            self._say(message, f"Still on {label(done.backend)}: {label(wanted)} did not work.")

    def _on_failed(self, message: str) -> None:
        """Refused before anything changed: the engine and its model are as they were."""
        held, carried = self._held, self._carried
        self._finish(self.current)
        if held is not None:
            self.win.session.adopt_model(held, new=False, same=True)
        if carried is not None and (held is None or carried != held.request):
            self.win.session.load_model(carried, self.win.session.loading_label)  # cancelled
        self._say(message)

    def _finish(self, backend: str) -> tuple[str, bool]:
        wanted, had_model = self._wanted, self._carried is not None
        self._wanted, self._held, self._carried = "", None, None
        self.current = self.win.session.backend = backend
        self._check(backend)
        self._enable(True)
        return wanted, had_model

    def _say(self, message: str, short: str = "") -> None:
        self.win.statusBar().showMessage(short or message)
        from saliency_desktop.ui import dialogs

        dialogs.show_error(self.win, "Cannot switch the backend", message)

    def _on_model_ready(self, state: LoadedModelState) -> None:
        backend = state.versions.get("backend")
        if backend in self.actions and not self._wanted:
            self.current = backend
            self._check(backend)

    def _enable(self, on: bool) -> None:
        for name, action in self.actions.items():
            action.setEnabled(on and self._installed[name])

    def _check(self, backend: str) -> None:
        action = self.actions.get(backend)
        if action is not None:
            action.setChecked(True)
