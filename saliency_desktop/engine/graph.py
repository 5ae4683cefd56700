"""Run a Keras model layer by layer, to reach inside it without changing it.

The executor walks Functional and Sequential models (recursing into nested models, such as a
MobileNetV2 base inside a fine-tuned classifier) and, while it runs them, can

* capture the output of any layer, named by its path (`"mobilenetv2_1.00_160/out_relu"`);
* return the pre-activation score of a final softmax or sigmoid (the logit);
* re-route the backward pass of every ReLU for Guided Backpropagation or DeconvNet.

The user's model is never rebuilt or copied. The only mutation is the temporary swap of a
layer's fused activation for `linear` during one call (to reach the pre-activation value); it is
put back in `finally` and happens only while a `tf.function` is traced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ReluRule = Literal["guided", "deconv"]


@dataclass
class RunState:
    """What one traced run should capture or override, and what it found."""

    capture: str | None = None
    rule: ReluRule | None = None
    output_op: Any = None
    captured: Any = None
    logits: Any = None
    overridden: list[str] = field(default_factory=list)
    relu_after_capture: bool = False  # a re-routed ReLU runs after the captured layer
    capture_many: frozenset[str] = frozenset()  # more layers to capture (the Neurons browser)
    captured_many: dict[str, Any] = field(default_factory=dict)


def is_graph_model(layer: Any) -> bool:
    """True for the models this executor can walk (Functional and Sequential)."""
    import keras

    if isinstance(layer, keras.Sequential):
        return True
    functional = getattr(keras.src.models.functional, "Functional", None)
    return functional is not None and isinstance(layer, functional)


def output_operation(model: Any, index: int = 0) -> Any:
    """The layer that produces the model's output `index`, looking into nested models."""
    import keras

    op = model.outputs[index]._keras_history[0] if hasattr(model, "outputs") else None
    while op is not None and is_graph_model(op) and not isinstance(op, keras.Sequential):
        op = op.outputs[0]._keras_history[0]
    if op is not None and isinstance(op, keras.Sequential):
        op = op.layers[-1]
    return op


def final_activation(op: Any) -> str:
    """'softmax', 'sigmoid', 'linear' or 'opaque' (SavedModel) for the model's output layer."""
    import keras

    if isinstance(op, keras.layers.Softmax):
        return "softmax"
    if type(op).__name__ == "TFSMLayer":  # a SavedModel graph: its output is taken as it is
        return "opaque"
    name = getattr(getattr(op, "activation", None), "__name__", "linear")
    return name if name in ("softmax", "sigmoid") else "linear"


def relu_spec(layer: Any) -> tuple[str, float | None, float] | None:
    """(how, cap, threshold) when `layer` applies a plain ReLU, else None.

    how: "layer" for `keras.layers.ReLU`, "activation" for `Activation("relu")`, "fused" for a
    layer with `activation="relu"` (Conv2D, Dense, ...). Leaky/parametric ReLUs are not ReLUs
    in the sense of the papers and are left alone.
    """
    import keras

    if isinstance(layer, keras.layers.ReLU):
        if float(layer.negative_slope) != 0.0:
            return None
        cap = None if layer.max_value is None else float(layer.max_value)
        return ("layer", cap, float(layer.threshold))
    name = getattr(getattr(layer, "activation", None), "__name__", "")
    if name not in ("relu", "relu6"):
        return None
    cap = 6.0 if name == "relu6" else None
    how = "activation" if isinstance(layer, keras.layers.Activation) else "fused"
    return (how, cap, 0.0)


def _rerouted(fn: Any, z: Any, rule: ReluRule, cap: float | None, threshold: float) -> Any:
    """fn(z) forward; backward replaced by the guided (Springenberg 2014) or deconv rule."""
    import tensorflow as tf

    @tf.custom_gradient
    def relu(z: Any) -> Any:
        y = fn(z)

        def grad(dy: Any) -> Any:
            if rule == "deconv":  # Zeiler & Fergus 2014: ReLU of the incoming gradient
                return tf.nn.relu(dy)
            active = z > threshold  # guided: forward active range and positive gradient
            if cap is not None:
                active = tf.logical_and(active, z < cap)
            return tf.where(tf.logical_and(active, dy > 0), dy, tf.zeros_like(dy))

        return y, grad

    return relu(z)


def _call_without_activation(layer: Any, *args: Any, **kwargs: Any) -> Any:
    import keras

    original = layer.activation
    try:
        layer.activation = keras.activations.linear
        return layer(*args, **kwargs)
    finally:
        layer.activation = original


def _call_op(op: Any, prefix: str, st: RunState, *args: Any, **kwargs: Any) -> Any:
    path = prefix + op.name
    if is_graph_model(op):
        y = run_model(op, args[0] if len(args) == 1 else list(args), st, prefix=path + "/")
    elif op is st.output_op and final_activation(op) in ("softmax", "sigmoid"):
        y = _call_output(op, st, *args, **kwargs)
    elif st.rule is not None and (spec := relu_spec(op)) is not None:
        how, cap, threshold = spec
        st.overridden.append(path)
        if st.captured is not None:
            st.relu_after_capture = True
        if how == "fused":
            pre = _call_without_activation(op, *args, **kwargs)
            y = _rerouted(op.activation, pre, st.rule, cap, threshold)
        else:
            y = _rerouted(lambda z: op(z, **kwargs), args[0], st.rule, cap, threshold)
    else:
        y = op(*args, **kwargs)
    if path == st.capture:
        st.captured = y
    if path in st.capture_many:
        st.captured_many[path] = y
    return y


def _call_output(op: Any, st: RunState, *args: Any, **kwargs: Any) -> Any:
    """Call the output layer, keeping its pre-softmax/pre-sigmoid value in `st.logits`."""
    import keras

    if isinstance(op, keras.layers.Softmax) or isinstance(op, keras.layers.Activation):
        st.logits = args[0]
        return op(*args, **kwargs)
    st.logits = _call_without_activation(op, *args, **kwargs)
    return op.activation(st.logits)


def run_model(model: Any, inputs: Any, st: RunState, prefix: str = "") -> Any:
    """Run `model` on `inputs` layer by layer (inference mode), honouring `st`."""
    import keras

    if isinstance(model, keras.Sequential):
        y = inputs
        for layer in model.layers:
            y = _call_op(layer, prefix, st, y)
        return y
    if not is_graph_model(model):
        return model(inputs, training=False)

    def operation_fn(op: Any) -> Any:
        return lambda *a, **kw: _call_op(op, prefix, st, *a, **kw)

    outputs = model._run_through_graph(inputs, operation_fn=operation_fn)
    return outputs[0] if isinstance(outputs, list | tuple) and len(outputs) == 1 else outputs


def feature_layers(model: Any, prefix: str = "") -> list[tuple[str, tuple[int, int, int]]]:
    """Layers (nested ones by path) whose output is a 4-D map with spatial size > 1.

    A nested model is listed through its own layers, not as one layer, so the default CAM layer
    of a fine-tuned MobileNetV2 is the base's `out_relu`, as in the papers' practice.
    """
    found: list[tuple[str, tuple[int, int, int]]] = []
    for layer in getattr(model, "layers", []):
        path = prefix + layer.name
        if is_graph_model(layer):
            found.extend(feature_layers(layer, path + "/"))
            continue
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and all(d is not None for d in shape[1:]):
            h, w, c = (int(d) for d in shape[1:])
            if h * w > 1:
                found.append((path, (h, w, c)))
    return found


def count_relus(model: Any) -> int:
    """Number of plain ReLUs the guided/deconv rules can re-route (nested models included)."""
    n = 0
    for layer in getattr(model, "layers", []):
        if is_graph_model(layer):
            n += count_relus(layer)
        elif relu_spec(layer) is not None:
            n += 1
    return n


def activation_elements(model: Any) -> int:
    """Sum over layers of output elements per sample: a proxy for backward-pass memory."""
    total = 0
    for layer in getattr(model, "layers", []):
        if is_graph_model(layer):
            total += activation_elements(layer)
            continue
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        n = 1
        for d in shape[1:]:
            n *= int(d) if d is not None else 1
        total += n
    return total
