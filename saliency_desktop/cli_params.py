"""Method parameters on the command line, from the registry: nothing here names a method.

`--param ID.NAME=VALUE` (any method's declared parameter, converted to its kind), and the
options of their own that a method declares on a parameter (`ParamInfo.option`, e.g. IG's
`--ig-steps`): each method's options form a group of `explain --help` under its label, and
their values are flat keywords of `explain()`.
May import: `cli_common`, the standard library, and the engine's public API inside functions.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from saliency_desktop.engine.types import ParamInfo


def number(text: str, kind: type, low: float, high: float, what: str) -> Any:
    """`text` as `kind` within [low, high]; an argparse error saying `what` it must be."""
    try:
        value = kind(text)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be {what}, not {text}")
    return value


def positive_int(text: str) -> int:
    return number(text, int, 1, sys.maxsize, "a positive integer")


def auto_or_positive_int(text: str) -> int | str:
    return "auto" if text.strip().lower() == "auto" else positive_int(text)


def method_param(text: str) -> tuple[str, str, Any]:
    """`ID.NAME=VALUE` -> (method id, parameter name, value of the declared kind) for --param."""
    from saliency_desktop.engine import get_method
    from saliency_desktop.engine.types import EngineError

    key, sep, raw = text.partition("=")
    mid, dot, name = key.strip().partition(".")
    if not sep or not dot or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not ID.NAME=VALUE")
    try:
        info = get_method(mid).info
    except EngineError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    declared = {p.name: p for p in info.params}
    if name not in declared:
        names = ", ".join(declared) or "none"
        raise argparse.ArgumentTypeError(f"{info.label} has no parameter {name!r} ({names})")
    kind = declared[name].kind
    try:
        value: Any = int(raw) if kind == "int" else float(raw) if kind == "float" else raw.strip()
        if kind == "int_or_auto" and value.lower() != "auto":
            value = int(value)
    except ValueError:
        what = "'auto' or an integer" if kind == "int_or_auto" else "a number"
        raise argparse.ArgumentTypeError(f"{mid}.{name} must be {what}, not {raw!r}") from None
    return mid, name, value


def params_by_method(pairs: Sequence[tuple[str, str, Any]] | None) -> dict[str, dict[str, Any]]:
    """`--param ID.NAME=VALUE` values (parsed by `method_param`) as {method id: {name: value}}."""
    out: dict[str, dict[str, Any]] = {}
    for mid, name, value in pairs or []:
        out.setdefault(mid, {})[name] = value
    return out


def param_example() -> str:
    """An `ID.NAME=VALUE` for the help: the first registered integer parameter, at its default."""
    from saliency_desktop.engine import list_methods

    for info in list_methods():
        for p in info.params:
            if p.kind == "int":
                return f"{info.id}.{p.name}={p.default}"
    return "ID.NAME=VALUE"


def _option_type(p: ParamInfo) -> Callable[[str], Any] | None:
    if p.kind == "int_or_auto":
        return auto_or_positive_int
    return {"int": int, "float": float}.get(p.kind)


def _declared_options() -> list[tuple[str, list[ParamInfo]]]:
    """(method label, its parameters that declare an option), in display order."""
    from saliency_desktop.engine import list_methods

    found = [(i.label, [p for p in i.params if p.option]) for i in list_methods()]
    return [(label, params) for label, params in found if params]


def add_method_options(parser: argparse.ArgumentParser) -> None:
    """Each method's own options (`ParamInfo.option`), a group per method; default None (the
    method's default, or what --param says)."""
    for label, params in _declared_options():
        group = parser.add_argument_group(label)
        for p in params:
            text = (p.help or p.label).replace("%", "%%")
            group.add_argument(
                p.option,
                type=_option_type(p),
                choices=p.choices or None,
                metavar=None if p.choices else "auto|N" if p.kind == "int_or_auto" else "VALUE",
                help=f"{text} (default {p.default})",
            )


def method_option_values(args: argparse.Namespace) -> dict[str, Any]:
    """{parameter name: value} of the method options given on the command line."""
    out: dict[str, Any] = {}
    for _, params in _declared_options():
        for p in params:
            value = getattr(args, p.option.lstrip("-").replace("-", "_"), None)
            if value is not None:
                out[p.name] = value
    return out
