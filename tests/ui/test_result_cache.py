"""The app's result cache and job types, without Qt: typed keys, the top class resolved, limits."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from saliency_desktop.ui.result_cache import ExplanationKey, Recent, ResultCache, ResultKey


def _key(method: str, target: int | None, contrast: int | None = None, **kw) -> ResultKey:
    return ResultKey(method, ExplanationKey("img", 1, target, contrast), **kw)


def test_a_key_is_every_input_of_the_map():
    base = _key("gradcam", 3, layer="block2", params=(("n", 1),))
    assert base == _key("gradcam", 3, layer="block2", params=(("n", 1),))
    assert hash(base) == hash(_key("gradcam", 3, layer="block2", params=(("n", 1),)))
    for other in (
        _key("gradcam", 4, layer="block2", params=(("n", 1),)),  # another class
        _key("gradcam", 3, 5, layer="block2", params=(("n", 1),)),  # against class 5
        _key("gradcam", 3, layer="block1", params=(("n", 1),)),  # another layer
        _key("gradcam", 3, layer="block2", params=(("n", 2),)),  # another parameter value
        _key("gradcam", 3, layer="block2", params=(("n", 1),), face_crop=True),
    ):
        assert other != base
    with pytest.raises(AttributeError):  # frozen: a key is never rewritten in place
        base.method = "x"  # type: ignore[misc]


def test_the_top_class_once_known_is_a_cache_hit_for_that_class():
    cache = ResultCache()
    top = cache.subject("img", 1, None, None)
    assert top.target is None  # "the top class", not yet known
    cache.results.put(_key("gradcam", None), "map A")
    cache.results.put(_key("gradcam", None, 2), "map A vs 2")
    cache.results.put(ResultKey("gradcam", ExplanationKey("other", 1, None)), "other image")
    cache.resolve_top("img", 1, 7)
    assert cache.top_class("img", 1) == 7
    assert cache.subject("img", 1, None, None) == ExplanationKey("img", 1, 7, None)
    assert cache.results.get(_key("gradcam", 7)) == "map A"  # choosing class 7: a hit
    assert cache.results.get(_key("gradcam", 7, 2)) == "map A vs 2"
    assert _key("gradcam", None) not in cache.results
    assert ResultKey("gradcam", ExplanationKey("other", 1, None)) in cache.results  # untouched
    cache.resolve_top("img", 1, 9)  # said once: a later job cannot move it
    assert cache.top_class("img", 1) == 7
    assert cache.top_class("img", 2) is None  # another model: not known


def test_only_the_most_recently_used_entries_are_kept():
    recent: Recent[str, int] = Recent(2)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # used: now the newest
    recent.put("c", 3)
    assert recent.keys() == ["a", "c"] and len(recent) == 2
    assert recent.get("b") is None


@pytest.mark.parametrize("module", ["result_cache", "jobs"])
def test_the_cache_and_the_job_types_are_plain_python(module):
    """No Qt in these modules (the `ui` package itself loads QtCore for a PySide workaround)."""
    path = Path(__file__).resolve().parents[2] / "saliency_desktop" / "ui" / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert imported and not [m for m in imported if m.startswith("PySide6")]
