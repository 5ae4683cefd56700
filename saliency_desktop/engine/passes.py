"""Compiled forward/backward passes, and the per-request cache that lets methods share them.

One compiled function per pass kind (on the Keras backend in use, see `engine/backends/`),
traced once per model and reused:

* `plain`: forward + one backward from the score S to the input *and* to the CAM layer's
  activations. It serves the predictions, Vanilla Gradients, Grad-CAM and Grad-CAM++ at once.
* `guided` / `deconv`: one backward pass with the ReLU rules re-routed (Guided Grad-CAM reuses the
  guided pass and the Grad-CAM map, so it adds no pass).
* `batch`: plain gradients for a batch of inputs (Integrated Gradients' path points).

The score kind (logit or probability) and the target are tensor arguments, so switching them
reuses the traced graph: only a new CAM layer or rule traces a new function.

Scores (the S the methods explain): with a softmax head, the pre-softmax logits and the softmax;
with several sigmoid outputs (multi-label), each output's pre-sigmoid logit and its own sigmoid
(never a softmax across them); with several raw outputs, those logits and their softmax. A single
output (sigmoid or raw logit z) is a binary classifier of two classes: class 1 with logit z and
p = sigmoid(z), class 0 (its complement) with logit -z and p = sigmoid(-z) = 1 - p.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_desktop.engine.graph import RunState, run_model
from saliency_desktop.engine.types import EngineError, JobControl

if TYPE_CHECKING:
    from saliency_desktop.engine.models import LoadedModel

log = logging.getLogger(__name__)
TRIAL_BATCH = 4  # path points in the measured first batch (the baseline rides along)


HEAD_BATCH_BYTES = 64 * 2**20  # head-only passes: this many bytes of activations per batch


CONTRAST = " vs "


def contrast_score(score: str, contrast: int | None) -> str:
    """The score spec of a contrastive explanation: "logit vs 7" is S_target - S_7.

    Every pass takes its score through `Runtime._score`, so each method that explains a scalar
    (gradients, CAMs, IG, perturbations) explains the difference when given this spec.
    """
    return score if contrast is None else f"{score}{CONTRAST}{int(contrast)}"


def split_score(score: str) -> tuple[str, int]:
    """("logit" or "probability", the contrast class or -1) of a score spec."""
    base, _, contrast = score.partition(CONTRAST)
    return base, int(contrast) if contrast else -1


def _minus_contrast(source: Any, target: Any, contrast: Any) -> Any:
    """source[:, target] - source[:, contrast] (a Python int or an int32 tensor; -1: none)."""
    from keras import ops

    s = ops.take(source, target, axis=1)
    if isinstance(contrast, int):
        return s if contrast < 0 else s - ops.take(source, contrast, axis=1)
    other = ops.take(source, ops.maximum(contrast, 0), axis=1)
    return s - ops.where(contrast >= 0, other, ops.zeros_like(other))


@dataclass(frozen=True)
class PlainPass:
    probabilities: np.ndarray  # (n_classes,)
    logits: np.ndarray  # (n_classes,): pre-softmax scores (equal to the output if no softmax)
    target: int
    score: float  # S(x)
    grad_x: np.ndarray | None  # (H, W, C) dS/dx
    activations: np.ndarray | None  # (h, w, K) A
    grad_a: np.ndarray | None  # (h, w, K) dS/dA


class Runtime:
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
            return _minus_contrast(source, target, contrast)
        return _minus_contrast(ops.where(use_prob, probs, logits), target, contrast)

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
        """Scores and gradients for a batch of inputs (IG path points); `rule` "guided" or
        "deconv" re-routes every ReLU (the noise tunnel over those methods)."""
        key = ("batch",) if rule is None else ("batch", rule)
        if key not in self._fns:

            def fn(x: Any, target: Any, use_prob: Any, contrast: Any) -> Any:
                from keras import ops

                st = RunState(rule=rule)  # type: ignore[arg-type]

                def forward(x: Any, offsets: list[Any]) -> tuple[Any, Any]:
                    probs, logits = self._outputs(x, st)
                    s = self._score(probs, logits, target, use_prob, contrast)
                    return ops.sum(s), s

                s, grads = self.backend.value_and_grad(forward, x, [])
                if rule is not None and not st.overridden:
                    raise EngineError(f"The model has no ReLU for the {rule} rule to act on.")
                return s, grads[0]

            self._fns[key] = self._compile_scored(fn, batched=True)
        return self._with_score(self._fns[key], score)

    def trace_batch(self) -> None:
        """Trace the batch pass now (without running it), where the backend traces ahead."""
        self.batch("logit")
        if self.backend.NAME == "tensorflow":
            self.backend.trace(self._fns[("batch",)], ())

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
                return s, _minus_contrast(probs, target, contrast)

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
                return s, _minus_contrast(probs, target, split_score(score)[1])

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


class PassCache:
    """The passes of one request (one image, target, score and layer), each run at most once.

    The first pass also gives the predictions. It is the plain pass when Vanilla Gradients is
    asked for (or nothing else needs a backward pass), otherwise the guided (or deconv) pass,
    so Guided Backpropagation alone costs one forward+backward. The CAM methods take A and dS/dA
    from whichever pass captured them, provided no re-routed ReLU lies between the layer and S.
    """

    def __init__(
        self,
        model: LoadedModel,
        x: np.ndarray,
        raw: np.ndarray,
        target: int | None,
        score: str,
        layer: str | None,
        methods: set[str],
        contrast: int | None = None,
    ) -> None:
        self.model = model
        self.x = np.asarray(x, dtype=np.float32)  # no copy: the prepared input is read-only
        self.raw = raw  # the image at model size, uint8, before preprocessing
        self.score = contrast_score(score, contrast)  # "logit", or "logit vs B" for S_A - S_B
        self.contrast = contrast
        self.layer = layer
        self._target_in = -1 if target is None else int(target)
        self._passes: dict[str | None, PlainPass] = {}
        self.shared: dict[str, Any] = {}  # results one method leaves for another (Grad-CAM map)
        # The share of the job's progress bar that the running method fills (set by the caller)
        self.progress_span: tuple[float, float] = (0.0, 1.0)
        from saliency_desktop.engine.registry import get_method

        infos = [get_method(m).info for m in sorted(methods)]
        rules = sorted({i.relu_rule for i in infos if i.relu_rule}, key=("guided", "deconv").index)
        # The first pass re-routes ReLUs only when nothing asks for plain gradients, so a job of
        # Guided Backpropagation alone costs one forward+backward.
        plain_wanted = any(i.plain_gradient for i in infos)
        self._first_rule: str | None = None if plain_wanted or not rules else rules[0]
        self._first_grad = any(i.first_pass_backward for i in infos)

    @property
    def runtime(self) -> Runtime:
        return self.model.runtime

    def _run(self, rule: str | None, capture: str | None, with_grad: bool) -> PlainPass:
        fn = self.runtime.single(rule, capture, self.score, with_grad)
        target = self._target_in if not self._passes else self.target
        out = [np.asarray(o) for o in fn(self.x[None], np.int32(target))]
        probs, logits, t, s = out[0][0], out[1][0], int(out[2]), float(out[3][0])
        grad_x = out[4][0] if with_grad else None
        acts = out[5][0] if with_grad and capture else None
        grad_a = out[6][0] if with_grad and capture else None
        key = self.runtime.single_key(rule, capture, self.score, with_grad)
        if rule is not None and acts is not None and not self.runtime.cam_exact.get(key, False):
            acts = grad_a = None  # dS/dA went through re-routed ReLUs: not usable for CAM
        if capture is not None and acts is not None:  # for the Neurons browser: no second pass
            from saliency_desktop.engine.neurons import remember

            remember(self.model, self.x, capture, acts, grad_a, t, self.score, int(probs.argmax()))
        return PlainPass(probs, logits, t, s, grad_x, acts, grad_a)

    def plain(self) -> PlainPass:
        """The first pass: predictions, the target and S(x) (and its gradients)."""
        if not self._passes:
            capture = self.layer if self._first_grad else None
            self._passes[self._first_rule] = self._run(self._first_rule, capture, self._first_grad)
        return next(iter(self._passes.values()))

    def _pass(self, rule: str | None, capture: str | None) -> PlainPass:
        self.plain()
        if rule not in self._passes:
            self._passes[rule] = self._run(rule, capture, True)
        return self._passes[rule]

    @property
    def target(self) -> int:
        return self.plain().target

    def gradients(self) -> np.ndarray:
        grad = self._pass(None, self.layer).grad_x
        assert grad is not None
        return grad

    def cam_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        if self.layer is None:
            raise EngineError("This model has no 4-D feature-map layer for the CAM methods.")
        self.plain()
        for p in self._passes.values():  # a pass that captured them usably, if one ran
            if p.activations is not None and p.grad_a is not None:
                return p.activations, p.grad_a
        # The plain pass, when it runs, always captures the layer; so it has not run yet.
        p = self._pass(None, self.layer)
        assert p.activations is not None and p.grad_a is not None
        return p.activations, p.grad_a

    def rerouted_gradients(self, rule: str) -> np.ndarray:
        grad = self._pass(rule, None).grad_x
        assert grad is not None
        return grad

    def _batch_size(self) -> int:
        """The model's batch size, or a small trial batch until one has been measured."""
        size = self.model.batch_size
        return size if self.model.batch_measured else min(size, TRIAL_BATCH)

    def _run_batch(self, fn: Any, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """fn on a batch; the first batch of a model is measured and sizes the later ones."""
        model = self.model

        def call() -> tuple[np.ndarray, np.ndarray]:
            s, g = fn(points, np.int32(self.target))
            return np.asarray(s), np.asarray(g)

        if model.batch_measured:
            return call()
        from saliency_desktop.engine import device, memory

        self.runtime.trace_batch()  # tracing's own memory is not charged to the samples
        result, growth = memory.measure_growth(call, device.is_gpu())
        budget = device.batch_memory_bytes()
        model.batch_size = memory.batch_from_trial(growth, len(points), budget)
        model.batch_measured = True
        log.info("batch of %d grew memory by %.0f MB: batch size %d for a %.0f MB budget",
                 len(points), growth / 2**20, model.batch_size, budget / 2**20)  # fmt: skip
        return result

    def path_integral(
        self,
        baseline: np.ndarray,
        alphas: np.ndarray,
        weights: np.ndarray,
        job: JobControl,
        progress_span: tuple[float, float] = (0.0, 1.0),
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """sum_i weights_i * dS/dx at x' + alphas_i (x - x'), in bounded batches.

        Returns (integral (H, W, C), S at each path point, S(x')). The baseline rides along in the
        first batch, so its score costs no extra call. Points are built batch by batch, so memory
        is bounded by the batch size, not by the number of steps.
        """
        fn = self.runtime.batch(self.score)
        diff = self.x - baseline
        integral = np.zeros_like(self.x, dtype=np.float64)
        scores: list[np.ndarray] = []
        baseline_score = 0.0
        lo, hi = progress_span
        n = len(alphas)
        start = 0
        while start < n:
            job.check()
            a = alphas[start : start + self._batch_size()].astype(np.float32)
            first = start == 0
            points = np.empty((len(a) + first, *self.x.shape), np.float32)  # one buffer, no copy
            np.multiply(a[:, None, None, None], diff, out=points[: len(a)])
            points[: len(a)] += baseline
            if first:
                points[-1] = baseline
            s, g = self._run_batch(fn, points)
            if first:
                baseline_score = float(s[-1])
                s, g = s[:-1], g[:-1]
            scores.append(s)
            w = weights[start : start + len(a)].astype(np.float64)
            integral += np.tensordot(w, g.astype(np.float64), axes=(0, 0))
            start += len(a)
            job.report(lo + (hi - lo) * start / n, "integrated gradients")
        return integral.astype(np.float32), np.concatenate(scores), baseline_score

    def forward_scores(
        self,
        make_batch: Any,
        n: int,
        job: JobControl,
        label: str,
        target: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(S, P) for n inputs built on demand by `make_batch(start, stop)` -> (m, H, W, C).

        Forward passes only, in batches under the memory budget (a forward pass keeps no
        activations for a backward one, so batches are twice the gradient batch); progress is
        reported and cancel checked between batches. S is the request's score, P the target's
        softmax (or sigmoid) probability; `target` defaults to the request's target.
        """
        fn = self.runtime.forward(self.score)
        t = np.int32(self.target if target is None else target)
        size = max(1, min(2 * self.model.batch_size, 128))
        lo, hi = self.progress_span
        scores: list[np.ndarray] = []
        probs: list[np.ndarray] = []
        for start in range(0, n, size):
            job.check()
            batch = np.asarray(make_batch(start, min(start + size, n)), np.float32)
            s, p = fn(batch, t)
            scores.append(np.asarray(s, np.float64))
            probs.append(np.asarray(p, np.float64))
            job.report(lo + (hi - lo) * min(start + size, n) / n, label)
        if not scores:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(scores), np.concatenate(probs)

    def head_scores(
        self, make_factors: Any, n: int, job: JobControl, label: str
    ) -> tuple[np.ndarray, bool]:
        """S for n variants A * F_i of the CAM layer's activations A, run through the layers
        after it only (see `Runtime.head`). `make_factors(start, stop)` gives the factors
        F_i, (m, 1, 1, K) or (m, h, w, K), broadcast against A inside the compiled pass (so
        ablating a channel sends K numbers, not a copy of A).

        Batched as `forward_scores`, with progress and cancel between batches. Returns (S, cut):
        cut is False when the layer is not a cut vertex and each batch ran the full model.
        """
        acts, _ = self.cam_inputs()
        fn = self.runtime.head(self.layer, self.score)
        cut = self.runtime.head_cut[("head", self.layer, self.score)]
        a = acts[None].astype(np.float32)
        t = np.int32(self.target)
        size = max(1, min(2 * self.model.batch_size, 128))
        if cut:  # only the head runs: batches bounded by the activations' bytes instead
            size = max(size, min(HEAD_BATCH_BYTES // max(a.nbytes, 1), 1024))
        lo, hi = self.progress_span
        scores: list[np.ndarray] = []
        for start in range(0, n, size):
            job.check()
            f = np.asarray(make_factors(start, min(start + size, n)), np.float32)
            x = self.x[None] if cut else np.repeat(self.x[None], len(f), axis=0)
            s, _ = fn(x, a, f, t)
            scores.append(np.asarray(s, np.float64))
            job.report(lo + (hi - lo) * min(start + size, n) / n, label)
        return (np.concatenate(scores) if scores else np.zeros(0)), cut

    def layers_inputs(self, layers: tuple[str, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(A, dS/dA)] of several layers from one forward+backward pass (the request's CAM
        layer alone reuses the shared pass)."""
        if layers == (self.layer,):
            return [self.cam_inputs()]
        key = ("layers", layers)
        if key not in self.shared:
            fn = self.runtime.multi_capture(layers, self.score)
            out = [np.asarray(o) for o in fn(self.x[None], np.int32(self.target))]
            n = len(layers)
            self.shared[key] = [(out[1 + i][0], out[1 + n + i][0]) for i in range(n)]
        return self.shared[key]
