"""The SQL of the bulk path: ready tuples through the DBAPI cursor's executemany.

Why not the Core insert: for plain new predictions the per-row dicts, bound
parameter processing and feedback merge cost ~10x the database's own work.
These statements are used only inside the writer's locked transaction, after
`any_stored` proved that no row and no feedback event of these join keys is
stored, so each row's feedback columns are exactly its own event's values.
Table and column names are generated from integers (`gantry_records_<id>`,
`f<id>`); every value is a bound parameter."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import compress, repeat
from typing import Any, NamedTuple

import sqlalchemy as sa

from .._timestamps import HOUR_US
from ..store import schema
from ..store.schema import Field

_EVENTS = schema.feedback_events.name
#: Page cache of the connection that writes a bulk transaction (SQLite).
BULK_CACHE_KIB = 64 * 1024
#: WAL pages after which a commit of that connection checkpoints (default 1,000).
BULK_CHECKPOINT_PAGES = 8000
ROWS_PER_STATEMENT = 4000
#: Bound parameters a statement may have (SQLite's limit since 3.32).
MAX_PARAMETERS = 32766


def _marks(conn: sa.Connection, count: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def tune(conn: sa.Connection) -> None:
    """SQLite: a bulk transaction (~30,000 records, ~10 MB with indexes)
    overflows the default 2 MB page cache, which then spills dirty pages to
    the WAL mid-transaction and writes hot index pages many times over; and
    the default checkpoint every 4 MB of WAL (two fsyncs each) would run
    after every such commit."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES}")


def any_stored(conn: sa.Connection, table: sa.Table, app_id: int, keys: list[str]) -> bool:
    """Whether a row or a feedback event of any of these keys is stored.

    On SQLite, first one index seek per table for the keys' range (text
    compares by code point there, as in Python): bulk keys are time-ordered,
    so a new batch's range holds nothing stored and that is the whole check.
    Otherwise (a user's random keys; PostgreSQL, whose collation may order
    text differently) one indexed probe per key, in one statement."""
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    within = "IN (SELECT value FROM json_each(?))" if sqlite else "= ANY(%s)"
    sources = (
        (f"SELECT 1 FROM {table.name} WHERE join_key", ()),
        (f"SELECT 1 FROM {_EVENTS} WHERE application_id = {mark} AND join_key", (app_id,)),
    )
    for select, params in sources:
        if sqlite:
            in_range = f"{select} BETWEEN ? AND ? LIMIT 1"
            if conn.exec_driver_sql(in_range, (*params, min(keys), max(keys))).first() is None:
                continue
        keys_param = json.dumps(keys) if sqlite else keys
        if conn.exec_driver_sql(f"{select} {within} LIMIT 1", (*params, keys_param)).first():
            return True
    return False


def insert_rows(
    conn: sa.Connection,
    table: sa.Table,
    fields: dict[str, Field],
    entry: Any,
    change: int,
) -> None:
    """The entry's rows (a BulkEntry with `fast` set), stamped with the
    transaction's change number."""
    stamps = entry.timestamps
    columns: dict[str, Column] = {
        "join_key": entry.join_keys,
        "timestamp_us": stamps,
        "hour_us": [t - t % HOUR_US for t in stamps],
        "version": Constant(entry.version),
        "logged_at_us": (
            entry.logged_at if isinstance(entry.logged_at, list) else Constant(entry.logged_at)
        ),
        "change_seq": Constant(change),
    }
    for path, values in entry.columns.items():
        columns[fields[path].column] = values
    for path, value in entry.constants.items():
        columns[fields[path].column] = Constant(value)
    _insert(conn, table.name, columns, entry.count)


def insert_events(conn: sa.Connection, app_id: int, entry: Any, change: int) -> int:
    """The entry's feedback events, with the ids the per-record expansion
    gives them (`BulkEntry.event_id`). Returns how many."""
    texts = entry.event_texts()
    columns: dict[str, Column] = {
        "event_id": entry.event_ids or [f"{entry.id}.{i}" for i in range(entry.count)],
        "application_id": Constant(app_id),
        "join_key": entry.join_keys,
        "timestamp_us": entry.timestamps,
        "feedback": texts,
        "change_seq": Constant(change),
    }
    if None in texts:
        kept = [text is not None for text in texts]
        columns = {
            name: values if isinstance(values, Constant) else list(compress(values, kept))
            for name, values in columns.items()
        }
    count = len(columns["feedback"])
    _insert(conn, _EVENTS, columns, count)
    return count


class Constant(NamedTuple):
    """One value for every row of a column."""

    value: Any


Column = list | Constant


def _insert(conn: sa.Connection, table_name: str, columns: dict[str, Column], count: int) -> None:
    """Multi-row VALUES, ROWS_PER_STATEMENT rows a statement, as one executemany.
    Why: SQLite's driver releases and retakes the GIL around every statement,
    and a busy caller thread then holds the worker up to the switch interval
    (5 ms) each time; one statement per row made bulk delivery crawl while the
    caller was logging. Fewer, larger statements also run faster alone. The
    parameters are laid out by slice assignment, column by column, at C speed."""
    if not count:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table_name, columns, count)
        return
    width = len(columns)
    flat: list[Any] = [None] * (count * width)
    for at, values in enumerate(columns.values()):
        flat[at::width] = [values.value] * count if isinstance(values, Constant) else values
    per = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMETERS // width))
    full, rest = divmod(count, per)
    step = per * width
    head = f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES "
    row = f"({_marks(conn, width)})"
    if full:
        batches = [flat[at : at + step] for at in range(0, full * step, step)]
        _executemany(conn, head + ", ".join([row] * per), batches)
    if rest:
        _executemany(conn, head + ", ".join([row] * rest), [flat[full * step :]])


def _copy(conn: sa.Connection, table_name: str, columns: dict[str, Column], count: int) -> None:
    """PostgreSQL: COPY FROM STDIN, ~10x a multi-row INSERT through psycopg,
    which splits a long statement's placeholders in Python on every call."""
    values = (repeat(c.value, count) if isinstance(c, Constant) else c for c in columns.values())
    rows = zip(*values, strict=True)
    sql = f"COPY {table_name} ({', '.join(columns)}) FROM STDIN"
    with _driver_errors(conn, sql) as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _executemany(conn: sa.Connection, sql: str, rows: Iterable[list]) -> None:
    with _driver_errors(conn, sql) as cursor:
        cursor.executemany(sql, rows)


@contextmanager
def _driver_errors(conn: sa.Connection, sql: str) -> Iterator[Any]:
    """The DBAPI cursor of the connection's own transaction: no per-row work
    in SQLAlchemy. Its errors are wrapped like SQLAlchemy's own, so delivery
    judges them alike (retry an outage, go per record on refused data)."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()
