"""The passes of one request (`PassCache`): each compiled pass run at most once, shared by
the methods of that request.

The first pass gives the predictions and, where asked, the plain (or re-routed) gradients and
the CAM layer's activations; later methods take what they need from it (Guided Grad-CAM reuses
the guided pass and the Grad-CAM map, so it adds no pass). Batched helpers run many inputs in
batches under the memory budget (path integrals, forward scores, the head after a layer), with
progress and cancel between batches. The compiled functions themselves are `runtime.Runtime`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_desktop.engine.runtime import Runtime, contrast_score
from saliency_desktop.engine.types import EngineError, JobControl

if TYPE_CHECKING:
    from saliency_desktop.engine.models import LoadedModel

log = logging.getLogger(__name__)
TRIAL_BATCH = 4  # path points in the measured first batch (the baseline rides along)


HEAD_BATCH_BYTES = 64 * 2**20  # head-only passes: this many bytes of activations per batch


@dataclass(frozen=True)
class PlainPass:
    probabilities: np.ndarray  # (n_classes,)
    logits: np.ndarray  # (n_classes,): pre-softmax scores (equal to the output if no softmax)
    target: int
    score: float  # S(x)
    grad_x: np.ndarray | None  # (H, W, C) dS/dx
    activations: np.ndarray | None  # (h, w, K) A
    grad_a: np.ndarray | None  # (h, w, K) dS/dA


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
            from saliency_desktop.engine.activation_cache import remember

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

    def point_batch(self) -> int:
        """Inputs per batched gradient call: the model's batch size, or a small trial batch
        until one has been measured."""
        size = self.model.batch_size
        return size if self.model.batch_measured else min(size, TRIAL_BATCH)

    def measured(self, call: Any, n_points: int) -> Any:
        """call(), a batch of n_points; a model's first batched gradient call is measured and
        sizes the later batches under the memory budget (trace the pass before: tracing's own
        memory is not to be charged to the samples)."""
        model = self.model
        if model.batch_measured:
            return call()
        from saliency_desktop.engine import device, memory

        result, growth = memory.measure_growth(call, device.is_gpu())
        budget = device.batch_memory_bytes()
        model.batch_size = memory.batch_from_trial(growth, n_points, budget)
        model.batch_measured = True
        log.info("batch of %d grew memory by %.0f MB: batch size %d for a %.0f MB budget",
                 n_points, growth / 2**20, model.batch_size, budget / 2**20)  # fmt: skip
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

        Returns (integral (H, W, C), S at each path point, S(x')). The points, gradients and
        weighted sum are made on the device (`Runtime.path`); the baseline rides along in the
        first batch (alpha 0, weight 0), so its score costs no extra call. Memory is bounded by
        the batch size, not by the number of steps.
        """
        fn = self.runtime.path(self.score)
        x, base = self.x[None].astype(np.float32), baseline[None].astype(np.float32)
        integral = np.zeros_like(self.x, dtype=np.float64)
        scores: list[np.ndarray] = []
        baseline_score = 0.0
        lo, hi = progress_span
        n, target = len(alphas), np.int32(self.target)
        if not self.model.batch_measured:
            self.runtime.trace_batch()  # before the measured first batch
        start = 0
        while start < n:
            job.check()
            a = np.asarray(alphas[start : start + self.point_batch()], np.float32)
            w = np.asarray(weights[start : start + len(a)], np.float32)
            first = start == 0
            if first:
                a, w = np.append(a, np.float32(0)), np.append(w, np.float32(0))
            s, sums = self.measured(lambda a=a, w=w: fn(x, base, a, w[None], target), len(a))
            if first:
                baseline_score, s = float(s[-1]), s[:-1]
            scores.append(s)
            integral += sums[0]
            start += len(s)
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
