"""Issue 17: the report shows IG's settings and delta, method notes, skipped methods, and
titles that do not repeat "class 2 (class 2)"."""

from __future__ import annotations

from dataclasses import replace

from saliency_desktop.render.report import method_caption, report_figure, report_title, skipped_line


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes for t in ax.texts]


def test_ig_caption_gives_steps_rule_baseline_and_relative_delta(explanation):
    caption = method_caption(explanation.methods["integrated_gradients"])
    # delta 0.0123 over S(x) - S(x') = 2.0 - 0.5 = 1.5: 0.82 %
    assert caption.startswith("8 steps, gausslegendre, black baseline; Δ\u00a0=\u00a00.0123")
    assert "(0.82% of S(x)−S(x′) = 1.5)" in caption
    assert method_caption(explanation.methods["gradcam"]) == ""
    fig = report_figure(explanation)
    assert any("8 steps, gausslegendre" in t for t in _texts(fig))


def test_a_method_note_is_drawn_under_its_panel(explanation):
    vg = explanation.methods["vanilla_gradients"]
    note = "Rule applied to 14 ReLU(s); plain gradient through hard_swish ×19 on the feature path."
    methods = dict(explanation.methods, vanilla_gradients=replace(vg, extras={"note": note}))
    fig = report_figure(replace(explanation, methods=methods))
    assert "hard_swish ×19" in " ".join(_texts(fig))


def test_skipped_methods_are_listed_with_their_reason(explanation):
    reason = "no ReLU on the feature path to re-route (activations found: gelu ×3)"
    e = replace(explanation, skipped={"guided_backprop": reason, "deconvnet": reason})
    line = skipped_line(e)
    assert line == f"Not available: Guided Backpropagation, DeconvNet ({reason})"
    assert any(t.startswith("Not available: Guided Backpropagation") for t in _texts(
        report_figure(e)))  # fmt: skip
    assert skipped_line(explanation) == ""


def test_titles_without_labels_do_not_repeat_the_index(explanation):
    e = replace(explanation, target=2, target_label="class 2")
    _, second = report_title(e)
    assert "target: class 2," in second and "(class 2)" not in second
    _, named = report_title(explanation)
    assert "target: dog (class 1)," in named
