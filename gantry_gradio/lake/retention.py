"""Hot and cold: the SQL store keeps an application's recent days, the lake
all of them.

Why: at 10M records SQLite held 4.6 GB where the lake held the same rows in
92 MB. With `retention_days` set, each export pass moves the days older than
that out of the SQL store — the days only, never a record the lake does not
hold: a day leaves SQL only when its lake file is the day's current
partition, its content is the one exported (SHA-256), it names every join key
SQL has for the day, and no row of the day changed after the file was
written. The rows are deleted in one transaction that checks all of that
again under the application's lake lock, so a process killed at any point
leaves the day either hot (in both) or cold (in the lake), never in neither
and never twice. Feedback events and the record-to-file links stay in SQL:
late feedback for a cold record finds its event history there, and the next
export pass rewrites the record's day with it (`late_feedback.py`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from .._timestamps import now_us
from ..blobs import BlobStore
from ..store import schema
from ..store.catalog import Catalog
from .layout import DAY_US, day_name, day_start, file_uri
from .state import file_sha256, get_retention, lock_state

_PARTITIONS = schema.lake_partitions


def move_cold_days(engine: sa.Engine, catalog: Catalog, blobs: BlobStore, app_id: int) -> list[str]:
    """Delete from SQL the rows of every day past the application's
    retention whose lake file holds them (see the module's docstring).
    Returns the days moved."""
    retention = get_retention(engine, app_id)
    if retention is None:
        return []
    table = catalog.table(app_id)
    cutoff = (now_us() // DAY_US - retention) * DAY_US
    with engine.connect() as conn:
        hours = conn.scalars(sa.select(table.c.hour_us).where(table.c.hour_us < cutoff).distinct())
        days = sorted({day_start(hour) for hour in hours})
    return [day_name(day) for day in days if _move_day(engine, blobs, app_id, table, day)]


def _move_day(engine: sa.Engine, blobs: BlobStore, app_id: int, table: sa.Table, day: int) -> bool:
    in_day = (table.c.hour_us >= day, table.c.hour_us < day + DAY_US)
    where = (_PARTITIONS.c.application_id == app_id, _PARTITIONS.c.day_us == day)
    partition = sa.select(_PARTITIONS.c.uri, _PARTITIONS.c.change_seq, _PARTITIONS.c.sha256)
    with engine.connect() as conn:
        part = conn.execute(partition.where(*where)).first()
        if part is None or part.sha256 is None:
            return False  # not exported yet: the next pass exports it first
        keys = pa.array(list(conn.scalars(sa.select(table.c.join_key).where(*in_day))), pa.string())
    if not _file_holds(blobs, file_uri(blobs, part.uri), part.sha256, keys):
        return False
    with engine.begin() as conn:
        lock_state(conn, app_id)
        current = conn.execute(partition.where(*where)).first()
        if current is None or (current.uri, current.change_seq) != (part.uri, part.change_seq):
            return False  # re-exported meanwhile: the next pass checks the new file
        changed = table.c.change_seq > part.change_seq
        if conn.scalar(sa.select(table.c.join_key).where(*in_day, changed).limit(1)) is not None:
            return False  # a change the file does not hold yet
        count = conn.scalar(sa.select(sa.func.count()).select_from(table).where(*in_day))
        if count != len(keys):
            return False  # a record arrived since the keys were read
        conn.execute(table.delete().where(*in_day))
    return True


def _file_holds(blobs: BlobStore, uri: str, sha256: str, keys: pa.Array) -> bool:
    """Whether the file is the one exported and names every key."""
    with tempfile.TemporaryDirectory(prefix="gantry-cold-") as tmp:
        try:
            path = blobs.fetch(uri, Path(tmp))
            if file_sha256(path) != sha256:
                return False
            there = pq.read_table(path, columns=["join_key"]).column("join_key")
        except Exception:  # noqa: BLE001 - missing or unreadable: the day stays hot
            return False
    return pc.all(pc.is_in(keys, there.combine_chunks())).as_py() is not False
