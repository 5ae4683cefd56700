"""The app's result cache, in plain Python (no Qt): maps and explanations by what they depend on.

A method's map depends on the image, the model, the class explained, the CAM layer (for CAM
methods), the method's own parameters, the face crop and the contrast class ("A vs B"). Those
inputs are one frozen `ResultKey`; the Explanation of a job (predictions, target, notes) is kept
by `ExplanationKey`. A key's `target` is the class, or None for "the top class" while it is not
yet known: once a job says which class that was, `resolve_top` files the top-class entries under
it, so choosing that class afterwards is a cache hit. The most recent entries are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

MAX_RESULTS = 128  # about five images of every method, for going back to a class, value or image
MAX_EXPLANATIONS = 16

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class ExplanationKey:
    """One job's subject: the image, the model (a token that changes on each load), the class
    explained (None: the top class, not yet known) and the contrast class (None: none)."""

    image: str | None
    model: int
    target: int | None
    contrast: int | None = None


@dataclass(frozen=True)
class ResultKey:
    """One method's map of one subject, with the settings it was computed with."""

    method: str
    subject: ExplanationKey
    layer: str | None = None  # the CAM layer (None for methods that take none)
    params: tuple[tuple[str, Any], ...] = ()  # the method's own parameters, sorted by name
    face_crop: bool = False


class Recent(Generic[K, V]):
    """A mapping that keeps its `limit` most recently used entries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def pop(self, key: K) -> V:
        return self._items.pop(key)

    def keys(self) -> list[K]:
        return list(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class ResultCache:
    """Method results and job explanations of the session, by typed key."""

    def __init__(
        self, max_results: int = MAX_RESULTS, max_explanations: int = MAX_EXPLANATIONS
    ) -> None:
        self.results: Recent[ResultKey, Any] = Recent(max_results)  # MethodResult
        self.explanations: Recent[ExplanationKey, Any] = Recent(max_explanations)  # Explanation
        self._top: dict[tuple[str | None, int], int] = {}  # (image, model) -> its top class

    def top_class(self, image: str | None, model: int) -> int | None:
        """The top class of `image` under `model`, once a job has said it (else None)."""
        return self._top.get((image, model))

    def resolve_top(self, image: str | None, model: int, target: int) -> None:
        """The top class of `image` is `target`: its top-class results are filed under it."""
        if (image, model) in self._top:
            return
        self._top[(image, model)] = target
        top = ExplanationKey(image, model, None)
        for key in self.results.keys():
            if replace(key.subject, contrast=None) == top:
                subject = replace(key.subject, target=target)
                self.results.put(replace(key, subject=subject), self.results.pop(key))

    def subject(
        self, image: str | None, model: int, target: int | None, contrast: int | None
    ) -> ExplanationKey:
        """The key of a subject, with "the top class" replaced by the class once known."""
        if target is None:
            target = self.top_class(image, model)
        return ExplanationKey(image, model, target, contrast)
