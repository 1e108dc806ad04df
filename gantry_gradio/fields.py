"""Nested JSON objects <-> dotted columns (`inputs.text`, `feedback.accepted`).

Dotted names are what Gantry's exports used and what the query API returns."""

from __future__ import annotations

import json
from typing import Any


def flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    """Non-empty dicts are walked; every other non-null value is a leaf.

    Two values can claim one dotted name (`{"a.b": 1, "a": {"b": 2}}`); keeping
    either would silently lose the other, so that is refused."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            flatten(f"{prefix}.{key}", item, out)
    elif value is not None:
        if prefix in out:
            raise ValueError(
                f"two values are both named {prefix!r} (a key with dots, like "
                "{'a.b': ...}, beside the same path nested, like {'a': {'b': ...}}); "
                "rename one of the keys"
            )
        out[prefix] = value
    return out


_KINDS = {bool: "boolean", int: "number", float: "number", str: "text"}


def kind_of(value: Any) -> str:
    """Values come from JSON, so their exact type is one of a handful."""
    return _KINDS.get(type(value), "json")


def to_column(value: Any, kind: str) -> Any:
    return json.dumps(value, ensure_ascii=False) if kind == "json" else value


def from_column(value: Any, kind: str) -> Any:
    """A missing value can arrive as NaN once pandas holds the column."""
    return json.loads(value) if kind == "json" and isinstance(value, str) else value
