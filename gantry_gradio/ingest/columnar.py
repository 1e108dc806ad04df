"""log_records' bulk form: check and encode a call's records column by column.

Why: checked one value at a time (`_values.normalize`, then a JSON line per
record) a backfill cost ~70 µs a record on the caller's thread and as much
again in the worker. For the usual history shape (every record a prediction
whose sections are flat dicts of text, numbers and booleans) each of those
checks can be made once per column at C speed (the set of types, one joined
text's `isascii`, min/max), and the records travel as one columnar spool
entry (see `bulk_entry`). Anything else, or anything that would raise, returns
None: the call then takes the per-record path, which makes the documented
conversions and raises the documented errors, naming the record."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Sequence
from itertools import chain, repeat
from typing import Any

import pandas as pd

from .._timestamps import FUTURE_TOLERANCE_US, now_us, to_epoch_us
from ..fields import MAX_COLUMNS_PER_RECORD_SECTION, MAX_EXACT_INT, MAX_FIELD_NAME, clean_text
from .join_key import MAX_JOIN_KEY_LENGTH
from .values import INLINE_TEXT_LIMIT

#: Longer texts take the per-record path, so no record of a bulk entry can
#: approach the per-record size limit (256 fields x 8,192 characters < 16 MB).
MAX_BULK_TEXT = 8192
#: Records per spool line: one worker batch (4 MB of lines) then holds ~30,000.
MAX_RECORDS_PER_LINE = 10_000
LINE_TARGET_BYTES = 2 * 2**20
_NONE = type(None)
_NUMBERS = {int, float}
assert MAX_BULK_TEXT < INLINE_TEXT_LIMIT


def encode(
    application: str,
    version: str | int | None,
    sections: dict[str, Sequence[Any] | None],
    shared_tags: dict | None,
    join_keys: Sequence[Any] | None,
    timestamps: Sequence[Any] | None,
    count: int,
    environment: str | None,
) -> tuple[list[bytes], list[str]] | None:
    """Spool lines and join keys for the call, or None if it needs the
    per-record path. `sections` maps inputs/outputs/tags/feedback to lists."""
    if count == 0 or (sections["inputs"] is None and sections["outputs"] is None):
        return None  # feedback-only calls merge into stored rows: per record
    if version is not None and type(version) not in (str, int):
        return None
    columns: dict[str, list] = {}
    for section, records in sections.items():
        if records is not None and not _add_section(section, records, columns):
            return None
    constants = _constants(shared_tags, environment, columns)
    keys = _join_keys(join_keys, count)
    stamps = _timestamps(timestamps, count)
    if constants is None or keys is None or stamps is None:
        return None
    feedbacks = sections["feedback"]
    events = None if feedbacks is None else list(map(bool, feedbacks))
    head = {
        "bulk": 1,
        "application": application,
        "version": None if version is None else str(version),
        "logged_at": now_us(),
        "constants": constants,
    }
    lines = []
    step = _records_per_line(columns, count)
    for at in range(0, count, step):
        part = slice(at, at + step)
        entry = {
            **head,
            "id": os.urandom(16).hex(),
            "join_keys": keys[part],
            "timestamps": stamps[part],
            "columns": {path: values[part] for path, values in columns.items()},
            "events": None if events is None else events[part],
        }
        lines.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    return lines, keys


def _add_section(section: str, records: Sequence[Any], columns: dict[str, list]) -> bool:
    """Add one column per key of the section's (flat) dicts; False if any
    record needs the per-record path."""
    if set(map(type, records)) != {dict}:
        return False
    keys = list(dict.fromkeys(chain.from_iterable(records)))
    if len(keys) > MAX_COLUMNS_PER_RECORD_SECTION:
        return False  # the record cap moves fields to `extra`: per record
    for key in keys:
        if not _plain_key(section, key):
            return False
        values = _column(list(map(dict.get, records, repeat(key))))
        if values is None:
            return False
        if any(v is not None for v in values):
            columns[f"{section}.{key}"] = values
    return True


def _plain_key(section: str, key: Any) -> bool:
    return (
        type(key) is str
        and clean_text(key) == key
        and len(section) + 1 + len(key) <= MAX_FIELD_NAME
    )


def _column(values: list) -> list | None:
    """The values as normalize() would store them, or None if one of them is
    not a plain text, number or boolean of one kind (or would change kind)."""
    all_types = set(map(type, values))
    types = all_types - {_NONE}
    present = [v for v in values if v is not None] if _NONE in all_types else values
    if not types or types == {bool}:
        return values
    if types == {str}:
        if max(map(len, present)) > MAX_BULK_TEXT:
            return None
        joined = "".join(present)
        if joined.isascii() and "\x00" not in joined:
            return values
        return [None if v is None else clean_text(v) for v in values]
    if types <= _NUMBERS:
        if float in types and not all(map(math.isfinite, present)):
            values = [v if v is None or math.isfinite(v) else None for v in values]
            present = [v for v in values if v is not None]
        if present and (max(present) > MAX_EXACT_INT or min(present) < -MAX_EXACT_INT):
            return None  # such integers are stored as text: per record
        return values
    return None


def _constants(
    shared_tags: dict | None, environment: str | None, columns: dict[str, list]
) -> dict[str, Any] | None:
    """Tags shared by every record (one dict, the client's environment) travel once."""
    constants: dict[str, Any] = {}
    if shared_tags is not None:
        if type(shared_tags) is not dict:
            return None
        for key, value in shared_tags.items():
            stored = _column([value])
            if not _plain_key("tags", key) or stored is None:
                return None
            if stored[0] is not None:
                constants[f"tags.{key}"] = stored[0]
    if environment is not None:
        if "tags.env" in columns or (shared_tags and "env" in shared_tags):
            return None  # a record's own env wins over the client's: per record
        constants["tags.env"] = clean_text(environment)
    return constants


def _join_keys(given: Sequence[Any] | None, count: int) -> list[str] | None:
    if given is None:
        # Time-ordered (like UUIDv7): a bulk load appends to the key index
        # instead of touching a random page of it per record (3x faster at
        # 200,000 records); 48 random bits per call keep calls apart.
        prefix = f"{now_us():013x}{os.urandom(6).hex()}"
        return [f"{prefix}{i:07x}" for i in range(count)]
    keys = list(given)
    if set(map(type, keys)) != {str} or min(map(len, keys)) < 1:
        return None
    if max(map(len, keys)) > MAX_JOIN_KEY_LENGTH or "\x00" in "".join(keys):
        return None
    return keys


def _timestamps(given: Sequence[Any] | None, count: int) -> list[int] | None:
    """Microseconds as to_epoch_us computes them; None if one would be refused."""
    now = now_us()
    if given is None:
        return [now] * count
    types = set(map(type, given))
    try:
        if types <= {pd.Timestamp, dt.datetime}:
            stamps = (pd.DatetimeIndex(list(given)).as_unit("ns").asi8 // 1000).tolist()
        elif types <= _NUMBERS:
            stamps = [round(value * 1_000_000) for value in given]
        else:
            stamps = [to_epoch_us(value) for value in given]
    except (TypeError, ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return None
    if min(stamps) < 0 or max(stamps) > now + FUTURE_TOLERANCE_US:
        return None
    return stamps


def _records_per_line(columns: dict[str, list], count: int) -> int:
    """Lines of a few MB (estimated from the first records): the worker reads
    and writes a line as one unit."""
    sample = min(count, 64)
    encoded = json.dumps({path: values[:sample] for path, values in columns.items()})
    per_record = 64 + len(encoded) / sample
    return max(1, min(MAX_RECORDS_PER_LINE, int(LINE_TARGET_BYTES / per_record)))
