"""The lake's state rows in the SQL store: per application its export
watermark, the days waiting for export, its retention; and the content hash
every reader checks a file by."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import sqlalchemy as sa

from ..store import schema

_STATE = schema.lake_state


def lock_state(conn: sa.Connection, app_id: int) -> None:
    """The application's lake lock (its state row), held to commit."""
    conn.execute(
        _STATE.update()
        .where(_STATE.c.application_id == app_id)
        .values(watermark=_STATE.c.watermark)
    )


def file_sha256(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def read_state(conn: sa.Connection, app_id: int) -> tuple[int, set[int]]:
    row = conn.execute(
        sa.select(_STATE.c.watermark, _STATE.c.pending).where(_STATE.c.application_id == app_id)
    ).first()
    if row is None:
        return -1, set()
    return int(row.watermark), set(json.loads(row.pending))


def set_retention(engine: sa.Engine, app_id: int, days: int | None) -> None:
    """Keep `days` recent UTC days in the SQL store (None: all of them)."""
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
        raise ValueError(f"retention days must be a whole number >= 1, or None; not {days!r}")
    with engine.begin() as conn:
        conn.execute(
            _STATE.update().where(_STATE.c.application_id == app_id).values(retention_days=days)
        )


def get_retention(engine: sa.Engine, app_id: int) -> int | None:
    with engine.connect() as conn:
        return conn.scalar(
            sa.select(_STATE.c.retention_days).where(_STATE.c.application_id == app_id)
        )


def tombstoned(engine: sa.Engine, app_id: int, after: int = -1) -> list[str]:
    """Keys of records deleted on request in changes after `after` (lake/forget.py)."""
    t = schema.deletions.c
    with engine.connect() as conn:
        return list(
            conn.scalars(
                sa.select(t.join_key).where(t.application_id == app_id, t.change_seq > after)
            )
        )
