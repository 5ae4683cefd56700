"""What the shown map is: the method (summary, paper, caveat, parameters, time) and the model."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser, QWidget

from saliency_desktop.engine.types import Explanation, MethodInfo
from saliency_desktop.ui import tiles
from saliency_desktop.ui.engine_api import LoadedModelState


def _row(key: str, value: object) -> str:
    return f"<tr><td><i>{html.escape(key)}</i></td><td>{html.escape(str(value))}</td></tr>"


def details_html(
    model: LoadedModelState | None,
    explanation: Explanation | None,
    method: str,
    infos: dict[str, MethodInfo],
) -> str:
    parts: list[str] = []
    info = infos.get(method)
    if info is not None:
        parts.append(
            f"<p><b>{html.escape(info.label)}</b><br>{html.escape(info.summary)}<br>"
            f"<i>{html.escape(info.paper)}</i></p>"
        )
        if info.caveat:
            parts.append(f"<p>\u26a0 {html.escape(info.caveat)}</p>")
        result = explanation.methods.get(method) if explanation is not None else None
        if result is not None:
            rows = [_row(k, v) for k, v in result.params.items()]
            rows.append(_row("time", f"{result.seconds:.2f} s"))
            delta = result.extras.get("convergence_delta")
            if isinstance(delta, float):
                rows.append(_row("completeness gap \u03b4", f"{delta:.3g}"))
                score, base = result.extras.get("score"), result.extras.get("baseline_score")
                if isinstance(score, float) and isinstance(base, float):
                    # what the attributions should add up to: judge the gap against it
                    rows.append(_row("S(x) \u2212 S(x\u2032)", f"{score - base:.3g}"))
            parts.append("<table cellspacing='2'>" + "".join(rows) + "</table>")
            gap, warn = tiles.delta_text(result)
            if warn:
                parts.append(
                    f"<p>\u26a0 {html.escape(gap)}: the attributions do not add up to the score "
                    "difference; raise the steps.</p>"
                )
            for text in (tiles.note(result),):
                if text:
                    parts.append(f"<p>{html.escape(text)}</p>")
        skipped = getattr(explanation, "skipped", None) or {}
        if method in skipped:
            parts.append(f"<p><b>Not run:</b> {html.escape(str(skipped[method]))}</p>")
    if model is not None:
        m = model.info
        rows = [
            _row("model", m.label),
            _row(
                "input",
                f"{m.input_size[1]}\u00d7{m.input_size[0]}\u00d7{m.channels}, {m.preprocessing}",
            ),
            _row("classes", len(m.labels)),
            _row("device", model.device),
        ]
        if m.licence:
            rows.append(_row("licence", m.licence))
        parts.append("<p><b>Model</b></p><table cellspacing='2'>" + "".join(rows) + "</table>")
    if explanation is not None and explanation.notes:
        parts.append("<p>" + "<br>".join(html.escape(n) for n in explanation.notes) + "</p>")
    return "".join(parts)


class DetailsPanel(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QTextBrowser.Shape.NoFrame)
        self.setPlaceholderText("Details of the map and model.")

    def show_details(
        self,
        model: LoadedModelState | None,
        explanation: Explanation | None,
        method: str,
        infos: dict[str, MethodInfo],
    ) -> None:
        self.setHtml(details_html(model, explanation, method, infos))
