"""One SQLAlchemy engine per store URL, tuned for this workload."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError


class StoreConfigError(ValueError):
    """The store URL cannot be used; the message says how to fix it."""


def create_store_engine(url: str) -> sa.Engine:
    """SQLite gets WAL (readers never block the writer) and a busy timeout so the
    app, the dashboard and backfill.py can share one file; PostgreSQL gets
    pre-ping so a restarted server is reconnected to transparently."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreConfigError(
            f"store {_redacted(url)!r} is not a SQLAlchemy URL; use sqlite:///path/records.db or "
            "postgresql+psycopg://user:password@host:5432/dbname"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _tune_sqlite)
        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, pool_recycle=1800)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreConfigError(
            f"store {parsed.render_as_string(hide_password=True)!r} needs a database driver "
            f"that is not installed ({exc}); "
            "for PostgreSQL: pip install 'psycopg[binary]' and use postgresql+psycopg://"
        ) from None


def _redacted(url: str) -> str:
    """Error messages end up in logs: never print a password that may be in the URL."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
