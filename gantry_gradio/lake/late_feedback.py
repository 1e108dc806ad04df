"""Late feedback for records only the lake holds (imported, or moved out of
the SQL store by retention).

Why: feedback can arrive months after its prediction. Its event is stored in
SQL as always (the writer keeps events of keys it has no row for), stamped
with its write's change number; an export pass then finds the events newer
than its watermark whose key has no SQL row, looks the keys up in the lake's
files, and writes those days again with each such record's feedback merged
from all its events, as the writer merges them for a row it holds."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from ..blobs import BlobStore
from ..ingest.writer import RecordWriter, merge_events
from ..store import schema
from ..store.catalog import Catalog
from ..store.schema import Field
from .layout import column_names, file_uri

_PARTITIONS = schema.lake_partitions
_EVENTS = schema.feedback_events.c
_KEYS_PER_QUERY = 5000


def days_with_late_feedback(
    engine: sa.Engine, catalog: Catalog, blobs: BlobStore, app_id: int, after: int, upto: int
) -> set[int]:
    """The days whose lake file holds a record (with no SQL row) that got
    feedback in changes (after, upto]."""
    table = catalog.table(app_id)
    with engine.connect() as conn:
        keys = list(
            conn.scalars(
                sa.select(_EVENTS.join_key)
                .where(
                    _EVENTS.application_id == app_id,
                    _EVENTS.change_seq > after,
                    _EVENTS.change_seq <= upto,
                    ~sa.exists().where(table.c.join_key == _EVENTS.join_key),
                )
                .distinct()
            )
        )
    return set(days_holding(engine, blobs, app_id, keys)) if keys else set()


def days_holding(
    engine: sa.Engine, blobs: BlobStore, app_id: int, keys: list[str]
) -> dict[int, list[str]]:
    """Per lake day, which of `keys` its current file holds (a file that
    cannot be read is skipped: it is never served, and its reader rebuilds it)."""
    with engine.connect() as conn:
        parts = conn.execute(
            sa.select(_PARTITIONS.c.day_us, _PARTITIONS.c.uri).where(
                _PARTITIONS.c.application_id == app_id
            )
        ).all()
    wanted = pa.array(keys, pa.string())
    days: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="gantry-keys-") as tmp:
        for day, reference in parts:
            try:
                path = blobs.fetch(file_uri(blobs, reference), Path(tmp))
                there = pq.read_table(path, columns=["join_key"]).column("join_key")
            except Exception:  # noqa: BLE001 - see the docstring
                continue
            found = pc.filter(there, pc.is_in(there, wanted)).to_pylist()
            if found:
                days[day] = found
    return days


def with_late_feedback(
    engine: sa.Engine, app_id: int, fields: dict[str, Field], rows: pa.Table, since: int
) -> pa.Table:
    """`rows` (a day file's lake-only rows) with the feedback of every record
    that got an event after change `since` merged from all its events."""
    if len(rows) == 0:
        return rows
    keys = _keys_with_events_after(engine, app_id, since, rows.column("join_key"))
    if not keys:
        return rows
    touched = pc.is_in(rows.column("join_key"), pa.array(keys, pa.string()))
    merged = _merged_feedback(engine, app_id, keys)
    names = column_names(fields)
    updated = []
    for row in rows.filter(touched).to_pylist():
        columns, clashes = RecordWriter.place(fields, merged.get(row["join_key"], {}))
        for column, value in columns.items():
            row[names[column]] = value
        extra = json.loads(row["extra"] or "{}")
        kept = {p: v for p, v in extra.items() if not p.startswith("feedback.")} | clashes
        row["extra"] = json.dumps(kept, ensure_ascii=False) if kept else None
        updated.append(row)
    return pa.concat_tables(
        [rows.filter(pc.invert(touched)), pa.Table.from_pylist(updated, schema=rows.schema)]
    )


def _keys_with_events_after(
    engine: sa.Engine, app_id: int, since: int, keys: pa.ChunkedArray
) -> list[str]:
    """Which of `keys` got an event in a change after `since`."""
    listed = keys.to_pylist()
    found: list[str] = []
    with engine.connect() as conn:
        for at in range(0, len(listed), _KEYS_PER_QUERY):
            found += conn.scalars(
                sa.select(_EVENTS.join_key)
                .where(
                    _EVENTS.application_id == app_id,
                    _EVENTS.change_seq > since,
                    _EVENTS.join_key.in_(listed[at : at + _KEYS_PER_QUERY]),
                )
                .distinct()
            )
    return found


def _merged_feedback(engine: sa.Engine, app_id: int, keys: list[str]) -> dict[str, dict]:
    """Per key, its events' values merged as the writer merges them for a row
    it holds (latest timestamp wins per field, ties by event id)."""
    with engine.connect() as conn:
        return merge_events(RecordWriter.stored_events(conn, app_id, set(keys)))
