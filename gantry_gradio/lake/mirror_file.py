"""The DuckDB file the lake engine answers from, kept between processes.

Why: loading every lake file into DuckDB took 7 s at 10M records, paid by
every restart of a Gradio app. The first process of a store (per cache folder)
keeps its DuckDB file, `kept-<store>.duckdb`, with what each application's
table holds (which file each day came from, the SQL change number its other
days are current to) written in the same DuckDB transaction as the table. The
next process opens it and brings it up to date like a warm one would: a day
whose partition is now another file is loaded again, SQL rows changed since
are copied, an application whose catalog row is not the one recorded (a
database recreated under the same URL) starts from nothing. A lake file is
trusted without hashing it again only while its size and status-change time
(ctime: any write moves it, and no one can set it back) are the ones it had
when its SHA-256 matched the export's.

A second process on the same store (two dashboards) cannot take the kept
file's lock and gets a private file, as before: correct, only cold."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import duckdb
import sqlalchemy as sa

from ..store import schema

log = logging.getLogger("gantry_gradio")

_STATE_TABLE = "gantry_mirror_state"
_FILES_TABLE = "gantry_mirror_files"


@dataclass
class Mirror:
    """What DuckDB holds of one application."""

    lake: dict[int, str] = field(default_factory=dict)  # day -> Parquet file it came from
    seen_change: int = -1  # SQL-sourced days hold every change up to this
    columns: tuple[str, ...] = ()  # field columns of the table
    synced_at: float = 0.0
    identity: str | None = None  # the catalog row it was built for (see `identity_of`)


class MirrorFile:
    """The DuckDB file of one lake store: kept (shared by restarts) or private."""

    def __init__(self, cache_dir: Path, store_key: str) -> None:
        self.cache_dir = cache_dir
        name = hashlib.sha256(store_key.encode()).hexdigest()[:16]
        kept = cache_dir / f"kept-{name}.duckdb"
        self.owner = _try_hold(kept.with_suffix(".lock"))
        self.kept = self.owner is not None
        if self.kept:
            self.path = kept
        else:
            _remove_orphans(cache_dir)
            self.path = cache_dir / f"mirror-{uuid.uuid4().hex}.duckdb"
            self.owner = _try_hold(self.path.with_suffix(".lock"))

    def connect(self, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
        """The database; a kept file DuckDB cannot open (damaged, or written
        by another DuckDB version) is started afresh."""
        try:
            db = duckdb.connect(str(self.path), config=config)
            self._create_tables(db)
            return db
        except duckdb.Error as exc:
            if not self.kept:
                raise
            log.warning("gantry_gradio: kept lake mirror %s unusable (%s); rebuilt", self.path, exc)
            self._remove_files()
            db = duckdb.connect(str(self.path), config=config)
            self._create_tables(db)
            return db

    def _create_tables(self, db: duckdb.DuckDBPyConnection) -> None:
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {_STATE_TABLE} (app_id INTEGER PRIMARY KEY, "
            "identity VARCHAR, lake VARCHAR, seen_change BIGINT, columns VARCHAR)"
        )
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {_FILES_TABLE} (uri VARCHAR PRIMARY KEY, "
            "size BIGINT, ctime_ns BIGINT, sha256 VARCHAR)"
        )

    def load(self, cursor: duckdb.DuckDBPyConnection) -> dict[int, Mirror]:
        """The mirrors the kept file holds (none for a private one)."""
        rows = cursor.execute(
            f"SELECT app_id, identity, lake, seen_change, columns FROM {_STATE_TABLE}"
        ).fetchall()
        return {
            app_id: Mirror(
                lake={int(day): path for day, path in json.loads(lake).items()},
                seen_change=seen_change,
                columns=tuple(json.loads(columns)),
                identity=identity,
            )
            for app_id, identity, lake, seen_change, columns in rows
        }

    def save(self, cursor: duckdb.DuckDBPyConnection, app_id: int, mirror: Mirror) -> None:
        """Inside the transaction that changed the table: both or neither."""
        cursor.execute(
            f"INSERT OR REPLACE INTO {_STATE_TABLE} VALUES (?, ?, ?, ?, ?)", [app_id, *_row(mirror)]
        )

    def forget(self, cursor: duckdb.DuckDBPyConnection, app_id: int) -> None:
        cursor.execute(f"DELETE FROM {_STATE_TABLE} WHERE app_id = ?", [app_id])

    def trusted(
        self, cursor: duckdb.DuckDBPyConnection, uri: str, stamp: tuple[int, int], sha256: str
    ) -> bool:
        """Whether the file was found whole with this content hash, and has
        not been touched since (same size and ctime)."""
        row = cursor.execute(
            f"SELECT size, ctime_ns, sha256 FROM {_FILES_TABLE} WHERE uri = ?", [uri]
        ).fetchone()
        return row is not None and (row[0], row[1]) == stamp and row[2] == sha256

    def remember(
        self, cursor: duckdb.DuckDBPyConnection, uri: str, stamp: tuple[int, int], sha256: str
    ) -> None:
        cursor.execute(
            f"INSERT OR REPLACE INTO {_FILES_TABLE} VALUES (?, ?, ?, ?)", [uri, *stamp, sha256]
        )

    def close(self) -> None:
        """A kept file stays for the next process; a private one goes."""
        if not self.kept:
            self._remove_files()
            self.path.with_suffix(".lock").unlink(missing_ok=True)
        if self.owner is not None:
            self.owner.close()

    def _remove_files(self) -> None:
        for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
            leftover.unlink(missing_ok=True)


def describe(mirror: Mirror) -> str:
    """The table's state as saved: what day_partials stamps its partials with."""
    return "|".join(str(value) for value in _row(mirror))


def _row(mirror: Mirror) -> tuple[str | None, str, int, str]:
    """The state table's columns after app_id, as `save` writes them."""
    lake = json.dumps({str(day): path for day, path in sorted(mirror.lake.items())})
    return mirror.identity, lake, mirror.seen_change, json.dumps(list(mirror.columns))


def identity_of(conn: sa.Connection, app_id: int) -> str | None:
    """The application's catalog row as text: a recreated database gives the
    same id another creation time, so a kept table is never taken for it."""
    t = schema.applications
    row = conn.execute(sa.select(t.c.name, t.c.created_at_us).where(t.c.id == app_id)).first()
    return None if row is None else f"{row[0]}|{row[1]}"


def _try_hold(lock_path: Path) -> IO[str] | None:
    """An exclusive lock on `lock_path`, kept while the returned file is
    open; None when another process holds it."""
    owner = open(lock_path, "a")  # noqa: SIM115 - open for the store's life, closed by close()
    try:
        fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner.close()
        return None
    return owner


def _remove_orphans(cache_dir: Path) -> None:
    """Private DuckDB files whose store ended without closing (killed). The
    owner is known by the lock it holds on `mirror-<id>.lock`, not by a
    process id: a folder shared by containers sees other containers' process
    ids as dead (or as someone else's), and their live files must stay."""
    for lock_path in cache_dir.glob("mirror-*.lock"):
        try:
            probe = open(lock_path, "a")  # noqa: SIM115 - closed below
        except FileNotFoundError:  # its owner closed meanwhile
            continue
        with probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # alive
            stem = lock_path.with_suffix("")
            for leftover in (stem.with_suffix(".duckdb"), stem.with_suffix(".duckdb.wal")):
                leftover.unlink(missing_ok=True)
            lock_path.unlink(missing_ok=True)
