"""The passes that sum on the device (`Runtime` inherits them): IG's path (`path`) and the
noise tunnel (`noise_tunnel`) build their inputs inside one compiled program and return only
weighted sums, never a per-point array. They use `Runtime`'s compile, spec and output helpers."""

from __future__ import annotations

from typing import Any

import numpy as np

from saliency_desktop.engine.graph import RunState
from saliency_desktop.engine.scores import split_score
from saliency_desktop.engine.types import EngineError


class SummedPasses:
    """Mixin of `runtime.Runtime` (which provides `_fns`, `_compile`, `_spec`, `_outputs`,
    `_score` and `backend`)."""

    _fns: dict[tuple[Any, ...], Any]
    backend: Any
    _compile: Any
    _spec: Any
    _outputs: Any
    _score: Any

    def path(self, score: str) -> Any:
        """Scores and weighted sums of gradients along a straight path, computed on the device:
        fn(x, x', alphas (m,), weights (k, m), target) -> (S at the m points x' + alpha (x - x'),
        (k, H, W, C) with row j = sum_i weights[j, i] dS/dx at point i). x and x' are (1, H, W,
        C). Only the k sums come back, not the m gradients (IG's path, Sundararajan et al. 2017).
        On JAX, which compiles a program per shape, m is padded (zero weights) to a few sizes."""
        key = ("path",)
        if key not in self._fns:

            def fn(x: Any, baseline: Any, alphas: Any, weights: Any, *score_args: Any) -> Any:
                from keras import ops

                points = baseline + ops.reshape(alphas, (-1, 1, 1, 1)) * (x - baseline)
                s, grads = self._batch_gradients(None, *score_args)(points)
                return s, ops.tensordot(weights, grads, axes=1)

            vector, matrix = ((None,), "float32"), ((None, None), "float32")
            scored = [((), "int32"), ((), "bool"), ((), "int32")]
            specs = [self._spec(), self._spec(), vector, matrix, *scored]
            self._fns[key] = self._compile(fn, specs)
        compiled, pad_to = self._fns[key], self.backend.pad_to
        base, contrast = split_score(score)
        use_prob, against = np.bool_(base == "probability"), np.int32(contrast)

        def call(x: Any, baseline: Any, alphas: Any, weights: Any, target: Any) -> Any:
            m = len(alphas)
            alphas = np.pad(np.asarray(alphas, np.float32), (0, pad_to(m) - m))
            weights = np.pad(np.asarray(weights, np.float32), ((0, 0), (0, pad_to(m) - m)))
            s, sums = compiled(x, baseline, alphas, weights, target, use_prob, against)
            return np.asarray(s)[:m], np.asarray(sums)

        return call

    def noise_tunnel(self, score: str, rule: str | None, times_input: bool, path: bool) -> Any:
        """One batch of a noise tunnel on the device (`noise.tunnel_sums`): fn(x, black, carry,
        (sample, alpha, weight, last), (sigma, seed), target) -> (sum a, sum (a - mean a)^2,
        carry, S), over the batch's complete samples.

        The noisy copies are drawn inside the pass and only the two sums (and the carried
        integral) come back, never a per-sample array; `rule` re-routes every ReLU. On JAX the
        points are padded to a few sizes (last = 0), so a handful of programs serve all batches.
        """
        key = ("noise_tunnel", rule, times_input, path)
        if key not in self._fns:
            from saliency_desktop.engine.noise import tunnel_sums

            def fn(x: Any, black: Any, carry: Any, sample: Any, alpha: Any, weight: Any,
                   last: Any, sigma: Any, seed: Any, target: Any, use_prob: Any,
                   contrast: Any) -> Any:  # fmt: skip
                gradients = self._batch_gradients(rule, target, use_prob, contrast)
                points, noise = (sample, alpha, weight, last), (sigma, seed)
                return tunnel_sums(gradients, x, black, carry, points, noise, times_input, path)

            one = ((1, *self._spec()[0][1:]), "float32")
            per_point = [((None,), "int32"), *[((None,), "float32")] * 3]
            scalars = [((), "float32"), ((), "int32"), ((), "int32"), ((), "bool"), ((), "int32")]
            self._fns[key] = self._compile(fn, [one, one, one, *per_point, *scalars])
            if self.backend.NAME == "tensorflow":
                self.backend.trace(self._fns[key], ())  # tracing is not charged to a batch
        compiled, (base, contrast) = self._fns[key], split_score(score)
        pad_to = self.backend.pad_to

        def call(x: Any, black: Any, carry: Any, points: Any, noise: Any, target: Any) -> Any:
            n = len(points[0])
            if pad_to(n) > n:  # padding joins the last sample with weight 0 and last 0: unseen
                pad = pad_to(n) - n
                fill = (points[0][-1], 0.0, 0.0, 0.0)
                points = [np.concatenate([p, np.full(pad, f, p.dtype)])
                          for p, f in zip(points, fill, strict=True)]  # fmt: skip
            args = (*points, np.float32(noise[0]), np.int32(noise[1]), np.int32(target))
            out = compiled(x, black, carry, *args, np.bool_(base == "probability"),
                           np.int32(contrast))  # fmt: skip
            return (*out[:3], np.asarray(out[3])[:n])

        return call

    def _batch_gradients(self, rule: str | None, target: Any, use_prob: Any, contrast: Any) -> Any:
        """points -> (S, dS/dx) inside a compiled pass; `rule` re-routes every ReLU."""
        from keras import ops

        def gradients(points: Any) -> tuple[Any, Any]:
            st = RunState(rule=rule)  # type: ignore[arg-type]

            def forward(x: Any, offsets: list[Any]) -> tuple[Any, Any]:
                probs, logits = self._outputs(x, st)
                s = self._score(probs, logits, target, use_prob, contrast)
                return ops.sum(s), s

            s, grads = self.backend.value_and_grad(forward, points, [])
            if rule is not None and not st.overridden:
                raise EngineError(f"The model has no ReLU for the {rule} rule to act on.")
            return s, grads[0]

        return gradients
