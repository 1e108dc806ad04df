"""The store's own clock, for deciding when an interval is over.

Why not the process's clock alone: several app processes and schedulers
share one store, and one whose clock runs fast would take a window for over
while records of it are still arriving, evaluate it on too few records and
never look at it again. PostgreSQL's clock is the one every process agrees
on; an embedded SQLite store lives on this machine, whose clock it is."""

from __future__ import annotations

import sqlalchemy as sa

from .._timestamps import now_us


def store_now_us(engine: sa.Engine) -> int:
    """The earlier of this process's clock and the database server's: a fast
    clock on either side cannot end an interval early."""
    local = now_us()
    if engine.dialect.name != "postgresql":
        return local
    with engine.connect() as conn:
        server = conn.scalar(sa.text("SELECT extract(epoch FROM clock_timestamp()) * 1000000"))
    return min(local, int(server))
