"""Word-level diff of a correction, in the shape `gr.HighlightedText` shows."""

from __future__ import annotations

import difflib


def word_diff(source: str, corrected: str) -> list[tuple[str, str | None]]:
    """Unchanged words unlabeled, removed words "-", added words "+"."""
    before, after = (source or "").split(), (corrected or "").split()
    pieces: list[tuple[str, str | None]] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            pieces.append((" ".join(before[a0:a1]), None))
            continue
        if a1 > a0:
            pieces.append((" ".join(before[a0:a1]), "-"))
        if b1 > b0:
            pieces.append((" ".join(after[b0:b1]), "+"))
    return pieces
