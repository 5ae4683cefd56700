"""The package's import boundaries, read from the source (AST), so no module is imported.

- `engine/` never imports Qt, `render/`, `ui/` or the CLI modules.
- Outside `engine/`, the engine is reached through its public API only: the names in
  `saliency_desktop.engine.__all__`, and the plain dataclasses of `engine.types` and
  `engine.metric_types`. No other engine module, `engine.methods` included.
- `render/` never imports Qt or `ui/`; `ui/` never imports TensorFlow, Keras, JAX or torch, and
  only `ui/engine_api.py` calls the engine's model work (loading, explaining, evaluating).
- Nobody imports a private name (`_x`) from another module, nor a private module from
  outside its own folder.
- Each package's `__init__` docstring says what lives there and what it may import.
- No import circle between the package's modules at run time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "saliency_desktop"
PUBLIC_ENGINE = {
    "saliency_desktop.engine",
    "saliency_desktop.engine.types",
    "saliency_desktop.engine.metric_types",
}
MODEL_WORK = {  # run on the engine's thread, behind ui/engine_api.EngineAdapter
    "load_model",
    "explain",
    "evaluate",
    "predict_dataset",
    "predict_source",
    "explain_mistakes",
}
FRAMEWORKS = ("tensorflow", "keras", "jax", "torch")
CLI_MODULES = (
    "cli", "cli_params", "batch", "explain_cmd", "evaluate_cmd", "predict_cmd", "selftest",
    "__main__",
)  # fmt: skip


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, absolute module, imported names) for every import in `path`."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            yield node.lineno, module, [a.name for a in node.names]


def _sources(folder: str = "") -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py")) if folder else sorted(ROOT.rglob("*.py"))


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT.parent)}:{line}"


def _engine_import_problem(module: str, names: list[str]) -> str | None:
    """Why an import from outside `engine/` breaks the engine's public API, or None."""
    if module.startswith("saliency_desktop.engine.") and module not in PUBLIC_ENGINE:
        return f"imports {module} (use saliency_desktop.engine's public names)"
    if module == "saliency_desktop.engine":
        from saliency_desktop import engine

        hidden = [n for n in names if n not in engine.__all__]
        if hidden:
            return f"imports {', '.join(hidden)}, not in saliency_desktop.engine.__all__"
    return None


def test_engine_imports_no_qt_and_nothing_above_it():
    bad = [
        f"{_where(p, line)} imports {m}"
        for p in _sources("engine")
        for line, m, _ in _imports(p)
        if m.startswith(("PySide6", "saliency_desktop.render", "saliency_desktop.ui"))
        or m.removeprefix("saliency_desktop.") in CLI_MODULES
    ]
    assert bad == []


@pytest.mark.parametrize("folder", ["render", "ui", "cluster", "top level"])
def test_outside_the_engine_only_its_public_api_is_imported(folder):
    paths = [p for p in _sources() if p.parent == ROOT] if folder == "top level" else None
    bad = []
    for path in paths or _sources(folder):
        for line, module, names in _imports(path):
            problem = _engine_import_problem(module, names)
            if problem:
                bad.append(f"{_where(path, line)} {problem}")
    assert bad == []


def test_render_imports_no_qt_and_no_ui():
    bad = [
        f"{_where(p, line)} imports {m}"
        for p in _sources("render")
        for line, m, _ in _imports(p)
        if m.startswith(("PySide6", "saliency_desktop.ui", *FRAMEWORKS))
    ]
    assert bad == []


def test_ui_imports_only_ui_render_and_the_engine_api():
    allowed = ("saliency_desktop.ui", "saliency_desktop.render", *PUBLIC_ENGINE)
    bad = []
    for path in _sources("ui"):
        for line, module, names in _imports(path):
            if module.split(".")[0] in FRAMEWORKS:
                bad.append(f"{_where(path, line)} imports {module}")
            elif module.startswith("saliency_desktop") and not (
                module in ("saliency_desktop", "saliency_desktop.atomic")
                or module.startswith(allowed)
            ):
                bad.append(f"{_where(path, line)} imports {module}")
            elif module == "saliency_desktop.engine" and path.name != "engine_api.py":
                work = sorted(MODEL_WORK & set(names))
                if work:
                    bad.append(f"{_where(path, line)} calls {work} outside engine_api.py")
    assert bad == []


def test_no_private_names_across_modules():
    bad = []
    for path in _sources():
        for line, module, names in _imports(path):
            if not module.startswith("saliency_desktop"):
                continue
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if private:
                bad.append(f"{_where(path, line)} imports {', '.join(private)} from {module}")
            parent, _, last = module.rpartition(".")
            own = ".".join(path.relative_to(ROOT.parent).parent.parts)
            if last.startswith("_") and not last.startswith("__") and parent != own:
                bad.append(f"{_where(path, line)} imports the private module {module}")
    assert bad == []


def test_every_package_says_what_it_holds_and_may_import():
    missing = []
    for init in sorted(ROOT.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        if "may import" not in doc.lower() or len(doc.split()) < 12:
            missing.append(str(init.relative_to(ROOT.parent)))
    assert missing == []


def _runtime_imports(path: Path, module: str, types_too: bool = False) -> set[str]:
    """The package's modules that `path` imports when it runs (and, with `types_too`, those
    it imports for type hints only, under TYPE_CHECKING)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if (
                not types_too
                and isinstance(child, ast.If)
                and "TYPE_CHECKING" in ast.unparse(child.test)
            ):
                continue  # type-only: never imported at run time
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = package.rsplit(".", child.level - 1)[0] if child.level else ""
                target = ".".join(p for p in (base, child.module or "") if p)
                subs = {f"{target}.{a.name}" for a in child.names}
                found.update(subs if subs <= MODULES else {target})
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found & MODULES - {module}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p) for p in ROOT.rglob("*.py")}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    return circles


def test_no_import_circle():
    """Module-level and in-function imports alike; the registry finds its plugins by walking
    `engine/methods/` (pkgutil), which no import statement shows."""
    graph = {_module_name(p): _runtime_imports(p, _module_name(p)) for p in _sources()}
    assert _circles(graph) == []


def test_the_app_has_no_import_circle_even_for_type_hints():
    """In `ui/`, each part gets what it needs (a window is never a service locator): no
    module imports the window, even for a type hint, that the window imports."""
    graph = {_module_name(p): _runtime_imports(p, _module_name(p), True) for p in _sources("ui")}
    assert _circles(graph) == []


def test_method_ids_appear_only_in_their_own_files():
    """The registry is the one source of truth: no module names a method id (in code, strings,
    comments or docstrings) except the file that registers it. Everything else asks the
    registry (`MethodInfo`, `ParamInfo`). A method's module path (`methods.<file>`, named after
    the method) is a file name, not an id, so it does not count."""
    import inspect

    from saliency_desktop.engine.registry import get_method, method_ids

    own = {m: Path(inspect.getfile(type(get_method(m)))).resolve() for m in method_ids()}
    words = {m: re.compile(rf"(?<!\w)(?<!methods\.){m}(?!\w)") for m in own}
    bad = []
    for path in _sources():
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            bad += [
                f"{_where(path, number)} names {mid}"
                for mid, word in words.items()
                if own[mid] != path.resolve() and word.search(line)
            ]
    assert bad == []


def _module_level_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of the imports a module runs when it is imported: its top-level import
    statements (not those in functions, nor under `if TYPE_CHECKING:`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {n.lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)}
    return [(line, module) for line, module, _ in _imports(path) if line in top]


def test_frameworks_and_ray_are_imported_inside_functions_only():
    """The engine's and the CLI's rule: importing a module never loads TensorFlow, Keras, JAX,
    torch or Ray (they load when a function needs them)."""
    bad = [
        f"{_where(p, line)} imports {m} at module level"
        for p in _sources()
        if p.relative_to(ROOT).parts[0] != "ui"
        for line, m in _module_level_imports(p)
        if m.split(".")[0] in (*FRAMEWORKS, "ray")
    ]
    assert bad == []


def test_backends_import_numpy_types_and_the_standard_library_only_at_module_level():
    import sys

    allowed = ("numpy", "saliency_desktop.engine.types", "__future__")
    bad = [
        f"{_where(p, line)} imports {m} at module level"
        for p in _sources("engine/backends")
        for line, m in _module_level_imports(p)
        if m.split(".")[0] not in sys.stdlib_module_names and not m.startswith(allowed)
    ]
    assert bad == []


def test_cluster_imports_cli_common_compute_and_the_engine_api_only():
    allowed = (
        "saliency_desktop.cli_common",
        "saliency_desktop.compute",
        "saliency_desktop.cluster",
    )
    bad = [
        f"{_where(p, line)} imports {m}"
        for p in _sources("cluster")
        for line, m, _ in _imports(p)
        if m.startswith("PySide6")
        or (m.startswith("saliency_desktop") and not m.startswith((*allowed, *PUBLIC_ENGINE)))
    ]
    assert bad == []
