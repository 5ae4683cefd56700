"""The evaluation figure with every registered method (15+): legends clear of the other
panels, and no two curves alike (tab20's colours repeat past 20 methods: dashed lines then)."""

from __future__ import annotations

import numpy as np

from saliency_desktop.engine.metric_types import Curve, Evaluation, MetricResult
from saliency_desktop.engine.registry import list_methods
from saliency_desktop.render.evaluation import evaluation_figure
from saliency_desktop.render.panels import method_label


def _evaluation(ids: list[str], seed: int) -> Evaluation:
    rng = np.random.default_rng(seed)
    x, layers = np.linspace(0, 1, 101), np.arange(9.0)
    results = {}
    for mid in ids:
        p, rho = rng.uniform(0, 1, 101), rng.uniform(-0.9, 1, 9)
        results[mid] = {
            "deletion": MetricResult("deletion", mid, {"deletion_auc": float(p.mean())},
                                     {"deletion": Curve(x, p)}),
            "insertion": MetricResult("insertion", mid, {"insertion_auc": float(p.mean())},
                                      {"insertion": Curve(x, p[::-1])}),
            "randomization": MetricResult(
                "randomization", mid, {"randomization": float(rho[-1])},
                {"spearman": Curve(layers, rho), "ssim": Curve(layers, rho)},
                {"layers": [f"layer{i}" for i in range(9)], "maps": rng.uniform(0, 1, (9, 8, 8))},
            ),
        }  # fmt: skip
    return Evaluation(0, "a", ("deletion", "insertion", "randomization"), results, {}, 0.0)


def test_every_method_gets_a_legible_legend_and_its_own_line():
    """Panels per family: one legend per family, every method in exactly one, none over
    another panel, and no two lines alike within a panel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from saliency_desktop.render.evaluation_many import families

    ids = [info.id for info in list_methods()]
    assert len(ids) > 20
    rows = [(f"image{i}", _evaluation(ids, i), None) for i in range(3)]
    fig = evaluation_figure(rows)
    renderer = FigureCanvasAgg(fig).get_renderer()
    page = fig.bbox
    holders = [ax for ax in fig.axes if ax.get_legend() is not None]
    groups = families(ids)
    assert len(holders) == len(groups) > 1
    shown = [t.get_text() for h in holders for t in h.get_legend().get_texts()]
    assert sorted(shown) == sorted(method_label(m) for m in ids)  # each method once
    for holder in holders:
        box = holder.get_legend().get_window_extent(renderer)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 <= box.y1 <= page.y1
        for ax in fig.axes:
            if ax is not holder and ax.get_visible():
                assert not box.overlaps(ax.get_tightbbox(renderer)), ax.get_title()
    by_row: dict[float, set] = {}  # panels side by side show their values on one scale
    for ax in fig.axes:
        if any(not line.get_label().startswith("_") for line in ax.get_lines()):
            by_row.setdefault(round(ax.get_position().y0, 3), set()).add(ax.get_ylim())
    assert len(by_row) == 3 and all(len(limits) == 1 for limits in by_row.values())
    sizes = sorted(len(g) for g in groups.values())
    for ax in fig.axes:
        styles = [(str(line.get_color()), line.get_linestyle()) for line in ax.get_lines()
                  if not line.get_label().startswith("_")]  # fmt: skip
        if styles:  # a curve panel: one distinct line per method of its family
            assert len(set(styles)) == len(styles) and len(styles) in sizes, ax.get_title()


def test_scores_share_one_column_of_method_names():
    """The bar charts list the methods once per row of panels, in registry order."""
    ids = [info.id for info in list_methods()]
    rows = [(f"image{i}", _evaluation(ids, i), None) for i in range(2)]
    fig = evaluation_figure(rows)
    bars = [ax for ax in fig.axes if ax.patches and ax.get_visible()]
    assert bars
    named = [ax for ax in bars if any(t.get_text() for t in ax.get_yticklabels())]
    labelled = [t for t in named[0].get_yticklabels() if t.get_text()]
    assert [t.get_text() for t in labelled] == [method_label(m) for m in ids]
    # one panel per score computed (deletion, insertion, randomisation) and names on one of them
    assert len(bars) == 3 and len(named) == 1
