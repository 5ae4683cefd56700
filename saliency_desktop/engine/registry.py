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
            elif p.kind == "int_or_auto":
                value = self._int_or_auto(p.name, value)
                if value == "auto":
                    out[p.name] = value
                    continue
            elif p.kind == "folder":
                out[p.name] = str(value or "").strip()
                continue
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

    def _int_or_auto(self, name: str, value: Any) -> int | str:
        """'auto' (any case) or an integer (an int, or a string or float holding one)."""
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(value, bool) or not number.is_integer():
            raise EngineError(
                f"{self.info.label}: {name} must be 'auto' or an integer, not {value!r}."
            )
        return int(number)

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        """Relative cost, in single forward+backward passes, for progress weighting."""
        return 1.0

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


_LOADED = False


def _load_builtin() -> None:
    """Import every module of `engine/methods/` (importing a module registers its classes).

    Discovered, not listed: adding a method is one new file. None of them imports TensorFlow at
    import time."""
    global _LOADED
    if _LOADED:
        return
    import importlib
    import pkgutil

    from saliency_desktop.engine import methods

    for mod in sorted(pkgutil.iter_modules(methods.__path__), key=lambda m: m.name):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{methods.__name__}.{mod.name}")
    _LOADED = True


_FAMILY_ORDER = {"gradients": 0, "cam": 1, "perturbation": 2, "path": 3}


def _ordered() -> list[type[SaliencyMethod]]:
    """Display order: by family, then by `info.order`, then by id (import-order free)."""
    _load_builtin()
    return sorted(
        _REGISTRY.values(),
        key=lambda c: (_FAMILY_ORDER.get(c.info.family, 9), c.info.order, c.info.id),
    )


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
