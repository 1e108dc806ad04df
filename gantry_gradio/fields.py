"""The rules a field obeys wherever it travels: its dotted name, its text, its
number, its column kind, how many of a record's fields get columns.

Why one neutral module: the caller's checks (ingest), the writer, the filters
(store) and the lake's importer must agree on every one of these, and none of
them should import another to learn it. Dotted names (`inputs.text`,
`feedback.accepted`) are what Gantry's exports used and what the query API
returns."""

from __future__ import annotations

import json
from typing import Any

#: Integers beyond this lose precision as JSON numbers in most readers.
MAX_EXACT_INT = 2**53
#: A dotted field name (`inputs.a.b`) longer than this is refused at the call:
#: field names are indexed, and database indexes cap an entry's size.
MAX_FIELD_NAME = 512


def is_field_name(path: str) -> bool:
    """Whether a dotted name may become a column, on every store (the call
    cleans NUL away; spool lines from elsewhere are held to the same rule)."""
    return len(path) <= MAX_FIELD_NAME and "\x00" not in path


#: Fields of one record that get columns, per section; the record's further
#: fields stay in its `extra` JSON. Why: a 1,000-class label would otherwise
#: claim a thousand columns for one row, beyond PostgreSQL's 8 kB row limit.
MAX_COLUMNS_PER_RECORD_SECTION = 64


def clean_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL and UTF-8 cannot hold lone surrogates:
    both become U+FFFD so SQLite and PostgreSQL store the same thing."""
    if text.isascii() and "\x00" not in text:
        return text  # the common case, checked at C speed
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


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
