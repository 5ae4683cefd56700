"""Which TensorFlow ops a SavedModel can run, read from its protobuf without executing anything.

A SavedModel is a TensorFlow program: its graph may write or read files, run Python
(`PyFunc`), or open network connections, and it does so when it is called (and, for resource
initialisers, when it is loaded). Before a SavedModel is loaded in safe mode, `risky_ops`
parses `saved_model.pb` with `saved_model_pb2` (no op runs, no function is traced) and walks
everything that loading or calling the model can execute:

- the graph nodes behind the outputs of the `serving_default` signature and of the
  `__saved_model_init_op` (the op `tf.saved_model.load` runs), followed through their inputs;
- every concrete function of the object graph (the model's methods and its resources'
  `_create_resource` / `_initialize` / `_destroy_resource`), and every gradient function the
  library registers (they run when gradients are taken, as every saliency method does);
- transitively, every function those call: through `StatefulPartitionedCall`/`PartitionedCall`
  `f` attributes, any function-valued attribute (`While`/`If` bodies and branches, `MapDataset`
  functions ...) and nodes whose op is a library function.

The checkpoint functions (`__inference__traced_save_*` / `_restore_*`, with `SaveV2` and
`RestoreV2`) are reached only from the saver nodes of the graph, never from the serving
signature: a clean `model.export()` or `tf.saved_model.save` passes.

Every op found is checked against `safe_ops.ALLOWED` (math, array, NN, control-flow and
variable ops); the rest is reported, with what the known dangerous ones do (`safe_ops.DANGER`).
`PrintV2` is allowed only when it prints to stdout, stderr or the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from saliency_desktop.engine.safe_ops import ALLOWED, DANGER, PRINT_STREAMS
from saliency_desktop.engine.types import ModelError

SERVING = "serving_default"
INIT_OP = "__saved_model_init_op"
MAX_PROTO_BYTES = 2**31  # protobuf's own limit for one message


def read_meta_graph(folder: Path) -> Any:
    """The first meta graph of `folder/saved_model.pb` (a `MetaGraphDef`), parsed only."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    pb = folder / "saved_model.pb"
    if not pb.is_file():
        raise ModelError(f"{folder.name}: not a SavedModel folder (no saved_model.pb in it).")
    if pb.stat().st_size >= MAX_PROTO_BYTES:
        raise ModelError(f"{folder.name}: saved_model.pb is over 2 GB, more than protobuf reads.")
    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString(pb.read_bytes())
    except DecodeError as exc:
        raise ModelError(f"{folder.name}: saved_model.pb is damaged ({exc}).") from None
    if not saved.meta_graphs:
        raise ModelError(f"{folder.name}: saved_model.pb holds no graph.")
    return saved.meta_graphs[0]


def _attr_functions(attrs: Any) -> Iterator[str]:
    """Names of the functions in a node's attributes (`f`, `body`, `then_branch`, lists ...)."""
    for value in attrs.values():
        if value.HasField("func"):
            yield value.func.name
        elif value.HasField("list"):
            yield from (f.name for f in value.list.func)


def _root_nodes(meta: Any) -> list[str]:
    """Graph nodes whose values `tf.saved_model.load` and the serving signature compute."""
    names = []
    for key in (SERVING, INIT_OP):
        if key in meta.signature_def:
            outputs = meta.signature_def[key].outputs.values()
            names += [t.name.lstrip("^").split(":")[0] for t in outputs]
    return names


def _graph_walk(meta: Any, roots: Iterable[str]) -> tuple[list[Any], set[str]]:
    """Graph nodes reachable (through inputs) from `roots`, and the functions they call."""
    by_name = {n.name: n for n in meta.graph_def.node}
    seen: set[str] = set()
    stack = [r for r in roots if r in by_name]
    nodes, functions = [], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = by_name[name]
        nodes.append(node)
        functions.update(_attr_functions(node.attr))
        for inp in node.input:
            src = inp.lstrip("^").split(":")[0]
            if src in by_name and src not in seen:
                stack.append(src)
    return nodes, functions


def reachable_nodes(meta: Any) -> list[Any]:
    """Every `NodeDef` that loading or calling the model can run (see the module docstring).

    A node whose op is a library function is a call: the function's nodes are listed instead."""
    library = {f.signature.name: f for f in meta.graph_def.library.function}
    graph_nodes, pending = _graph_walk(meta, _root_nodes(meta))
    pending |= set(meta.object_graph_def.concrete_functions)
    pending |= {g.gradient_func for g in meta.graph_def.library.gradient}
    pending |= {g.gradient_func for g in meta.graph_def.library.registered_gradients}
    nodes, done = [], set()
    queue = list(graph_nodes)
    while queue or pending:
        for node in queue:
            pending.update(_attr_functions(node.attr))
            if node.op in library:
                pending.add(node.op)
            else:
                nodes.append(node)
        queue = []
        name = pending.pop() if pending else ""
        if name in library and name not in done:
            done.add(name)
            queue = list(library[name].node_def)
    return nodes


def _problem(node: Any) -> str | None:
    """The op's name (and what it does, when known) if it is not allowed, else None."""
    op = node.op
    if op == "PrintV2":
        attr = node.attr.get("output_stream")  # absent when it is the default, stderr
        stream = attr.s.decode("utf-8", "replace") if attr is not None else "stderr"
        return None if stream in PRINT_STREAMS else f"PrintV2 (prints to the file {stream!r})"
    if op in ALLOWED:
        return None
    return f"{op} ({DANGER[op]})" if op in DANGER else op


def risky_ops(folder: Path) -> list[str]:
    """The ops of the SavedModel in `folder` that are not in the allow-list, sorted; [] if none.

    Known dangerous ops come first (they say what they do), then the merely unknown ones."""
    problems = {p for p in map(_problem, reachable_nodes(read_meta_graph(folder))) if p}
    return sorted(problems, key=lambda p: (p.split(" ")[0] not in DANGER, p))
