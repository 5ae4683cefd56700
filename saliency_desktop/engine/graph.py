"""Run a Keras model layer by layer, to reach inside it without changing it.

The executor walks Functional and Sequential models (recursing into nested models, such as a
MobileNetV2 base inside a fine-tuned classifier) and, while it runs them, can

* capture the output of any layer, named by its path (`"mobilenetv2_1.00_160/out_relu"`);
* return the pre-activation score of a final softmax or sigmoid (the logit);
* re-route the backward pass of the feature-path ReLUs for Guided Backpropagation or DeconvNet
  (gates are left alone: see `engine/activations.py`).

Every layer that takes a `training` argument is called with `training=False` (inference mode):
dropout, batch normalisation, random augmentation and noise layers behave as in `predict`.

The user's model is never rebuilt or copied. The only mutation is the temporary swap of a
layer's fused activation for `linear` during one call (to reach the pre-activation value); it is
put back in `finally` and happens only while a pass is traced (or, on PyTorch, run).

It runs on every Keras 3 backend: the ReLU rules are `keras.ops.custom_gradient`, the other
operations `keras.ops`; the Keras internals it needs are read through `engine/keras_compat.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from saliency_desktop.engine import keras_compat

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
    skip: frozenset[str] = frozenset()  # ReLU paths left plain (gates)
    relu_after_capture: bool = False  # a re-routed ReLU runs after the captured layer
    # Several layers captured at once (multi-layer CAMs): path -> output tensor.
    captures: tuple[str, ...] = ()
    captured_many: dict[str, Any] = field(default_factory=dict)
    # Head-only runs: `substitute` is returned for the `capture` layer instead of calling it.
    # `derived` holds the tensors computed from it; `crosses_cut` records that some operation
    # combined such a tensor with one computed before the layer (the layer is not a cut vertex).
    substitute: Any = None
    derived: dict[int, Any] = field(default_factory=dict)
    crosses_cut: bool = False
    # path -> a zero tensor added to that layer's output: the gradient w.r.t. it is dS/dA on
    # every backend (JAX differentiates only with respect to a function's arguments).
    offsets: dict[str, Any] = field(default_factory=dict)


def is_graph_model(layer: Any) -> bool:
    """True for the models this executor can walk (Functional and Sequential)."""
    import keras

    return isinstance(layer, keras.Sequential) or keras_compat.is_functional(layer)


def output_operation(model: Any, index: int = 0) -> Any:
    """The layer that produces the model's output `index`, looking into nested models."""
    import keras

    op = keras_compat.producer(model.outputs[index]) if hasattr(model, "outputs") else None
    while op is not None and is_graph_model(op) and not isinstance(op, keras.Sequential):
        op = keras_compat.producer(op.outputs[0])
    if op is not None and isinstance(op, keras.Sequential):
        op = op.layers[-1]
    return op


def final_activation(op: Any) -> str:
    """'softmax', 'sigmoid', 'linear' or 'opaque' (SavedModel) for the model's output layer."""
    import keras

    if isinstance(op, keras.layers.Softmax):
        return "softmax"
    if keras_compat.is_savedmodel_layer(op):  # a SavedModel graph: its output is taken as it is
        return "opaque"
    name = getattr(getattr(op, "activation", None), "__name__", "linear")
    return name if name in ("softmax", "sigmoid") else "linear"


def relu_spec(layer: Any) -> tuple[str, float | None, float] | None:
    """(how, cap, threshold) when `layer` applies a plain ReLU, else None.

    how: "layer" for `keras.layers.ReLU`, "activation" for `Activation("relu")` and the
    `keras.ops.relu`/`relu6` operations, "fused" for a layer with `activation="relu"` (Conv2D,
    Dense, ...). Leaky/parametric ReLUs are not ReLUs in the sense of the papers and are left
    alone.
    """
    import keras

    kind = keras_compat.operation_kind(layer)
    if not isinstance(layer, keras.layers.Layer) and kind in ("Relu", "Relu6"):
        return ("activation", 6.0 if kind == "Relu6" else None, 0.0)
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
    """fn(z) forward; backward replaced by the guided (Springenberg 2014) or deconv rule.

    Written once on `keras.ops.custom_gradient`; the gradient function takes `*args, upstream`
    (the form all three backends accept: JAX and PyTorch pass the upstream gradient by keyword,
    TensorFlow positionally)."""
    from keras import ops

    @ops.custom_gradient
    def relu(z: Any) -> Any:
        y = fn(z)

        def grad(*args: Any, upstream: Any = None) -> Any:
            dy = upstream if upstream is not None else args[0]
            if rule == "deconv":  # Zeiler & Fergus 2014: ReLU of the incoming gradient
                return ops.relu(dy)
            active = ops.greater(z, threshold)  # guided: forward active range, positive gradient
            if cap is not None:
                active = ops.logical_and(active, ops.less(z, cap))
            return ops.where(ops.logical_and(active, ops.greater(dy, 0)), dy, ops.zeros_like(dy))

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
    if st.substitute is not None and path == st.capture:
        st.derived[id(st.substitute)] = st.substitute
        return st.substitute
    if keras_compat.takes_training(op):
        kwargs["training"] = False  # inference mode: no dropout, augmentation or noise
    if is_graph_model(op):
        y = run_model(op, args[0] if len(args) == 1 else list(args), st, prefix=path + "/")
    elif op is st.output_op and final_activation(op) in ("softmax", "sigmoid"):
        y = _call_output(op, st, *args, **kwargs)
    elif st.rule is not None and path not in st.skip and (spec := relu_spec(op)) is not None:
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
    if path in st.offsets:
        y = y + st.offsets[path]
    if path == st.capture:
        st.captured = y
    if path in st.captures:
        st.captured_many[path] = y
    if st.substitute is not None and not is_graph_model(op):
        _track_substitute(st, (args, kwargs), y)
    return y


def _track_substitute(st: RunState, inputs: Any, outputs: Any) -> None:
    """Mark `outputs` as derived from the substitute when an input is; note a mixed operation."""
    import keras

    tensors = [t for t in keras.tree.flatten(inputs) if keras.ops.is_tensor(t)]
    derived = [id(t) in st.derived for t in tensors]
    if any(derived):
        st.crosses_cut = st.crosses_cut or not all(derived)
        for t in keras.tree.flatten(outputs):
            st.derived[id(t)] = t  # kept alive, so an id is never reused during the trace


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

    outputs = keras_compat.run_through_graph(model, inputs, operation_fn)
    return outputs[0] if isinstance(outputs, list | tuple) and len(outputs) == 1 else outputs


def operations(model: Any) -> list[Any]:
    """The layers and `keras.ops` operations of a graph model, in graph order."""
    ops = getattr(model, "operations", None)
    return list(ops) if ops is not None else list(getattr(model, "layers", []))


def _feature_shape(tensor: Any) -> tuple[int, int, int] | None:
    shape = tuple(getattr(tensor, "shape", ()))
    if len(shape) != 4 or any(d is None for d in shape[1:]):
        return None
    h, w, c = (int(d) for d in shape[1:])
    return (h, w, c) if h * w > 1 else None


def feature_layers(model: Any, prefix: str = "") -> list[tuple[str, tuple[int, int, int]]]:
    """Layers and operations (nested ones by path) whose output is a 4-D map with spatial size > 1.

    A nested model is listed through its own layers, not as one layer, so the default CAM layer
    of a fine-tuned MobileNetV2 is the base's `out_relu`, as in the papers' practice. Outputs of
    `keras.ops` calls in a functional graph (`x + y` in ConvNeXt's blocks) are listed by their
    operation's name (`add_17`).
    """
    import keras

    found: list[tuple[str, tuple[int, int, int]]] = []
    for op in operations(model):
        path = prefix + op.name
        if is_graph_model(op):
            found.extend(feature_layers(op, path + "/"))
            continue
        if isinstance(op, keras.layers.InputLayer):
            continue
        try:
            shape = _feature_shape(op.output)
        except (AttributeError, ValueError):
            continue
        if shape is not None:
            found.append((path, shape))
    return found


def default_cam_layer(model: Any, index: int = 0) -> str | None:
    """The last 4-D feature map on the path to output `index`: walking back from the output, the
    first tensor with spatial size > 1, whether a layer or a `keras.ops` operation produced it."""
    import keras

    queue: list[tuple[Any, str]] = [(model.outputs[index], "")]
    seen: set[int] = set()
    while queue:
        tensor, prefix = queue.pop(0)
        found = keras_compat.history(tensor)
        if id(tensor) in seen or found is None:
            continue
        seen.add(id(tensor))
        op, node_index, tensor_index = found
        if is_graph_model(op):
            queue.append((op.outputs[tensor_index], prefix + op.name + "/"))
        elif not isinstance(op, keras.layers.InputLayer):
            if _feature_shape(tensor) is not None:
                return prefix + op.name
            queue.extend((t, prefix) for t in keras_compat.node_inputs(op, node_index))
    return None


def activation_elements(model: Any) -> int:
    """Sum over layers of output elements per sample: a proxy for backward-pass memory."""
    total = 0
    for layer in operations(model):
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
