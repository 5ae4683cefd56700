"""Plain-language verdicts on an evaluation, for the app's Trust panel, figures and the README.

The sanity check (Adebayo et al. 2018) is passed when the map changes as the model is
randomised: the mean Spearman rank correlation of |map| with the original, over the cascade of
randomised layers, is below `SANITY_THRESHOLD`. The mean over the cascade is used, not only the
last step: a coarse map (Grad-CAM) of a fully random network can correlate with the original by
chance (both are blobs near the centre), while the maps that fail the check stay similar for
most of the cascade, as in the paper's fig. 2.
"""

from __future__ import annotations

from saliency_desktop.engine.metric_types import Evaluation

SANITY_THRESHOLD = 0.5
CLASS_THRESHOLD = 0.5


def _num(value: float) -> str:
    """Two decimals, without a minus sign on zero ("-0.00" reads as a real negative)."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def passes_sanity_check(scores: dict[str, float]) -> bool | None:
    """True/False when the randomisation test ran, else None."""
    value = scores.get("randomization_mean")
    return None if value is None else value < SANITY_THRESHOLD


def method_summary(ev: Evaluation, method: str, label: str) -> list[str]:
    """A few plain sentences on one method's map."""
    s = ev.scores(method)
    lines: list[str] = []
    passed = passes_sanity_check(s)
    if passed is False:
        lines.append(
            f"{label}: this map barely changes when the model is randomised (rank correlation "
            f"{_num(s['randomization_mean'])} on average): it shows image structure such as edges, "
            "not the model's evidence."
        )
    elif passed:
        lines.append(
            f"{label}: passes the sanity check: the map changes when the model's weights are "
            f"randomised (rank correlation {_num(s['randomization_mean'])} on average), so it "
            "depends on what the model learned."
        )
    if "deletion_auc" in s and "insertion_auc" in s:
        lines.append(
            f"Blacking out its top pixels leaves an average P of {s['deletion_auc']:.2f} (lower is "
            f"better); restoring them from a blur gives {s['insertion_auc']:.2f} (higher is "
            "better)."
        )
    if "road_gap" in s:
        verdict = "faithful" if s["road_gap"] > 0 else "not faithful"
        lines.append(
            f"ROAD: removing its least relevant pixels keeps P {s['road_gap']:+.2f} above "
            f"removing its most relevant ones ({verdict} by this test)."
        )
    if s.get("random_logit", 0.0) >= CLASS_THRESHOLD:
        lines.append(
            "The map for another class looks much the same: it is not specific to the class "
            "explained."
        )
    return lines or [f"{label}: no metric computed."]


def best_of(evs: list[Evaluation], score: str, higher: bool) -> str | None:
    """The method with the best mean `score` over the evaluations, or None."""
    totals: dict[str, list[float]] = {}
    for ev in evs:
        for mid in ev.results:
            value = ev.scores(mid).get(score)
            if value is not None:
                totals.setdefault(mid, []).append(value)
    if not totals:
        return None
    means = {m: sum(v) / len(v) for m, v in totals.items()}
    return (max if higher else min)(means, key=lambda m: means[m])
