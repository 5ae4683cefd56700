"""Every use of Keras internals, in one place, behind a start-up probe.

The graph executor (`engine/graph.py`) walks a Functional model operation by operation, which
Keras has no public API for: it needs the Functional class, `Functional._run_through_graph`
(run the graph with a function per operation), each symbolic tensor's `_keras_history`
(operation, node index, tensor index), the operations' inbound/outbound nodes and whether a
layer's `call` takes `training`. Those live in `keras.src` and may change in any release, so
they are read only here; everything else in the engine uses the public API (`keras.Model`,
`keras.ops`, `keras.layers`, `keras.StatelessScope`).

`probe()` checks each of them on a two-layer model once per process and fails with one message
naming the installed Keras and the tested range (`TESTED_RANGE`, also the cap in pyproject.toml;
the README says how to move it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from saliency_desktop.engine.model_safety import KERAS_REQUIREMENT
from saliency_desktop.engine.types import EngineError

TESTED_RANGE = KERAS_REQUIREMENT.removeprefix("keras")  # ">=3.12.0,<3.16", as in pyproject
_SYMBOLS = (
    "keras.src.models.functional.Functional",
    "Functional._run_through_graph",
    "KerasTensor._keras_history",
    "Operation._inbound_nodes",
    "Operation._outbound_nodes",
    "Node.input_tensors",
    "Node.operation",
    "Layer._call_has_training_arg",
)


def _functional_class() -> Any:
    import keras

    return keras.src.models.functional.Functional


def _missing() -> list[str]:
    """The internals of `_SYMBOLS` that the installed Keras lacks (empty when all work)."""
    import keras

    missing: list[str] = []
    try:
        functional = _functional_class()
    except AttributeError:
        return list(_SYMBOLS)
    if not callable(getattr(functional, "_run_through_graph", None)):
        missing.append("Functional._run_through_graph")
    inp = keras.Input((2,))
    dense = keras.layers.Dense(1)
    out = keras.layers.Dropout(0.5)(dense(inp))
    history = getattr(out, "_keras_history", None)
    if history is None or len(tuple(history)) != 3:
        return [*missing, *_SYMBOLS[2:]]
    op = history[0]
    nodes = getattr(op, "_inbound_nodes", None)
    if not nodes:
        missing.append("Operation._inbound_nodes")
    elif not hasattr(nodes[0], "input_tensors"):
        missing.append("Node.input_tensors")
    outbound = getattr(dense, "_outbound_nodes", None)
    if not outbound:
        missing.append("Operation._outbound_nodes")
    elif getattr(outbound[0], "operation", None) is not op:
        missing.append("Node.operation")
    if getattr(op, "_call_has_training_arg", None) is not True:
        missing.append("Layer._call_has_training_arg")
    return missing


@cache
def probe() -> None:
    """Fail with one clear message when the installed Keras lacks an internal the engine uses."""
    import keras

    missing = _missing()
    if missing:
        raise EngineError(
            f"Keras {keras.__version__} is not supported: the graph executor needs Keras "
            f"internals that it lacks ({', '.join(missing)}). Saliency Desktop is tested with "
            f"keras{TESTED_RANGE}; install one of those: pip install 'keras{TESTED_RANGE}'."
        )


def is_functional(obj: Any) -> bool:
    """True for a Functional model (a graph of layers built with `keras.Model(inputs, ...)`)."""
    return isinstance(obj, _functional_class())


def history(tensor: Any) -> tuple[Any, int, int] | None:
    """(operation, node index, tensor index) that produced a symbolic tensor, or None."""
    found = getattr(tensor, "_keras_history", None)
    return None if found is None else (found[0], int(found[1]), int(found[2]))


def producer(tensor: Any) -> Any:
    """The operation that produced a symbolic tensor."""
    found = history(tensor)
    return None if found is None else found[0]


def node_inputs(op: Any, node_index: int) -> list[Any]:
    """The input tensors of an operation's call number `node_index` in the graph."""
    return list(op._inbound_nodes[node_index].input_tensors)


def consumers(op: Any) -> list[tuple[Any, int]]:
    """(operation, number of tensor inputs) for each use of `op`'s output in the graph."""
    nodes = getattr(op, "_outbound_nodes", None) or []
    return [(node.operation, len(node.input_tensors)) for node in nodes]


def takes_training(op: Any) -> bool:
    """True when the layer's `call` takes a `training` argument."""
    return bool(getattr(op, "_call_has_training_arg", False))


def run_through_graph(model: Any, inputs: Any, operation_fn: Any) -> Any:
    """Run a Functional model's graph, calling `operation_fn(op)(*args, **kwargs)` per op."""
    return model._run_through_graph(inputs, operation_fn=operation_fn)


def operation_kind(op: Any) -> str:
    """The class name of an operation (`"Relu"` for `keras.ops.relu` in a graph, `"Dense"`)."""
    return type(op).__name__


def is_savedmodel_layer(op: Any) -> bool:
    """True for `keras.layers.TFSMLayer` (a SavedModel's graph), on any backend."""
    return operation_kind(op) == "TFSMLayer"
