"""The method registry: one class per method, registered with `@register`.

Adding a method is a one-file change: write a `SaliencyMethod` subclass in `methods/`, decorate
it with `@register`, and the contract tests, the CLI and the UI's method tree pick it up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from saliency_desktop.engine.types import EngineError, JobControl, MethodInfo

if TYPE_CHECKING:
    from saliency_desktop.engine.passes import PassCache

_REGISTRY: dict[str, type[SaliencyMethod]] = {}


class SaliencyMethod(ABC):
    """A saliency method. `compute` returns raw float32 arrays: (map, attributions, cam, extras)."""

    info: ClassVar[MethodInfo]

    def resolve_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Defaults filled in and values checked; unknown names are ignored."""
        out: dict[str, Any] = {}
        for p in self.info.params:
            value = params.get(p.name, p.default)
            if p.kind == "int":
                value = int(value)
            elif p.kind == "float":
                value = float(value)
            elif p.kind == "choice" and value not in p.choices:
                raise EngineError(
                    f"{self.info.label}: {p.name} must be one of {', '.join(p.choices)}, "
                    f"not {value!r}."
                )
            if p.minimum is not None and value < p.minimum:
                raise EngineError(f"{self.info.label}: {p.name} must be >= {p.minimum}.")
            if p.maximum is not None and value > p.maximum:
                raise EngineError(f"{self.info.label}: {p.name} must be <= {p.maximum}.")
            out[p.name] = value
        return out

    @abstractmethod
    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        """Return (map, attributions or None, cam or None, extras) as float32 numpy arrays."""


def register(cls: type[SaliencyMethod]) -> type[SaliencyMethod]:
    if cls.info.id in _REGISTRY:
        raise ValueError(f"method id {cls.info.id!r} registered twice")
    _REGISTRY[cls.info.id] = cls
    return cls


def _load_builtin() -> None:
    # Importing the modules registers their classes; none of them imports TensorFlow at import.
    from saliency_desktop.engine.methods import cam, gradients, integrated  # noqa: F401


_FAMILY_ORDER = {"gradients": 0, "cam": 1, "path": 2}


def _ordered() -> list[type[SaliencyMethod]]:
    """Display order: by family, then by registration within a family (import-order free)."""
    _load_builtin()
    return sorted(_REGISTRY.values(), key=lambda cls: _FAMILY_ORDER.get(cls.info.family, 9))


def method_ids() -> list[str]:
    return [cls.info.id for cls in _ordered()]


def list_methods() -> list[MethodInfo]:
    """Descriptions of every registered method, in display order."""
    return [cls.info for cls in _ordered()]


def get_method(method_id: str) -> SaliencyMethod:
    _load_builtin()
    try:
        return _REGISTRY[method_id]()
    except KeyError:
        raise EngineError(
            f"Unknown method {method_id!r}; known methods: {', '.join(method_ids())}."
        ) from None
