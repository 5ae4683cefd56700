"""Compiled forward/backward passes, and the per-request cache that lets methods share them.

One `tf.function` per pass kind, traced once per model and reused:

* `plain`: forward + one backward from the score S to the input *and* to the CAM layer's
  activations. It serves the predictions, Vanilla Gradients, Grad-CAM and Grad-CAM++ at once.
* `guided` / `deconv`: one backward pass with the ReLU rules re-routed (Guided Grad-CAM reuses the
  guided pass and the Grad-CAM map, so it adds no pass).
* `batch`: plain gradients for a batch of inputs (Integrated Gradients' path points).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_desktop.engine.graph import RunState, run_model
from saliency_desktop.engine.types import EngineError, JobControl

if TYPE_CHECKING:
    from saliency_desktop.engine.models import LoadedModel


CONTRAST = " vs "


def contrast_score(score: str, contrast: int | None) -> str:
    """The score spec of a contrastive explanation: "logit vs 7" is S_target - S_7.

    Every pass takes its score through `Runtime._score`, so each method that explains a scalar
    (gradients, CAMs, IG, perturbations) explains the difference when given this spec.
    """
    return score if contrast is None else f"{score}{CONTRAST}{int(contrast)}"


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
    """Compiled passes for one loaded model; built lazily and cached by configuration."""

    def __init__(self, model: LoadedModel) -> None:
        self.model = model
        self._fns: dict[tuple[Any, ...], Any] = {}
        self.cam_exact: dict[tuple[Any, ...], bool] = {}

    def _spec(self) -> Any:
        import tensorflow as tf

        h, w = self.model.info.input_size
        return tf.TensorSpec([None, h, w, self.model.info.channels], tf.float32)

    def _outputs(self, x: Any, st: RunState) -> tuple[Any, Any]:
        """(probabilities, scores) for the batch x: scores are logits unless score='probability'."""
        import tensorflow as tf

        st.output_op = self.model.output_op
        out = run_model(self.model.keras_model, x, st)
        if isinstance(out, list | tuple):
            out = out[self.model.output_index]
        out = tf.reshape(out, [tf.shape(out)[0], -1])
        logits = st.logits if st.logits is not None else out
        logits = tf.reshape(logits, [tf.shape(logits)[0], -1])
        if self.model.info.final_activation == "linear":
            out = tf.nn.softmax(logits)  # outputs are logits: show (and explain) softmax of them
        return out, logits

    def _score(self, probs: Any, logits: Any, target: Any, score: str) -> Any:
        import tensorflow as tf

        base, _, contrast = score.partition(CONTRAST)
        source = probs if base == "probability" else logits
        s = tf.gather(source, target, axis=1)
        if contrast:  # S_A - S_B (see `contrast_score`)
            s = s - tf.gather(source, int(contrast), axis=1)
        return s

    @staticmethod
    def single_key(
        rule: str | None, capture: str | None, score: str, with_grad: bool
    ) -> tuple[Any, ...]:
        """The key of a `single` pass, in the function cache and in `cam_exact`."""
        return ("single", rule, capture, score, with_grad)

    def single(self, rule: str | None, capture: str | None, score: str, with_grad: bool) -> Any:
        """Forward (+ backward) for one image: probabilities, logits, target, S, dS/dx, A, dS/dA.

        `rule` None is the plain gradient; "guided"/"deconv" re-route every ReLU. With a rule, dS/dA
        equals the plain one when no re-routed ReLU lies after the captured layer; whether that
        holds is recorded in `cam_exact` when the function is traced.
        """
        key = self.single_key(rule, capture, score, with_grad)
        if key not in self._fns:
            import tensorflow as tf

            def fn(x: Any, target: Any) -> Any:
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    st = RunState(capture=capture, rule=rule)  # type: ignore[arg-type]
                    probs, logits = self._outputs(x, st)
                    t = tf.where(target < 0, tf.cast(tf.argmax(probs[0]), tf.int32), target)
                    s = self._score(probs, logits, t, score)
                    total = tf.reduce_sum(s)
                if rule is not None and not st.overridden:
                    raise EngineError(f"The model has no ReLU for the {rule} rule to act on.")
                self.cam_exact[key] = capture is not None and not st.relu_after_capture
                if not with_grad:
                    return probs, logits, t, s
                sources = [x] + ([st.captured] if capture else [])
                grads = tape.gradient(total, sources)
                extra = (st.captured, grads[1]) if capture else ()
                return (probs, logits, t, s, grads[0], *extra)

            self._fns[key] = tf.function(
                fn,
                input_signature=[self._spec(), tf.TensorSpec([], tf.int32)],
                autograph=False,
            )
        return self._fns[key]

    def batch(self, score: str) -> Any:
        """Scores and gradients for a batch of inputs (IG path points)."""
        key = ("batch", score)
        if key not in self._fns:
            import tensorflow as tf

            def fn(x: Any, target: Any) -> Any:
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    probs, logits = self._outputs(x, RunState())
                    s = self._score(probs, logits, target, score)
                    total = tf.reduce_sum(s)
                return s, tape.gradient(total, x)

            self._fns[key] = tf.function(
                fn,
                input_signature=[self._spec(), tf.TensorSpec([], tf.int32)],
                autograph=False,
            )
        return self._fns[key]

    def forward(self, score: str) -> Any:
        """Scores S and the target's probability for a batch of inputs, forward only
        (perturbation methods, faithfulness metrics)."""
        key = ("forward", score)
        if key not in self._fns:
            import tensorflow as tf

            def fn(x: Any, target: Any) -> Any:
                probs, logits = self._outputs(x, RunState())
                s = self._score(probs, logits, target, score)
                return s, tf.gather(probs, target, axis=1)

            self._fns[key] = tf.function(
                fn,
                input_signature=[self._spec(), tf.TensorSpec([], tf.int32)],
                autograph=False,
            )
        return self._fns[key]

    def capture(self, layers: tuple[str, ...]) -> Any:
        """Forward only: (probabilities, *outputs of `layers`) for a batch (Neurons browser)."""
        key = ("capture", layers)
        if key not in self._fns:
            import tensorflow as tf

            def fn(x: Any) -> Any:
                st = RunState(capture_many=frozenset(layers))
                probs, _ = self._outputs(x, st)
                return (probs, *[st.captured_many[name] for name in layers])

            self._fns[key] = tf.function(fn, input_signature=[self._spec()], autograph=False)
        return self._fns[key]


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
        self.x = x.astype(np.float32)
        self.raw = raw  # the image at model size, uint8, before preprocessing
        self.score = contrast_score(score, contrast)  # "logit", or "logit vs B" for S_A - S_B
        self.contrast = contrast
        self.layer = layer
        self._target_in = -1 if target is None else int(target)
        self._passes: dict[str | None, PlainPass] = {}
        self.shared: dict[str, Any] = {}  # results one method leaves for another (Grad-CAM map)
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
            from saliency_desktop.engine.activations import remember

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
        size = self.model.batch_size
        diff = self.x - baseline
        integral = np.zeros_like(self.x, dtype=np.float64)
        scores: list[np.ndarray] = []
        baseline_score = 0.0
        lo, hi = progress_span
        n = len(alphas)
        for start in range(0, n, size):
            job.check()
            a = alphas[start : start + size].astype(np.float32)
            points = baseline[None] + a[:, None, None, None] * diff[None]
            first = start == 0
            if first:
                points = np.concatenate([points, baseline[None]])
            s, g = fn(points.astype(np.float32), np.int32(self.target))
            s, g = np.asarray(s), np.asarray(g)
            if first:
                baseline_score = float(s[-1])
                s, g = s[:-1], g[:-1]
            scores.append(s)
            w = weights[start : start + size].astype(np.float64)
            integral += np.tensordot(w, g.astype(np.float64), axes=(0, 0))
            job.report(lo + (hi - lo) * min(start + size, n) / n, "integrated gradients")
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
        lo, hi = self.shared.get("progress_span", (0.0, 1.0))
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
