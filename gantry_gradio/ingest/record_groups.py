"""Consecutive plain log_record entries, delivered as one bulk insert.

Why: every Gradio callback and `monitor()` logs one record a call. Written one
by one (flatten, merge with stored feedback, a Core insert per row) they cost
the worker ~65 µs each; the same records as one columnar `BulkEntry` go through
the bulk insert at a fraction of that. Nothing about the stored result changes:
each record keeps its own event id, `logged_at` and version, so a batch that is
delivered again after a crash is recognised record by record (the bulk path
sees the stored keys and hands the records to the per-record path, which skips
what is stored), exactly as if they had never been grouped.

A plain entry is the common shape, checked strictly here (so it needs no other
check): a prediction whose sections are flat objects of text, numbers, booleans
and nulls, at most MAX_COLUMNS_PER_RECORD_SECTION values a section, optional
flat feedback, no blobs. Every other entry keeps the per-record path."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from ..fields import MAX_COLUMNS_PER_RECORD_SECTION
from .bulk_entry import SECTIONS, BulkEntry, is_plain
from .join_key import MAX_JOIN_KEY_LENGTH

_ENTRY_KEYS = frozenset(
    ("id", "application", "version", "join_key", "timestamp", "logged_at", "prediction", "feedback")
)
_PREDICTION_SECTIONS = frozenset(SECTIONS[:3])
#: (field names are checked once per group, as the bulk entry's column names)
_SCALARS = frozenset((str, bool, int, float))
_MAX_NAME = 200
#: Fewer records than this are not worth a bulk transaction of their own.
MIN_GROUP = 8


class _Plain:
    """One plain entry, its values already as dotted paths."""

    __slots__ = ("entry", "values", "has_feedback")

    def __init__(self, entry: dict[str, Any], values: dict[str, Any], has_feedback: bool):
        self.entry = entry
        self.values = values
        self.has_feedback = has_feedback


def group_plain(entries: list[Any]) -> list[BulkEntry | int]:
    """The entries in order: each run of plain entries of one application and
    version (at least MIN_GROUP) as one BulkEntry, every other entry as its
    index in `entries` (the caller checks and delivers it on its own)."""
    plain = [_plain(entry) if type(entry) is dict else None for entry in entries]
    out: list[BulkEntry | int] = []
    runs = groupby(range(len(entries)), key=lambda i: _group_key(plain[i]))
    for key, run in runs:
        indexes = list(run)
        bulk = None
        if key is not None and len(indexes) >= MIN_GROUP:
            bulk = _bulk([plain[i] for i in indexes])
        out.extend([bulk] if bulk is not None else indexes)
    return out


def _group_key(record: _Plain | None) -> tuple | None:
    if record is None:
        return None
    return record.entry["application"], record.entry.get("version")


def _bulk(records: list[_Plain]) -> BulkEntry | None:
    """The records as one bulk entry, or None when a field holds values of
    two kinds (the per-record path keeps one in `extra`)."""
    count = len(records)
    columns: dict[str, list] = {}
    for i, record in enumerate(records):
        for path, value in record.values.items():
            column = columns.get(path)
            if column is None:
                column = columns[path] = [None] * count
            column[i] = value
    first = records[0].entry
    bulk = BulkEntry(
        id=first["id"],
        application=first["application"],
        version=first.get("version"),
        logged_at=[r.entry["logged_at"] for r in records],
        join_keys=[r.entry["join_key"] for r in records],
        timestamps=[r.entry["timestamp"] for r in records],
        columns=columns,
        constants={},
        events=[r.has_feedback for r in records],
        fast=False,
        event_ids=[r.entry["id"] for r in records],
    )
    bulk.fast = is_plain(bulk)
    return bulk if bulk.fast else None


def _plain(entry: dict[str, Any]) -> _Plain | None:
    """The entry as a _Plain if it has the plain shape, else None."""
    if not entry.keys() <= _ENTRY_KEYS or "prediction" not in entry:
        return None
    if not (
        _is_text(entry.get("id"), 64)
        and _is_text(entry.get("application"), _MAX_NAME)
        and _is_text(entry.get("join_key"), MAX_JOIN_KEY_LENGTH)
        and (entry.get("version") is None or _is_text(entry["version"], 10_000))
        and _is_stamp(entry.get("timestamp"))
        and _is_stamp(entry.get("logged_at"))
    ):
        return None
    prediction = entry["prediction"]
    if type(prediction) is not dict or not prediction.keys() <= _PREDICTION_SECTIONS:
        return None
    values: dict[str, Any] = {}
    for section, fields in prediction.items():
        if not _add_flat(section, fields, values):
            return None
    feedback = entry.get("feedback")
    if feedback is not None and not _add_flat("feedback", feedback, values):
        return None
    return _Plain(entry, values, bool(feedback))


def _add_flat(section: str, fields: Any, values: dict[str, Any]) -> bool:
    """Add the section's non-null values under `section.name`; False unless
    it is a flat object of scalars within the per-record column cap."""
    if fields is None:
        return True
    if type(fields) is not dict or len(fields) > MAX_COLUMNS_PER_RECORD_SECTION:
        return False
    for name, value in fields.items():
        if type(value) in _SCALARS:
            values[f"{section}.{name}"] = value
        elif value is not None:
            return False
    return True


def _is_text(value: Any, limit: int) -> bool:
    return type(value) is str and 0 < len(value) <= limit and "\x00" not in value


def _is_stamp(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**63
