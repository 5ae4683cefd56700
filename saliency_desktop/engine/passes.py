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
        return out, logits

    def _score(self, probs: Any, logits: Any, target: Any, score: str) -> Any:
        import tensorflow as tf

        source = probs if score == "probability" else logits
        return tf.gather(source, target, axis=1)

    def plain(self, capture: str | None, score: str, with_grad: bool) -> Any:
        key = ("plain", capture, score, with_grad)
        if key not in self._fns:
            import tensorflow as tf

            def fn(x: Any, target: Any) -> Any:
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    st = RunState(capture=capture)
                    probs, logits = self._outputs(x, st)
                    t = tf.where(target < 0, tf.cast(tf.argmax(probs[0]), tf.int32), target)
                    s = self._score(probs, logits, t, score)
                    total = tf.reduce_sum(s)
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

    def rerouted(self, rule: str, score: str) -> Any:
        key = ("rerouted", rule, score)
        if key not in self._fns:
            import tensorflow as tf

            def fn(x: Any, target: Any) -> Any:
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    st = RunState(rule=rule)  # type: ignore[arg-type]
                    probs, logits = self._outputs(x, st)
                    total = tf.reduce_sum(self._score(probs, logits, target, score))
                if not st.overridden:
                    raise EngineError(f"The model has no ReLU for the {rule} rule to act on.")
                return tape.gradient(total, x)

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


class PassCache:
    """The passes of one request (one image, target, score and layer), each run at most once."""

    def __init__(
        self,
        model: LoadedModel,
        x: np.ndarray,
        raw: np.ndarray,
        target: int | None,
        score: str,
        layer: str | None,
        need_grad: bool,
    ) -> None:
        self.model = model
        self.x = x.astype(np.float32)
        self.raw = raw  # the image at model size, uint8, before preprocessing
        self.score = score
        self.layer = layer
        self._plain: PlainPass | None = None
        self._target_in = -1 if target is None else int(target)
        self._need_grad = need_grad
        self._rerouted: dict[str, np.ndarray] = {}
        self.shared: dict[str, Any] = {}  # results one method leaves for another (Grad-CAM map)

    @property
    def runtime(self) -> Runtime:
        return self.model.runtime

    def plain(self) -> PlainPass:
        if self._plain is None:
            capture = self.layer if self._need_grad else None
            fn = self.runtime.plain(capture, self.score, self._need_grad)
            out = [np.asarray(o) for o in fn(self.x[None], np.int32(self._target_in))]
            probs, logits, t, s = out[0][0], out[1][0], int(out[2]), float(out[3][0])
            grad_x = out[4][0] if self._need_grad else None
            acts = out[5][0] if self._need_grad and capture else None
            grad_a = out[6][0] if self._need_grad and capture else None
            self._plain = PlainPass(probs, logits, t, s, grad_x, acts, grad_a)
        return self._plain

    @property
    def target(self) -> int:
        return self.plain().target

    def gradients(self) -> np.ndarray:
        grad = self.plain().grad_x
        if grad is None:
            raise EngineError("internal: the plain pass ran without gradients")
        return grad

    def cam_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        p = self.plain()
        if p.activations is None or p.grad_a is None:
            raise EngineError("This model has no 4-D feature-map layer for the CAM methods.")
        return p.activations, p.grad_a

    def rerouted_gradients(self, rule: str) -> np.ndarray:
        if rule not in self._rerouted:
            fn = self.runtime.rerouted(rule, self.score)
            self._rerouted[rule] = np.asarray(fn(self.x[None], np.int32(self.target)))[0]
        return self._rerouted[rule]

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
