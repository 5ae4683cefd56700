"""The evaluation figure with every registered method (15+): legends clear of the other
panels, and no two curves alike (tab20's colours repeat past 20 methods: dashed lines then)."""

from __future__ import annotations

import numpy as np

from saliency_desktop.engine.metric_types import Curve, Evaluation, MetricResult
from saliency_desktop.engine.registry import list_methods
from saliency_desktop.render.evaluation import evaluation_figure


def _evaluation(ids: list[str], seed: int) -> Evaluation:
    rng = np.random.default_rng(seed)
    x, layers = np.linspace(0, 1, 101), np.arange(9.0)
    results = {}
    for mid in ids:
        p, rho = rng.uniform(0, 1, 101), rng.uniform(-0.2, 1, 9)
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
    ids = [info.id for info in list_methods()]
    assert len(ids) > 20
    rows = [(f"image{i}", _evaluation(ids, i), None) for i in range(2)]
    fig = evaluation_figure(rows)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    page = fig.bbox
    holders = [ax for ax in fig.axes if ax.get_legend() is not None]
    assert len(holders) == 3  # deletion, insertion, randomisation
    for holder in holders:
        box = holder.get_legend().get_window_extent(renderer)
        assert len(holder.get_legend().get_texts()) == len(ids)
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 <= box.y1 <= page.y1
        for ax in fig.axes:
            if ax is not holder and ax.get_visible():
                assert not box.overlaps(ax.get_tightbbox(renderer)), ax.get_title()
    for ax in fig.axes:
        styles = [(line.get_color(), line.get_linestyle()) for line in ax.get_lines()
                  if not line.get_label().startswith("_")]  # fmt: skip
        if len(styles) > 2:  # the curve and similarity panels
            assert len(set(map(str, styles))) == len(ids) == len(styles), ax.get_title()
