"""Train / validation / test by a hash of the join key: a record's split
depends on nothing but its key, so it never moves from test to train when a
dataset grows, is relabeled or is rebuilt on another machine."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

SPLITS = ("train", "validation", "test")
#: Shares of train, validation and test.
FRACTIONS = (0.8, 0.1, 0.1)


def split_of(join_key: str, fractions: tuple[float, float, float] = FRACTIONS) -> str:
    """The split `join_key` falls in: the first 8 bytes of its SHA-256 read
    as a number in [0, 1), against the cumulative `fractions`."""
    point = int.from_bytes(hashlib.sha256(join_key.encode("utf-8")).digest()[:8], "big") / 2**64
    edge = 0.0
    for name, share in zip(SPLITS, fractions, strict=True):
        edge += share
        if point < edge:
            return name
    return SPLITS[-1]


def splits_of(join_keys: Iterable[str]) -> list[str]:
    return [split_of(str(key)) for key in join_keys]
