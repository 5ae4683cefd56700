"""Expected Gradients (Erion et al. 2021): IG averaged over a distribution of baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from saliency_desktop.engine.batched import batched_gradients
from saliency_desktop.engine.methods.gradients import channel_sum
from saliency_desktop.engine.methods.integrated import completeness, make_baseline
from saliency_desktop.engine.passes import PassCache
from saliency_desktop.engine.registry import SaliencyMethod, register
from saliency_desktop.engine.types import (
    EngineError,
    ImageError,
    JobControl,
    ParamInfo,
    path_info,
    seed_param,
)

MAX_REFERENCES = 256  # images read from a reference folder (sorted by name)
MAX_REFERENCE_BYTES = 64 * 1024 * 1024  # per file
DEFAULT_REFERENCES = ("blur", "noise", "black", "white")
_CACHE: dict[tuple[Any, ...], tuple[np.ndarray, tuple[str, ...]]] = {}


def reference_files(folder: str) -> list[Path]:
    """The image files of `folder` (not recursive), sorted by name, at most MAX_REFERENCES."""
    from saliency_desktop.engine.images import is_image_name

    path = Path(folder).expanduser()
    if not path.is_dir():
        raise EngineError(f"Expected Gradients: the reference folder {folder} does not exist.")
    files = sorted(p for p in path.iterdir() if p.is_file() and is_image_name(p))
    if not files:
        raise EngineError(f"Expected Gradients: no image in the reference folder {folder}.")
    return files[:MAX_REFERENCES]


def load_references(ctx: PassCache, folder: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """(K, H, W, C) preprocessed references and the names of files skipped (unreadable or over
    MAX_REFERENCE_BYTES). The last folder read for a model is kept until a file changes."""
    from saliency_desktop.engine.images import load_image

    files = reference_files(folder)
    stats = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (id(ctx.model), ctx.model.info.input_size, stats)
    if key in _CACHE:
        return _CACHE[key]
    refs, skipped = [], []
    for p, (_, size, _) in zip(files, stats, strict=True):
        try:
            if size > MAX_REFERENCE_BYTES:
                raise ImageError(f"{p.name}: larger than {MAX_REFERENCE_BYTES >> 20} MB")
            rgb, _ = load_image(p)
        except ImageError:
            skipped.append(p.name)
            continue
        refs.append(ctx.model.prepare(np.array(rgb))[1])
    if not refs:
        raise EngineError(
            f"Expected Gradients: no readable image in the reference folder {folder}."
        )
    _CACHE.clear()
    _CACHE[key] = (np.stack(refs).astype(np.float32), tuple(skipped))
    return _CACHE[key]


def _baseline_scores(ctx: PassCache, baselines: np.ndarray, job: JobControl) -> np.ndarray:
    """S at each baseline, forward only (for the completeness check)."""
    fn = ctx.runtime.forward(ctx.score)
    size = max(1, 2 * ctx.model.batch_size)
    out = []
    for start in range(0, len(baselines), size):
        job.check()
        s, _ = fn(baselines[start : start + size], np.int32(ctx.target))
        out.append(np.asarray(s, np.float64))
    return np.concatenate(out)


@register
class ExpectedGradients(SaliencyMethod):
    """Erion, Janizek, Sturmfels, Lundberg & Lee 2021 (Nature Machine Intelligence), eq. (4):

    EG_i(x) = E_{x' ~ D, alpha ~ U(0, 1)} [ (x_i - x'_i) dS(x' + alpha (x - x'))/dx_i ],

    estimated with n_samples draws (one baseline and one alpha each; Captum's GradientShap with
    no input noise). D is uniform over the images of a reference folder, or by default over the
    blur, noise, black and white baselines of IG. Completeness holds in expectation:
    sum_i EG_i ~ S(x) - E[S(x')]; the delta reported uses the sampled baselines.
    """

    info = path_info(
        id="expected_gradients",
        label="Expected Gradients",
        summary="Integrated Gradients averaged over many baselines and path points drawn at "
        "random.",
        paper="Erion et al. 2021, Improving performance of deep learning models with axiomatic "
        "attribution priors and expected gradients",
        params=(
            ParamInfo("n_samples", "Samples", "int", 200, minimum=1, maximum=100000),
            seed_param("the draws"),
            ParamInfo(
                "references",
                "Reference folder",
                "folder",
                "",
                help="A folder of reference images (the baseline distribution, at most "
                f"{MAX_REFERENCES}); empty: the blur, noise, black and white baselines.",
            ),
        ),
        order=20,
    )

    def cost(self, params: dict[str, Any], batch_size: int) -> float:
        return max(params.get("n_samples", 200) / max(batch_size, 1), 1.0) * 2.0

    def compute(
        self, ctx: PassCache, params: dict[str, Any], job: JobControl
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        skipped: tuple[str, ...] = ()
        if params["references"]:
            baselines, skipped = load_references(ctx, params["references"])
        else:
            kinds = DEFAULT_REFERENCES
            baselines = np.stack([make_baseline(ctx, k, params["seed"]) for k in kinds])
        baselines = baselines.astype(np.float32)
        n = params["n_samples"]
        rng = np.random.default_rng(params["seed"])
        index = rng.integers(len(baselines), size=n)
        alpha = rng.uniform(0.0, 1.0, size=n).astype(np.float32)
        x = ctx.x
        total = np.zeros(x.shape, np.float64)

        def make_batch(start: int, stop: int) -> np.ndarray:
            b = baselines[index[start:stop]]
            return b + alpha[start:stop, None, None, None] * (x[None] - b)

        def consume(start: int, stop: int, points: np.ndarray, grads: np.ndarray) -> None:
            diff = (x[None] - baselines[index[start:stop]]).astype(np.float64)
            total[...] += (diff * grads).sum(axis=0)

        batched_gradients(ctx, make_batch, n, job, "expected gradients", consume)
        attributions = (total / n).astype(np.float32)
        expected = float(_baseline_scores(ctx, baselines, job)[index].mean())
        extras = {
            **completeness(ctx.plain().score, expected, attributions),
            "n_references": len(baselines),
            "references_skipped": list(skipped),
        }
        return channel_sum(attributions), attributions, None, extras
