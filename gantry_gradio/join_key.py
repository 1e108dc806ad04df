"""Join keys: the one value that ties a prediction to feedback arriving later."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

MAX_JOIN_KEY_LENGTH = 256


class JoinKey:
    """Builds join keys exactly as the original Gantry SDK did, so keys computed by
    existing Gantry code (md5 of the sorted-keys JSON dump) still join here."""

    @staticmethod
    def from_dict(d: dict[str, Any]) -> str:
        if not isinstance(d, dict):
            raise TypeError(f"JoinKey.from_dict needs a dict, got {type(d).__name__}")
        return hashlib.md5(json.dumps(d, sort_keys=True).encode()).hexdigest()

    @staticmethod
    def new() -> str:
        """A fresh random key, for a prediction whose caller gave none."""
        return os.urandom(16).hex()  # as random as uuid4, a fifth of the cost


def check_join_key(join_key: Any) -> str:
    """Join keys become primary keys, so reject what a database cannot index well."""
    if not isinstance(join_key, str):
        raise TypeError(f"join_key must be a str, got {type(join_key).__name__}")
    if not join_key or len(join_key) > MAX_JOIN_KEY_LENGTH:
        raise ValueError(f"join_key must be 1 to {MAX_JOIN_KEY_LENGTH} characters long")
    if "\x00" in join_key:
        raise ValueError("join_key must not contain NUL characters")
    return join_key
