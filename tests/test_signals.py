"""Every Qt signal the app declares is connected somewhere in the app: no dead signals.

Read from the source, so no module is imported. A signal emitted but never connected costs a
reader the search for its listener; it is removed, or listed below with where it is wired.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "saliency_desktop"
NOT_CONNECTED_HERE = {
    "ping": "the PySide6 emit probe in ui/__init__.py counts references, it needs no listener",
    "explain_requested": "the data-set panel's row click; the window's dock wires it (issue 19)",
    "switched": "the end of a backend switch (ui/backend_choice.py); tests/ui/backend_switch_case"
    " waits on it, the status bar is updated by the model reload that follows",
}


def _declared_signals() -> dict[str, str]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", "") == "Signal"
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
    return found


def test_every_declared_signal_is_connected():
    source = "\n".join(p.read_text(encoding="utf-8") for p in ROOT.rglob("*.py"))
    signals = _declared_signals()
    assert len(signals) > 10  # the scan sees the app's signals
    dead = [
        f"{where} {name}"
        for name, where in signals.items()
        if name not in NOT_CONNECTED_HERE and not re.search(rf"\.{name}\s*\.connect\(", source)
    ]
    assert dead == []
