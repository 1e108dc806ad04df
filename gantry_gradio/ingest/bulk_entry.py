"""The columnar spool entry that one log_records call writes (see `_columnar`).

Why a format of its own: one JSON object of columns is parsed at C speed and
turns into insert tuples with `zip`, where 10,000 one-record lines each cost a
parse, a shape check and a flatten. The line is input like any other spool
line (`spool_entry`): its shape is checked before use. A line that is not a
bulk entry at all is rejected whole; one whose records need any care (a key the
store has, stored feedback, a column of mixed kinds, a bad join key) is
expanded into exactly the per-record entries log_record would have written,
which take the ordinary path, rejected one by one if need be.

    {"bulk": 1, "id", "application", "version", "logged_at",
     "join_keys": [...], "timestamps": [...],
     "columns": {"inputs.text": [...], "feedback.accepted": [...]},
     "constants": {"tags.env": "prod"},   # the same for every record
     "events": [true, ...] | null}        # which records carry feedback
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from json.encoder import encode_basestring
from typing import Any

from ..fields import is_field_name
from .join_key import MAX_JOIN_KEY_LENGTH
from .spool_entry import BadEntry, check_entry

SECTIONS = ("inputs", "outputs", "tags", "feedback")
_SCALARS = ({str}, {bool}, {int}, {float}, {int, float})


@dataclass
class BulkEntry:
    id: str
    application: str
    version: str | None
    #: one for all records (a log_records call), or each record's own
    #: (consecutive log_record calls grouped by the worker, `record_groups`)
    logged_at: int | list[int]
    join_keys: list[str]
    timestamps: list[int]
    columns: dict[str, list]
    constants: dict[str, Any]
    events: list[bool] | None
    #: every record is a plain one the bulk insert can write as is
    fast: bool
    #: each record's own event id (grouped log_record calls); else `<id>.<i>`
    event_ids: list[str] | None = None

    @property
    def count(self) -> int:
        return len(self.join_keys)

    def event_id(self, index: int) -> str:
        return self.event_ids[index] if self.event_ids is not None else f"{self.id}.{index}"

    def logged_at_of(self, index: int) -> int:
        return self.logged_at[index] if isinstance(self.logged_at, list) else self.logged_at

    def kinds(self) -> dict[str, str]:
        """The kind of each field (one per column: `fast` checked that)."""
        kinds = {}
        for path, values in self.columns.items():
            first = next(v for v in values if v is not None)
            kinds[path] = _kind(first)
        for path, value in self.constants.items():
            kinds[path] = _kind(value)
        return kinds

    def event_texts(self) -> list[str | None]:
        """Each record's feedback event as the writer stores it (its non-null
        `feedback.*` values as a JSON object), None where it has none. Built
        column by column: the per-record dict and json.dumps cost 3x more."""
        if self.events is None:
            return [None] * self.count
        parts = [
            _encoded_pairs(path, values)
            for path, values in self.columns.items()
            if path.startswith("feedback.")
        ]
        if len(parts) == 1 and None not in parts[0]:
            texts: list[str | None] = ["{" + pair + "}" for pair in parts[0]]
        else:
            per_record = zip(*parts, strict=True) if parts else [()] * self.count
            texts = ["{" + ",".join(filter(None, pairs)) + "}" for pairs in per_record]
        if False in self.events:
            texts = [text if has else None for text, has in zip(texts, self.events, strict=True)]
        return texts


def _encoded_pairs(path: str, values: list) -> list[str | None]:
    """`"path":value` per value as json.dumps writes it; None for None."""
    name = encode_basestring(path) + ":"
    kinds = set(map(type, values)) - {type(None)}
    if kinds == {bool}:
        literal = {True: name + "true", False: name + "false"}
        return list(map(literal.get, values))
    encode = encode_basestring if kinds == {str} else repr  # repr: json's for int/float
    return [None if v is None else name + encode(v) for v in values]


def _kind(value: Any) -> str:
    return {bool: "boolean", str: "text"}.get(type(value), "number")


def is_bulk(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("bulk") == 1


def check_bulk(entry: dict[str, Any]) -> BulkEntry:
    """The entry if its shape is a bulk entry's (raise BadEntry otherwise),
    with `fast` set when every record can be inserted as it is."""
    head = {k: v for k, v in entry.items() if k not in ("columns", "join_keys", "timestamps")}
    head["join_key"] = "bulk"
    head["timestamp"] = 0
    head["prediction"] = {}
    check_entry(head)  # id, application, version, logged_at as a plain entry's
    if len(entry["id"]) > 40:
        raise BadEntry("bulk spool entry's id is longer than 40 characters")
    keys, stamps = entry.get("join_keys"), entry.get("timestamps")
    columns, constants, events = entry.get("columns"), entry.get("constants"), entry.get("events")
    if not (isinstance(keys, list) and keys and isinstance(stamps, list)):
        raise BadEntry("bulk spool entry's join_keys/timestamps are not lists")
    if not (isinstance(columns, dict) and isinstance(constants, dict)):
        raise BadEntry("bulk spool entry's columns/constants are not objects")
    if any(not isinstance(v, list) or len(v) != len(keys) for v in columns.values()):
        raise BadEntry("bulk spool entry has a column that is not a list of one value a record")
    if len(stamps) != len(keys) or not (events is None or isinstance(events, list)):
        raise BadEntry("bulk spool entry's timestamps/events do not match its join_keys")
    if events is not None and len(events) != len(keys):
        raise BadEntry("bulk spool entry's events do not match its join_keys")
    paths = [*columns, *constants]
    if any("." not in path or path.split(".", 1)[0] not in SECTIONS for path in paths):
        raise BadEntry("bulk spool entry names a field outside inputs/outputs/tags/feedback")
    bulk = BulkEntry(
        entry["id"],
        entry["application"],
        entry.get("version"),
        entry["logged_at"],
        keys,
        stamps,
        columns,
        constants,
        events,
        fast=False,
    )
    bulk.fast = is_plain(bulk)
    return bulk


def is_plain(bulk: BulkEntry) -> bool:
    """Every value one the typed columns take as it is; else: per record."""
    if set(map(type, bulk.join_keys)) != {str}:
        return False  # (a key twice is left to the writer, which sees all entries)
    if min(map(len, bulk.join_keys)) < 1 or max(map(len, bulk.join_keys)) > MAX_JOIN_KEY_LENGTH:
        return False
    if "\x00" in "".join(bulk.join_keys) or set(map(type, bulk.timestamps)) != {int}:
        return False
    if not all(0 <= t < 2**63 for t in (min(bulk.timestamps), max(bulk.timestamps))):
        return False
    if bulk.events is not None and set(map(type, bulk.events)) != {bool}:
        return False
    for path, values in [*bulk.columns.items(), *((p, [v]) for p, v in bulk.constants.items())]:
        kinds = set(map(type, values)) - {type(None)}
        if not is_field_name(path) or kinds not in _SCALARS:
            return False
    return _feedback_matches_events(bulk)


def _feedback_matches_events(bulk: BulkEntry) -> bool:
    """The bulk insert writes a row's feedback columns and its event from the
    same values: feedback only in columns, and only where there is an event
    (as log_records writes it), so no row shows feedback its events lack."""
    if any(path.startswith("feedback.") for path in bulk.constants):
        return False
    feedback = [v for p, v in bulk.columns.items() if p.startswith("feedback.")]
    if bulk.events is None:
        return not feedback
    without = [not has for has in bulk.events]
    return all(set(compress(values, without)) <= {None} for values in feedback)


def expand(bulk: BulkEntry) -> list[dict[str, Any]]:
    """The per-record entries log_record would have written for these records
    (event ids included, so either path stores an event once)."""
    entries = []
    for i, (key, stamp) in enumerate(zip(bulk.join_keys, bulk.timestamps, strict=True)):
        sections: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
        for path, value in bulk.constants.items():
            section, name = path.split(".", 1)
            sections[section][name] = value
        for path, values in bulk.columns.items():
            section, name = path.split(".", 1)
            sections[section][name] = values[i]
        entry: dict[str, Any] = {
            "id": bulk.event_id(i),
            "application": bulk.application,
            "version": bulk.version,
            "join_key": key,
            "timestamp": stamp,
            "logged_at": bulk.logged_at_of(i),
            "prediction": {s: sections[s] for s in ("inputs", "outputs", "tags")},
        }
        if bulk.events is not None and bulk.events[i]:
            entry["feedback"] = sections["feedback"]
        entries.append(entry)
    return entries


def expand_checked(bulk: BulkEntry) -> tuple[list[dict[str, Any]], list[tuple[Any, str]]]:
    """Expanded entries that pass the per-record check, and (entry, reason)
    for each that does not."""
    kept, refused = [], []
    for entry in expand(bulk):
        try:
            kept.append(check_entry(entry))
        except BadEntry as exc:
            refused.append((entry, str(exc)))
    return kept, refused
