"""The change counter: which rows changed since a given point, without a scan.

Why a counter under the write lock rather than a timestamp or a database
sequence: a sequence number is handed out at statement time but becomes
visible at commit, so a reader that saw number 11 may later meet a 10 that
committed after it and skip it forever. Here each write transaction of an
application first bumps the application's own counter (an UPDATE of its
catalog row, which is also the application's write lock, held to commit), and
stamps every row it writes with the new value; the next writer waits for the
commit, so numbers become visible in order. A reader that saw counter value S
has seen every row stamped <= S."""

from __future__ import annotations

import sqlalchemy as sa

from . import schema


def claim_change(conn: sa.Connection, app_id: int) -> int:
    """Take the application's write lock for this transaction and return the
    change number its rows are stamped with. Taken before any read, so what
    the transaction reads is everything committed before it."""
    apps = schema.applications
    conn.execute(
        apps.update().where(apps.c.id == app_id).values(change_seq=apps.c.change_seq + 1)
    )
    return int(conn.scalar(sa.select(apps.c.change_seq).where(apps.c.id == app_id)))


def current_change(conn: sa.Connection, app_id: int) -> int:
    """The last committed change number of the application."""
    apps = schema.applications
    return int(conn.scalar(sa.select(apps.c.change_seq).where(apps.c.id == app_id)) or 0)
