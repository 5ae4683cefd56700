"""Which non-linearities Guided Backpropagation and DeconvNet re-route, and which they leave.

The rule (the same in the API, the JSON record, the report and the app):

* **Re-routed:** ReLU-family activations on the feature path (`ReLU`, `ReLU(max_value=6)`,
  `Activation("relu")`, fused `activation="relu"`/`"relu6"`, `keras.ops.relu`), as in
  Springenberg et al. 2014 and Zeiler & Fergus 2014, whose networks have only ReLUs.
* **Never re-routed: gates.** An activation whose every use is to multiply another tensor (after
  at most a few scalar operations such as `* (1/6)`): the hard-sigmoid `ReLU6(x + 3) / 6` and the
  sigmoid of squeeze-excitation blocks (MobileNetV3, EfficientNet). A gate scales features; it
  is not a feature non-linearity, and the papers' rules say nothing about it.
* **Other non-linearities on the feature path** (hard-swish, swish/SiLU, GELU, ELU, leaky ReLU,
  tanh, ...) keep their plain gradient. The methods then run with a note (`extras["note"]`)
  naming what was and was not re-routed; they are refused only when there is no ReLU at all to
  re-route (EfficientNet, ConvNeXt), with the activations found as the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from saliency_desktop.engine import keras_compat
from saliency_desktop.engine.graph import is_graph_model, operations, relu_spec

_LINEAR = ("linear", "identity", "")
_ACTIVATION_OPS = {  # keras.ops operations (in functional graphs) that are non-linearities
    "Relu": "relu",
    "Relu6": "relu6",
    "Gelu": "gelu",
    "Silu": "swish",
    "HardSilu": "hard_swish",
    "HardSigmoid": "hard_sigmoid",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Elu": "elu",
    "Selu": "selu",
    "LeakyRelu": "leaky_relu",
    "Softplus": "softplus",
    "Mish": "mish",
}
_ACTIVATION_LAYERS = ("LeakyReLU", "PReLU", "ELU", "Softmax")
_ALIASES = {"hard_silu": "hard_swish", "silu": "swish"}  # Keras' names -> the papers' names


@dataclass(frozen=True)
class ActivationCensus:
    """The model's non-linearities, sorted by what the guided/deconv rules do with them."""

    rerouted: tuple[str, ...] = ()  # paths of feature-path ReLUs the rules act on
    gates: tuple[str, ...] = ()  # paths of gate activations, left with plain gradients
    gate_kinds: dict[str, int] = field(default_factory=dict)  # e.g. {"relu6": 9}
    others: dict[str, int] = field(default_factory=dict)  # feature-path kinds left plain

    def refusal(self) -> str:
        """Why the rules cannot run (no ReLU to re-route), naming the activations found."""
        found = _kinds(self.others) or "none"
        return f"no ReLU on the feature path to re-route (activations found: {found})"

    def note(self) -> str:
        """What was and was not re-routed; empty when every non-linearity is a re-routed ReLU."""
        if not self.gates and not self.others:
            return ""
        text = f"Rule applied to {len(self.rerouted)} ReLU(s)"
        if self.others:
            text += f"; plain gradient through {_kinds(self.others)} on the feature path"
        if self.gates:
            text += f"; gates left plain: {_kinds(self.gate_kinds)}"
        return text + "."


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} ×{n}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def activation_kind(op: Any) -> str | None:
    """The non-linearity `op` applies ("relu", "hard_swish", ...), or None for a linear op."""
    import keras

    name = keras_compat.operation_kind(op)
    if not isinstance(op, keras.layers.Layer):
        kind = _ACTIVATION_OPS.get(name)
        return _ALIASES.get(kind, kind) if kind else None
    if isinstance(op, keras.layers.ReLU):
        if float(op.negative_slope) != 0.0:
            return "leaky_relu"
        return "relu6" if op.max_value is not None and float(op.max_value) == 6.0 else "relu"
    if name in _ACTIVATION_LAYERS:
        return name.lower()
    act = getattr(getattr(op, "activation", None), "__name__", "")
    return None if act in _LINEAR else _ALIASES.get(act, act)


def _is_multiply(op: Any, n_inputs: int) -> bool:
    import keras

    kind = keras_compat.operation_kind(op)  # the layer, or `x * y` in a graph (keras.ops)
    return (isinstance(op, keras.layers.Multiply) or kind == "Multiply") and n_inputs >= 2


def _passes_through(op: Any, n_inputs: int) -> bool:
    """A single-input operation a gate may pass through on its way to the product."""
    import keras

    if n_inputs != 1:
        return False
    if not isinstance(op, keras.layers.Layer):
        return True  # x * (1/6), x + 3, reshape: keras.ops with one tensor argument
    return isinstance(op, keras.layers.Rescaling | keras.layers.Reshape | keras.layers.Activation)


def is_gate(op: Any, depth: int = 0) -> bool:
    """True when every use of `op`'s output multiplies another tensor (through scalar ops)."""
    nodes = keras_compat.consumers(op)
    if not nodes or depth > 4:
        return False
    for nxt, n_inputs in nodes:
        if _is_multiply(nxt, n_inputs):
            continue
        if _passes_through(nxt, n_inputs) and is_gate(nxt, depth + 1):
            continue
        return False
    return True


def census(model: Any, output_op: Any = None, prefix: str = "") -> ActivationCensus:
    """Walk the model (nested models by path) and sort its activations by the rule above.

    `output_op` (the layer producing the explained output) is skipped: its softmax/sigmoid is
    the score's own and is handled by the score, not by the rules."""
    rerouted: list[str] = []
    gates: list[str] = []
    gate_kinds: Counter[str] = Counter()
    others: Counter[str] = Counter()
    for op in operations(model):
        path = prefix + op.name
        if is_graph_model(op):
            inner = census(op, output_op, path + "/")
            rerouted += inner.rerouted
            gates += inner.gates
            gate_kinds.update(inner.gate_kinds)
            others.update(inner.others)
            continue
        kind = activation_kind(op)
        if kind is None or op is output_op:
            continue
        if is_gate(op):
            gates.append(path)
            gate_kinds[kind] += 1
        elif relu_spec(op) is not None:
            rerouted.append(path)
        else:
            others[kind] += 1
    return ActivationCensus(tuple(rerouted), tuple(gates), dict(gate_kinds), dict(others))
