"""One SQLAlchemy engine per store URL, tuned for this workload."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
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
        return _sqlite_engine(parsed)
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, pool_recycle=1800)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreConfigError(
            f"store {parsed.render_as_string(hide_password=True)!r} needs a database driver "
            f"that is not installed ({exc}); "
            "for PostgreSQL: pip install 'psycopg[binary]' and use postgresql+psycopg://"
        ) from None


def _sqlite_engine(parsed: URL) -> sa.Engine:
    """A file this process cannot write (a read-only replica, a chmod 444 file,
    a read-only directory or mount) is opened read-only, and so is a URL that
    asks for it (`sqlite:///file:/path/records.db?mode=ro&uri=true`): a
    dashboard can read it. Read-only connections skip the WAL pragma, which
    is a write."""
    read_only = _asks_read_only(parsed)
    database = parsed.database
    if not read_only and database and database != ":memory:" and not _is_uri(parsed):
        path = Path(database).expanduser().resolve()
        if path.exists() and not _writable(path):
            parsed = _read_only_url(path)
            read_only = True
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, connect_args={"timeout": 30})
    sa.event.listen(engine, "connect", _tune_read_only_sqlite if read_only else _tune_sqlite)
    return engine


def _is_uri(parsed: URL) -> bool:
    return str(parsed.query.get("uri", "")).lower() in ("true", "1")


def _asks_read_only(parsed: URL) -> bool:
    query = parsed.query
    return _is_uri(parsed) and (query.get("mode") == "ro" or query.get("immutable") == "1")


def _writable(path: Path) -> bool:
    """SQLite writes the file and, in WAL mode, creates files beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _read_only_url(path: Path) -> URL:
    """mode=ro; in a directory nobody here can write and with no WAL file
    beside it (so no writer is active), also immutable=1, without which SQLite
    cannot read a WAL-mode file there (it needs to create the -shm file)."""
    query = {"mode": "ro", "uri": "true"}
    wal = path.with_name(path.name + "-wal")
    if not os.access(path.parent, os.W_OK) and not wal.exists():
        query["immutable"] = "1"
    return URL.create("sqlite", database=f"file:{quote(str(path))}", query=query)


def _redacted(url: str) -> str:
    """Error messages end up in logs: never print a password that may be in the URL."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _tune_read_only_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
