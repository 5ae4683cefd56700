"""Persistent preferences (QSettings, INI format, so tests can point it at a temporary file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from saliency_desktop.ui.engine_api import ModelRequest

ORGANIZATION = "saliency-desktop"
APPLICATION = "Saliency Desktop"
MAX_RECENT = 10


class Settings:
    """Typed access to the app's QSettings. `path` gives a private file (tests, screenshot)."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            self.q = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
            )
        else:
            self.q = QSettings(str(path), QSettings.Format.IniFormat)

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self.q.value(key, default)
        try:
            if kind is bool and isinstance(value, str):
                return value.lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    # window
    def geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self) -> QByteArray | None:
        value = self.q.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray | None) -> None:
        """The window's geometry and dock state (None: forget the state)."""
        self.q.setValue("window/geometry", geometry)
        if state is None:
            self.q.remove("window/state")
        else:
            self.q.setValue("window/state", state)

    # view
    @property
    def opacity(self) -> float:
        return min(max(self._get("view/opacity", 0.5, float), 0.0), 1.0)

    @opacity.setter
    def opacity(self, value: float) -> None:
        self.q.setValue("view/opacity", float(value))

    @property
    def colormap(self) -> str:
        return str(self.q.value("view/colormap", "auto"))

    @colormap.setter
    def colormap(self, value: str) -> None:
        self.q.setValue("view/colormap", value)

    # export
    @property
    def full_paths(self) -> bool:
        """Keep absolute paths in exported JSON records (off: file names and SHA-256 only)."""
        return bool(self._get("export/full_paths", False, bool))

    @full_paths.setter
    def full_paths(self, value: bool) -> None:
        self.q.setValue("export/full_paths", bool(value))

    # methods
    def methods(self) -> list[str] | None:
        raw = self.q.value("methods/selected")
        if raw is None:
            return None
        try:
            value = json.loads(str(raw))
        except ValueError:
            return None
        return [str(m) for m in value] if isinstance(value, list) else None

    def set_methods(self, ids: list[str]) -> None:
        self.q.setValue("methods/selected", json.dumps(list(ids)))

    def method_params(self) -> dict[str, Any]:
        try:
            value = json.loads(str(self.q.value("methods/params", "{}")))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def set_method_params(self, params: dict[str, Any]) -> None:
        self.q.setValue("methods/params", json.dumps(params))

    def rates(self) -> dict[tuple[str, str], float]:
        """(model spec, method) -> measured seconds per step (for the time estimates)."""
        try:
            value = json.loads(str(self.q.value("methods/rates", "{}")))
            return {
                tuple(k.split("|", 1)): float(v)  # type: ignore[misc]
                for k, v in value.items()
                if "|" in k and float(v) > 0
            }
        except (ValueError, TypeError, AttributeError):
            return {}

    def set_rates(self, rates: dict[tuple[str, str], float]) -> None:
        self.q.setValue("methods/rates", json.dumps({f"{a}|{b}": r for (a, b), r in rates.items()}))

    # model
    def last_model(self) -> ModelRequest | None:
        spec = self.q.value("model/spec")
        if not spec:
            return None
        prep = self.q.value("model/preprocessing") or None
        labels = self.q.value("model/labels") or None
        return ModelRequest(str(spec), prep and str(prep), labels and str(labels))

    def set_last_model(self, request: ModelRequest) -> None:
        # "trust this model" is never remembered: it is asked again for every file.
        self.q.setValue("model/spec", request.spec)
        self.q.setValue("model/preprocessing", request.preprocessing or "")
        self.q.setValue("model/labels", request.labels or "")

    # recent files
    def recent_files(self) -> list[str]:
        try:
            value = json.loads(str(self.q.value("files/recent", "[]")))
        except ValueError:
            return []
        return [str(p) for p in value][:MAX_RECENT] if isinstance(value, list) else []

    def add_recent(self, path: str) -> list[str]:
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.q.setValue("files/recent", json.dumps(recent[:MAX_RECENT]))
        return recent[:MAX_RECENT]

    def clear_recent(self) -> None:
        self.q.setValue("files/recent", "[]")

    def last_dir(self, kind: str) -> str:
        return str(self.q.value(f"dirs/{kind}", ""))

    def set_last_dir(self, kind: str, path: str) -> None:
        self.q.setValue(f"dirs/{kind}", str(Path(path).parent if Path(path).is_file() else path))

    def sync(self) -> None:
        self.q.sync()
