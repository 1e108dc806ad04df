"""Built-in text projections that need no model: entropy, length, edits."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from rapidfuzz.distance import Levenshtein

from .registry import Projection, register_factory


def _entropy(items: list[str]) -> float:
    """Shannon entropy in bits of the items' frequency distribution."""
    if not items:
        return 0.0
    total = len(items)
    return -sum(n / total * math.log2(n / total) for n in Counter(items).values())


def entropy_values(text: Any) -> dict[str, float | None]:
    """Low entropy exposes repetitive, degenerate output ("the the the the")."""
    if not isinstance(text, str):
        return {}
    words = text.split()
    return {
        "char_entropy": _entropy(list(text)),
        "word_entropy": _entropy(words),
        "chars": float(len(text)),
        "words": float(len(words)),
    }


def edit_values(pair: tuple[Any, Any]) -> dict[str, float | None]:
    """For a corrector: how much did the output change the input?"""
    source, output = pair
    if not isinstance(source, str) or not isinstance(output, str):
        return {}
    source_words, output_words = source.split(), output.split()
    changed = Levenshtein.distance(source_words, output_words)
    return {
        "char_distance": float(Levenshtein.distance(source, output)),
        "words_changed": changed / max(len(source_words), 1),
    }


def entropy(field: str = "outputs.inference", name: str = "entropy") -> Projection:
    return Projection(
        name,
        (field,),
        ("char_entropy", "word_entropy", "chars", "words"),
        lambda batch: [entropy_values(text) for text in batch],
    )


def edit(
    source: str = "inputs.text", output: str = "outputs.inference", name: str = "edit"
) -> Projection:
    return Projection(
        name,
        (source, output),
        ("char_distance", "words_changed"),
        lambda batch: [edit_values(pair) for pair in batch],
    )


register_factory("entropy", entropy)
register_factory("edit", edit)
