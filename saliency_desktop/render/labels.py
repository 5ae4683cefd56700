"""One human form of a class label, for the app's panels and the report's titles."""

from __future__ import annotations


def display_label(label: str) -> str:
    """`golden_retriever` -> `golden retriever`: underscores become spaces, runs collapse.

    Label files spell classes as identifiers (ImageNet's `golden_retriever`, `n02099601`...);
    people read words. Used wherever a label is shown, so the app and the report agree.
    """
    return " ".join(str(label).replace("_", " ").split())
