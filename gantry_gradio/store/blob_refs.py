"""Which record blobs each record references (the `gantry_record_blobs` table).

Why a table: a stored file's URI is text in the row like any other value, so
text a user logs (`s3://bucket/prefix/lake/app=other/_manifest.json`) looks
exactly like a file the SDK uploaded. Whoever hands out a link or a file for a
cell asks this table first: only a blob that the application's own record
referenced when it was written qualifies, never free text, never the lake's or
datasets' files, never another application's blobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa

from ..blobs.keys import is_blob_key
from . import schema

_CHUNK = 500


def record_references(
    conn: sa.Connection, insert: Callable, app_id: int, pairs: Iterable[tuple[str, str]]
) -> None:
    """Store (join key, blob key) pairs in the caller's transaction, so a
    record and what it references commit together; pairs seen before are
    skipped (deliveries are retried)."""
    rows = [
        {"application_id": app_id, "join_key": join_key, "blob_key": key}
        for join_key, key in sorted(set(pairs))
        if is_blob_key(key)
    ]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(
            insert(schema.record_blobs).on_conflict_do_nothing(), rows[start : start + _CHUNK]
        )


def referenced_blobs(
    engine: sa.Engine, app_id: int, join_keys: Iterable[str]
) -> dict[str, set[str]]:
    """Per join key, the blob keys its record references."""
    keys = sorted(set(join_keys))
    found: dict[str, set[str]] = {}
    table = schema.record_blobs.c
    with engine.connect() as conn:
        for start in range(0, len(keys), _CHUNK):
            stmt = sa.select(table.join_key, table.blob_key).where(
                table.application_id == app_id, table.join_key.in_(keys[start : start + _CHUNK])
            )
            for join_key, blob_key in conn.execute(stmt):
                found.setdefault(join_key, set()).add(blob_key)
    return found
