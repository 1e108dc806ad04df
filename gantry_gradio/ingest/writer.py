"""Writes delivered spool entries: predictions as rows, feedback as events.

Feedback is never an in-place edit that could be lost: every piece is stored as
its own event, and the row's `feedback.*` columns are rebuilt from all events of
its join key (latest timestamp wins per field), whether the prediction came
before the feedback or after it.

The rebuild reads stored events and rows, then writes: two processes doing
that at once (one storing a prediction, the other its feedback) could each miss
the other's uncommitted half and leave the row without its feedback. So each
write transaction first takes the application's write lock (an UPDATE of its
catalog row that also claims the transaction's change number, store/changes.py:
a row lock on PostgreSQL, the database write lock on SQLite); writers of one
application take turns, readers are never blocked."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .._timestamps import HOUR_US
from ..fields import (
    MAX_COLUMNS_PER_RECORD_SECTION,
    MAX_FIELD_NAME,
    flatten,
    is_field_name,
    kind_of,
    to_column,
)
from ..store import schema
from ..store.blob_refs import record_references
from ..store.catalog import Catalog
from ..store.changes import claim_change
from ..store.schema import Field
from . import bulk_insert
from .bulk_entry import BulkEntry, expand

PREDICTION_SECTIONS = ("inputs", "outputs", "tags")
_CHUNK = 500
class _Event(NamedTuple):
    """One piece of feedback, its values flattened to `feedback.*` paths."""

    timestamp: int
    event_id: str
    join_key: str
    values: dict[str, Any]


def merge_events(events: list[_Event]) -> dict[str, dict[str, Any]]:
    """Per join key, the latest value of each field by timestamp (ties by event
    id, so every process merges alike); an event seen twice counts once."""
    merged: dict[str, dict[str, Any]] = {}
    unique = {e.event_id: e for e in events}.values()
    for event in sorted(unique, key=lambda e: (e.timestamp, e.event_id)):
        merged.setdefault(event.join_key, {}).update(event.values)
    return merged


def _checked_names(flat: dict[str, Any]) -> dict[str, Any]:
    """The call refuses such names already; entries from elsewhere (an old
    spool, a hand-written line) get the same rule on every database."""
    for path in flat:
        if not is_field_name(path):
            raise ValueError(
                f"field name {path[:80]!r}… is longer than {MAX_FIELD_NAME} characters or holds NUL"
            )
    return flat


def _within_record_cap(values: dict[str, Any]) -> list[str]:
    """The paths of one record that may have columns: the first ones of each section."""
    seen: dict[str, int] = {}
    kept = []
    for path in values:
        section = path.split(".", 1)[0]
        seen[section] = seen.get(section, 0) + 1
        if seen[section] <= MAX_COLUMNS_PER_RECORD_SECTION:
            kept.append(path)
    return kept


@dataclass
class WriteResult:
    stored: int = 0
    duplicates: int = 0


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RecordWriter:
    def __init__(self, engine: sa.Engine, catalog: Catalog) -> None:
        self.engine = engine
        self.catalog = catalog
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert = dialect.insert

    def write(self, entries: Iterable[dict[str, Any]]) -> WriteResult:
        """Idempotent: a prediction whose join key is stored already, or an event
        whose id is, is counted as a duplicate and changes nothing."""
        by_application: dict[str, list[dict]] = defaultdict(list)
        for entry in entries:
            by_application[entry["application"]].append(entry)
        result = WriteResult()
        for application, items in by_application.items():
            self._write_application(application, items, result)
        return result

    def write_bulk(self, entries: list[BulkEntry]) -> WriteResult:
        """Bulk entries of one application (each with `fast` set), in one
        transaction under the application's write lock. When a record needs
        what only the per-record path does (a field past its budget or of
        another kind, a key or feedback event the store has already), all of
        them take that path instead: same result, just slower."""
        application = entries[0].application
        self.catalog.ensure_tables()
        app_id = self.catalog.ensure_application(application)
        kinds: dict[str, str] = {}
        for entry in entries:
            for path, kind in entry.kinds().items():
                kinds.setdefault(path, kind)
        fields = self.catalog.ensure_fields(app_id, kinds)
        keys = [key for entry in entries for key in entry.join_keys]
        fits = all(p in fields and fields[p].kind == k for p, k in kinds.items())
        if fits and len(set(keys)) == len(keys):
            table = self.catalog.table(app_id)
            with self.engine.begin() as conn:
                bulk_insert.tune(conn)
                change = claim_change(conn, app_id)
                if not bulk_insert.any_stored(conn, table, app_id, keys):
                    stored = 0
                    for entry in entries:
                        bulk_insert.insert_rows(conn, table, fields, entry, change)
                        stored += entry.count + bulk_insert.insert_events(
                            conn, app_id, entry, change
                        )
                    return WriteResult(stored=stored)
        return self.write([record for entry in entries for record in expand(entry)])

    def _write_application(
        self, application: str, entries: list[dict], result: WriteResult
    ) -> None:
        self.catalog.ensure_tables()
        app_id = self.catalog.ensure_application(application)
        predictions: dict[str, tuple[dict, dict[str, Any]]] = {}
        for entry in entries:
            if "prediction" not in entry:
                continue
            if entry["join_key"] in predictions:
                result.duplicates += 1
                continue
            flat: dict[str, Any] = {}
            for section in PREDICTION_SECTIONS:
                flatten(section, entry["prediction"].get(section), flat)
            predictions[entry["join_key"]] = (entry, _checked_names(flat))
        events = [
            _Event(
                e["timestamp"],
                e["id"],
                e["join_key"],
                _checked_names(flatten("feedback", e["feedback"], {})),
            )
            for e in entries
            if e.get("feedback")
        ]

        kinds: dict[str, str] = {}
        for flat in [f for _, f in predictions.values()] + [e.values for e in events]:
            for path in _within_record_cap(flat):
                if path not in kinds:
                    kinds[path] = kind_of(flat[path])
        fields = self.catalog.ensure_fields(app_id, kinds)
        table = self.catalog.table(app_id)

        with self.engine.begin() as conn:
            change = claim_change(conn, app_id)
            keys = set(predictions) | {e.join_key for e in events}
            existing = self._existing_extras(conn, table, keys)
            merged = merge_events(self.stored_events(conn, app_id, keys) + events)
            if any(path not in fields for values in merged.values() for path in values):
                # Another process's feedback names fields this process has not
                # seen; their columns were committed before that feedback was.
                fields = self.catalog.fields(app_id, refresh=True)
                table = self.catalog.table(app_id)
            self._insert_events(conn, app_id, events, change)
            result.stored += len(events)
            rows = []
            for key, (entry, flat) in predictions.items():
                if key in existing:
                    result.duplicates += 1
                    continue
                row = self._row(table, fields, flat | merged.get(key, {}), entry)
                rows.append(row | {"change_seq": change})
            if rows:
                conn.execute(self._insert(table).on_conflict_do_nothing(), rows)
                result.stored += len(rows)
            for key in {e.join_key for e in events} & existing.keys():
                self._update_feedback(
                    conn, table, fields, key, merged[key], existing[key], change
                )
            stored = {row["join_key"] for row in rows}
            record_references(
                conn,
                self._insert,
                app_id,
                [
                    (entry["join_key"], blob[0])
                    for entry in entries
                    if entry.get("feedback") or entry["join_key"] in stored
                    for blob in entry.get("blobs", [])
                ],
            )

    def _insert_events(
        self, conn: sa.Connection, app_id: int, events: list[_Event], change: int
    ) -> None:
        """Events whose id is stored already (a re-delivered batch) are skipped."""
        if events:
            rows = [
                {
                    "event_id": e.event_id,
                    "application_id": app_id,
                    "join_key": e.join_key,
                    "timestamp_us": e.timestamp,
                    "feedback": json.dumps(e.values, ensure_ascii=False),
                    "change_seq": change,
                }
                for e in events
            ]
            conn.execute(self._insert(schema.feedback_events).on_conflict_do_nothing(), rows)

    @staticmethod
    def _existing_extras(conn: sa.Connection, table: sa.Table, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for chunk in _chunks(list(set(keys))):
            rows = conn.execute(
                sa.select(table.c.join_key, table.c.extra).where(table.c.join_key.in_(chunk))
            )
            found.update((key, extra) for key, extra in rows)
        return found

    @staticmethod
    def stored_events(conn: sa.Connection, app_id: int, keys: set[str]) -> list[_Event]:
        events = schema.feedback_events.c
        found = []
        for chunk in _chunks(list(keys)):
            rows = conn.execute(
                sa.select(
                    events.timestamp_us, events.event_id, events.join_key, events.feedback
                ).where(events.application_id == app_id, events.join_key.in_(chunk))
            )
            found.extend(_Event(ts, eid, key, json.loads(values)) for ts, eid, key, values in rows)
        return found

    @staticmethod
    def place(fields: dict[str, Field], values: dict[str, Any]) -> tuple[dict, dict]:
        """Split values into typed columns (by column name, `f17`) and
        `extra` (kind clashes, past a cap); the lake's late feedback too."""
        columns, extra = {}, {}
        placeable = set(_within_record_cap(values))
        for path, value in values.items():
            kind = kind_of(value)
            field = fields.get(path)
            if path in placeable and field is not None and field.kind == kind:
                columns[field.column] = to_column(value, kind)
            else:
                extra[path] = value
        return columns, extra

    def _row(self, table: sa.Table, fields: dict[str, Field], values: dict, entry: dict) -> dict:
        columns, extra = self.place(fields, values)
        row = dict.fromkeys(table.c.keys())
        row.update(columns)
        row.update(
            join_key=entry["join_key"],
            timestamp_us=entry["timestamp"],
            hour_us=entry["timestamp"] - entry["timestamp"] % HOUR_US,
            version=entry.get("version"),
            logged_at_us=entry["logged_at"],
            extra=json.dumps(extra, ensure_ascii=False) if extra else None,
        )
        return row

    def _update_feedback(
        self,
        conn: sa.Connection,
        table: sa.Table,
        fields: dict,
        key: str,
        feedback: dict,
        extra: Any,
        change: int,
    ) -> None:
        columns, clashes = self.place(fields, feedback)
        kept = {p: v for p, v in json.loads(extra or "{}").items() if not p.startswith("feedback.")}
        kept.update(clashes)
        columns["extra"] = json.dumps(kept, ensure_ascii=False) if kept else None
        columns["change_seq"] = change
        conn.execute(table.update().where(table.c.join_key == key).values(**columns))
