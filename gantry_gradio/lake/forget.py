"""Deleting records on request, from every tier at once.

Why: a user may ask for their data to go (by their records' join keys, or
by a tag value such as their user name), and with retention and import a
record can live in the SQL store, in a lake file, or both, with its feedback
events, its stored files and a DuckDB copy in every process reading it. One
transaction deletes the rows, events and file links from SQL and writes a
tombstone per key stamped with a change number; then every lake day holding
one of the keys is written again without it, stored files no other record
references are deleted, and each DuckDB copy drops the keys when it next
syncs (it reads the tombstones newer than what it holds). An import never
brings a tombstoned key back, and no lake file written later keeps one.
Dataset versions already made are snapshots and are left as they are
(delete those versions by name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from .._timestamps import now_us
from ..blobs.keys import is_blob_key
from ..store import schema
from ..store.changes import claim_change
from .export import LakeExporter
from .late_feedback import days_holding
from .layout import day_name
from .state import lock_state

_CHUNK = 500
_PARTITIONS = schema.lake_partitions


@dataclass
class DeletionReport:
    """What one deletion did."""

    application: str
    records: int = 0  # records found and deleted (in SQL, in the lake or both)
    days: list[str] = field(default_factory=list)  # lake days written again without them
    files: int = 0  # stored files no other record referenced, deleted


def forget(exporter: LakeExporter, application: str, join_keys: Sequence[str]) -> DeletionReport:
    """Delete the application's records with these join keys everywhere."""
    report = DeletionReport(application)
    keys = sorted(set(join_keys))
    if not keys:
        return report
    app_id = exporter.catalog.application_id(application)
    exporter.ensure_state(app_id)
    table = exporter.catalog.table(app_id)
    blobs = schema.record_blobs.c
    events = schema.feedback_events.c
    with exporter.engine.begin() as conn:
        lock_state(conn, app_id)
        change = claim_change(conn, app_id)
        in_sql: set[str] = set()
        files: set[str] = set()
        for at in range(0, len(keys), _CHUNK):
            chunk = keys[at : at + _CHUNK]
            in_sql.update(conn.scalars(sa.select(table.c.join_key).where(table.c.join_key.in_(chunk))))
            files.update(
                conn.scalars(
                    sa.select(blobs.blob_key).where(
                        blobs.application_id == app_id, blobs.join_key.in_(chunk)
                    )
                )
            )
            conn.execute(table.delete().where(table.c.join_key.in_(chunk)))
            conn.execute(
                schema.feedback_events.delete().where(
                    events.application_id == app_id, events.join_key.in_(chunk)
                )
            )
            conn.execute(
                schema.record_blobs.delete().where(
                    blobs.application_id == app_id, blobs.join_key.in_(chunk)
                )
            )
            _tombstone(conn, app_id, chunk, change)
    # After the tombstones are committed: a day's file written from now on
    # leaves them out (see LakeExporter._write_day).
    in_lake: set[str] = set()
    for day, found in days_holding(exporter.engine, exporter.blobs, app_id, keys).items():
        exporter.export_day(application, day, change)
        in_lake.update(found)
        report.days.append(day_name(day))
    report.records = len(in_sql | in_lake)
    report.files = _delete_unreferenced(exporter, files)
    return report


def _tombstone(conn: sa.Connection, app_id: int, keys: list[str], change: int) -> None:
    t = schema.deletions
    conn.execute(t.delete().where(t.c.application_id == app_id, t.c.join_key.in_(keys)))
    stamp = now_us()
    conn.execute(
        t.insert(),
        [
            {"application_id": app_id, "join_key": k, "change_seq": change, "deleted_at_us": stamp}
            for k in keys
        ],
    )


def _delete_unreferenced(exporter: LakeExporter, blob_keys: set[str]) -> int:
    """Delete the stored files no record of any application references."""
    refs = schema.record_blobs.c
    deleted = 0
    with exporter.engine.connect() as conn:
        for key in sorted(blob_keys):
            if not is_blob_key(key):
                continue
            if conn.scalar(sa.select(refs.blob_key).where(refs.blob_key == key).limit(1)):
                continue
            exporter.blobs.delete(exporter.blobs.uri_for(key))
            deleted += 1
    return deleted
