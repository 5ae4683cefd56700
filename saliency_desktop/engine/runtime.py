"""Compiled forward/backward passes of one model (`Runtime`), and the scores they explain.

One compiled function per pass kind (on the Keras backend in use, see `engine/backends/`),
traced once per model and reused:

* `single`: forward + one backward from the score S to the input *and* to the CAM layer's
  activations (the plain pass: predictions, Vanilla Gradients, Grad-CAM and Grad-CAM++ at
  once), or with the ReLU rules re-routed ("guided" / "deconv").
* `batch`: gradients for a batch of inputs (the sampling methods' inputs).
* `path`: weighted sums of gradients along a straight path, made on the device (IG).
* `noise_tunnel`: noisy copies drawn on the device, their attributions' sums (SmoothGrad).
* `forward`, `head`, `probabilities`, `capture`, `multi_capture`: forward-only and
  layer-capturing variants for perturbation methods, metrics and the Neurons browser.

The score kind (logit or probability) and the target are tensor arguments, so switching them
reuses the traced graph: only a new CAM layer or rule traces a new function. `passes.py`
runs these for one request (`PassCache`).

Scores (the S the methods explain): with a softmax head, the pre-softmax logits and the softmax;
with several sigmoid outputs (multi-label), each output's pre-sigmoid logit and its own sigmoid
(never a softmax across them); with several raw outputs, those logits and their softmax. A single
output (sigmoid or raw logit z) is a binary classifier of two classes: class 1 with logit z and
p = sigmoid(z), class 0 (its complement) with logit -z and p = sigmoid(-z) = 1 - p.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_desktop.engine.graph import RunState, run_model
from saliency_desktop.engine.scores import (  # noqa: F401 - contrast_score: part of this API
    contrast_score,
    minus_contrast,
    split_score,
)
from saliency_desktop.engine.summed_passes import SummedPasses
from saliency_desktop.engine.types import EngineError

if TYPE_CHECKING:
    from saliency_desktop.engine.models import LoadedModel


class Runtime(SummedPasses):
    """Compiled passes for one loaded model; built lazily and cached by configuration.

    The passes are written on `keras.ops`; the backend's adapter (`engine/backends/`) compiles
    them and takes their gradients (TensorFlow: `tf.function` + `GradientTape`; JAX: `jax.jit`
    + `jax.value_and_grad`; PyTorch: eager + `torch.autograd`). dS/dA of a captured layer is
    the gradient with respect to a zero offset added to its output, on every backend."""

    def __init__(self, model: LoadedModel) -> None:
        from saliency_desktop.engine import backends

        self.model = model
        self.backend = backends.adapter()
        self._fns: dict[tuple[Any, ...], Any] = {}
        self.cam_exact: dict[tuple[Any, ...], bool] = {}
        self.head_cut: dict[tuple[Any, ...], bool] = {}  # see `head`

    def _spec(self) -> tuple[tuple[int | None, ...], str]:
        h, w = self.model.info.input_size
        return ((None, h, w, self.model.info.channels), "float32")

    def _layer_shape(self, path: str) -> tuple[int, ...]:
        return tuple(next(i.shape for i in self.model.info.layers if i.path == path))

    def _compile(self, fn: Any, specs: list[Any], grad: bool = True, batched: bool = False) -> Any:
        """`fn` compiled by the backend; `batched`: each output is per sample of x."""
        variables = self.model.keras_model.variables
        return self.backend.compile(fn, specs, variables, grad=grad, batched=batched)

    def _compile_scored(self, fn: Any, grad: bool = True, batched: bool = False) -> Any:
        specs = [self._spec(), ((), "int32"), ((), "bool"), ((), "int32")]
        return self._compile(fn, specs, grad, batched)

    def _outputs(self, x: Any, st: RunState) -> tuple[Any, Any]:
        """(probabilities, logits) for the batch x, one column per class (see the module doc)."""
        from keras import ops

        st.output_op = self.model.output_op
        st.skip = frozenset(self.model.activations.gates)
        out = run_model(self.model.keras_model, x, st)
        if isinstance(out, list | tuple):
            out = out[self.model.output_index]
        out = _flat(out)
        kind = self.model.info.final_activation
        # a SavedModel's single output is taken as a sigmoid probability (what such heads export)
        sigmoid = kind == "sigmoid" or (kind == "opaque" and self.model.binary)
        logits = _flat(st.logits) if st.logits is not None else out
        if sigmoid and st.logits is None:  # a sigmoid we could not open: its logit from p
            p = ops.clip(out, 1e-7, 1.0 - 1e-7)
            logits = ops.log(p) - ops.log1p(-p)
        if self.model.binary:  # class 0 = complement (-z), class 1 = the output (z)
            logits = ops.concatenate([-logits, logits], axis=1)
            return ops.sigmoid(logits), logits
        if sigmoid:  # multi-label: each class its own sigmoid probability
            return out, logits
        if kind == "linear":
            out = ops.softmax(logits)  # outputs are logits: show (and explain) softmax of them
        return out, logits

    @staticmethod
    def _score(probs: Any, logits: Any, target: Any, use_prob: Any, contrast: Any = -1) -> Any:
        """S for `target`: `use_prob` is a bool tensor (one trace for both scores) with `contrast`
        an int32 tensor (-1: none), or the score spec, "logit", "probability" or "logit vs B"
        (passes whose cache key holds the score). With a contrast class B, S = S_target - S_B."""
        from keras import ops

        if isinstance(use_prob, str):
            base, contrast = split_score(use_prob)
            source = probs if base == "probability" else logits
            return minus_contrast(source, target, contrast)
        return minus_contrast(ops.where(use_prob, probs, logits), target, contrast)

    @staticmethod
    def _with_score(fn: Any, score: str) -> Any:
        """`fn(x, target)` for one score spec, its kind and contrast class passed as tensors (no
        new trace per score or contrast)."""
        base, contrast = split_score(score)
        use_prob = np.bool_(base == "probability")
        against = np.int32(contrast)
        return lambda x, target: fn(x, target, use_prob, against)

    @staticmethod
    def single_key(
        rule: str | None, capture: str | None, score: str, with_grad: bool
    ) -> tuple[Any, ...]:
        """The key of a `single` pass in `cam_exact` (the score does not change the graph)."""
        return ("single", rule, capture, with_grad)

    def single(self, rule: str | None, capture: str | None, score: str, with_grad: bool) -> Any:
        """Forward (+ backward) for one image: probabilities, logits, target, S, dS/dx, A, dS/dA.

        `rule` None is the plain gradient; "guided"/"deconv" re-route every ReLU. With a rule, dS/dA
        equals the plain one when no re-routed ReLU lies after the captured layer; whether that
        holds is recorded in `cam_exact` when the function is traced.
        """
        key = self.single_key(rule, capture, score, with_grad)
        if key not in self._fns:
            from keras import ops

            captures = [capture] if capture and with_grad else []

            def fn(x: Any, target: Any, use_prob: Any, contrast: Any) -> Any:
                st = RunState(capture=capture, rule=rule)  # type: ignore[arg-type]

                def forward(x: Any, offsets: list[Any]) -> tuple[Any, Any]:
                    st.offsets = dict(zip(captures, offsets, strict=True))
                    probs, logits = self._outputs(x, st)
                    t = ops.where(target < 0, ops.cast(ops.argmax(probs[0]), "int32"), target)
                    s = self._score(probs, logits, t, use_prob, contrast)
                    return ops.sum(s), (probs, logits, t, s, *([st.captured] if captures else []))

                if not with_grad:
                    return forward(x, [])[1]
                aux, grads = self.backend.value_and_grad(
                    forward, x, [self._layer_shape(c) for c in captures]
                )
                if rule is not None and not st.overridden:
                    raise EngineError(f"The model has no ReLU for the {rule} rule to act on.")
                self.cam_exact[key] = capture is not None and not st.relu_after_capture
                extra = (aux[4], grads[1]) if captures else ()
                return (*aux[:4], grads[0], *extra)

            self._fns[key] = self._compile_scored(fn, grad=with_grad)
        return self._with_score(self._fns[key], score)

    def batch(self, score: str, rule: str | None = None) -> Any:
        """Scores and gradients for a batch of inputs (Expected Gradients' draws, Blur IG's and
        Guided IG's points; IG's path and the noise tunnel sum on the device, `SummedPasses`);
        `rule` "guided" or "deconv" re-routes every ReLU."""
        key = ("batch",) if rule is None else ("batch", rule)
        if key not in self._fns:

            def fn(x: Any, target: Any, use_prob: Any, contrast: Any) -> Any:
                return self._batch_gradients(rule, target, use_prob, contrast)(x)

            self._fns[key] = self._compile_scored(fn, batched=True)
        return self._with_score(self._fns[key], score)

    def trace_batch(self) -> None:
        """Trace the path pass now (without running it), where the backend traces ahead."""
        self.path("logit")
        if self.backend.NAME == "tensorflow":
            self.backend.trace(self._fns[("path",)], ())

    def tracing_count(self) -> int:
        """Traces of all compiled passes so far (a test checks settings never add one)."""
        return sum(self.backend.tracing_count(f) for f in self._fns.values())

    def forward(self, score: str) -> Any:
        """Scores S and the target's probability P for a batch of inputs, forward only
        (perturbation methods, faithfulness metrics); with a contrast class B, P_target - P_B."""
        key = ("forward",)
        if key not in self._fns:

            def fn(x: Any, target: Any, use_prob: Any, contrast: Any) -> Any:
                probs, logits = self._outputs(x, RunState())
                s = self._score(probs, logits, target, use_prob, contrast)
                return s, minus_contrast(probs, target, contrast)

            self._fns[key] = self._compile_scored(fn, grad=False, batched=True)
        return self._with_score(self._fns[key], score)

    def probabilities(self) -> Any:
        """The model's class probabilities for a batch of inputs (data-set predictions)."""
        key = ("probabilities",)
        if key not in self._fns:
            self._fns[key] = self._compile(
                lambda x: self._outputs(x, RunState())[0], [self._spec()], grad=False, batched=True
            )
        return self._fns[key]

    def layer_spec(self, path: str) -> tuple[tuple[int | None, ...], str]:
        """The spec of a batch of the feature layer `path`'s outputs."""
        return ((None, *self._layer_shape(path)), "float32")

    def head(self, capture: str, score: str) -> Any:
        """(S, P) for variants of activations given at the layer `capture`:
        fn(x, a, factors, target), a (1 or n, h, w, K), factors broadcast against it.

        The model runs with `a * factors` in place of the layer's output. When the layer is a
        cut vertex (nothing computed before it reaches the output except through it),
        `head_cut[key]` is True after tracing: x may then be one image, and the layers before
        `capture` feed nothing the outputs need, so the compiled pass prunes them (only the
        head runs; on PyTorch, which runs eagerly, the layers before still run). When it is not
        (a skip connection crosses the layer), x must have the batch size of `a * factors` and
        the run is a full forward with the substitution.
        """
        key = ("head", capture, score)
        if key not in self._fns:

            def fn(x: Any, a: Any, factors: Any, target: Any) -> Any:
                st = RunState(capture=capture, substitute=a * factors)
                probs, logits = self._outputs(x, st)
                if not st.derived:
                    raise EngineError(f"The layer {capture!r} is not on the path to the output.")
                self.head_cut[key] = not st.crosses_cut
                s = self._score(probs, logits, target, score)
                return s, minus_contrast(probs, target, split_score(score)[1])

            specs = [self._spec(), self.layer_spec(capture), ((None,) * 4, "float32")]
            compiled = self._compile(fn, [*specs, ((), "int32")], grad=False)
            h, w = self.model.info.input_size
            example = (
                np.zeros((1, h, w, self.model.info.channels), np.float32),
                np.zeros((1, *self._layer_shape(capture)), np.float32),
                np.ones((1, 1, 1, 1), np.float32),
                np.int32(0),
            )
            self.backend.trace(compiled, example)  # head_cut is known from here on
            self._fns[key] = compiled
        return self._fns[key]

    def multi_capture(self, layers: tuple[str, ...], score: str) -> Any:
        """Forward + backward for one image capturing several layers at once:
        fn(x, target) -> (S, A_1..A_n, dS/dA_1..dS/dA_n)."""
        key = ("multi", layers, score)
        if key not in self._fns:
            from keras import ops

            def fn(x: Any, target: Any) -> Any:
                st = RunState(captures=layers)

                def forward(x: Any, offsets: list[Any]) -> tuple[Any, Any]:
                    st.offsets = dict(zip(layers, offsets, strict=True))
                    probs, logits = self._outputs(x, st)
                    s = self._score(probs, logits, target, score)
                    return ops.sum(s), (s, *[st.captured_many[p] for p in layers])

                aux, grads = self.backend.value_and_grad(
                    forward, x, [self._layer_shape(p) for p in layers]
                )
                return (*aux, *grads[1:])

            self._fns[key] = self._compile(fn, [self._spec(), ((), "int32")])
        return self._fns[key]

    def capture(self, layers: tuple[str, ...]) -> Any:
        """Forward only: (probabilities, *outputs of `layers`) for a batch (Neurons browser)."""
        key = ("capture", layers)
        if key not in self._fns:

            def fn(x: Any) -> Any:
                st = RunState(captures=layers)
                probs, _ = self._outputs(x, st)
                return (probs, *[st.captured_many[name] for name in layers])

            self._fns[key] = self._compile(fn, [self._spec()], grad=False, batched=True)
        return self._fns[key]


def _flat(t: Any) -> Any:
    """(batch, -1) of a tensor whose non-batch shape is static (a classifier's output)."""
    from keras import ops

    n = 1
    for d in t.shape[1:]:
        if d is None:
            return ops.reshape(t, (ops.shape(t)[0], -1))
        n *= int(d)
    return ops.reshape(t, (-1, n))
