"""The read contract on DuckDB over the Parquet lake plus the SQL tail.

Why: aggregating a month of records on SQLite or PostgreSQL grows linearly
with rows (~1 s a refresh at 1M, ~10 s at 10M); DuckDB scans the same numbers
from columnar files in a fraction of that. The statements are the SQL store's
own: this class only swaps the engine that runs them for a DuckDB one where
`gantry_records_<id>` is a view of

- the lake's partitions (one Parquet file per exported day), and
- the tail: every row of the days the lake cannot serve (not exported yet,
  changed since their export, or whose file is missing or damaged), mirrored
  from SQL into a DuckDB table and kept current by the change counter.

Each day comes from exactly one of the two, so nothing is counted twice or
missed, and a record is visible as soon as the SQL store has it (the mirror
is brought up to date at most `sync_seconds` apart, before a query). While an
application has no exported partition, its reads go to the SQL store."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper

from ..blobs import BlobStore
from ..store import schema
from ..store.changes import current_change
from ..store.query import SqlRecordStore, _Compiled
from ..store.schema import RECORD_COLUMNS, Field
from .export import LakeExporter, read_state
from .layout import ARROW_TYPES, DAY_US, column_names, day_name, rows_to_arrow

log = logging.getLogger("gantry_gradio")
T = TypeVar("T")

_DUCK_TYPES = {"boolean": "BOOLEAN", "number": "DOUBLE", "text": "VARCHAR", "json": "VARCHAR"}
_TAIL_BASE = pa.schema(
    [
        ("join_key", pa.string()),
        ("timestamp_us", pa.int64()),
        ("hour_us", pa.int64()),
        ("version", pa.string()),
        ("logged_at_us", pa.int64()),
        ("extra", pa.string()),
    ]
)
_HOUR_US = 3600 * 1_000_000
#: Where each SQL store puts NULLs in ORDER BY: SQLite first ascending,
#: PostgreSQL last ascending (and the other way round descending).
_NULL_ORDER = {
    "sqlite": "nulls_first_on_asc_last_on_desc",
    "postgresql": "nulls_last_on_asc_first_on_desc",
}


@dataclass(frozen=True)
class _Partition:
    day_us: int
    uri: str
    rows: int
    bytes: int
    columns: tuple[str, ...]


@dataclass
class _Mirror:
    """What DuckDB holds of one application."""

    lake: dict[int, str] = field(default_factory=dict)  # day -> local Parquet file
    lake_columns: frozenset[str] = frozenset()
    seen_change: int = -1  # the tail holds every change up to this
    tail_columns: tuple[str, ...] = ()  # field columns of the tail table
    view_key: tuple = ()
    synced_at: float = 0.0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class LakeRecordStore(SqlRecordStore):
    """`RecordStore` whose aggregations run on DuckDB over lake ∪ tail, with
    the SQL store's statements. Catalog, views, baselines and join-key lookups
    stay on the SQL store, which remains the source of truth."""

    def __init__(
        self,
        sql: SqlRecordStore,
        blobs: BlobStore,
        cache_dir: Path,
        *,
        exporter: LakeExporter | None = None,
        sync_seconds: float = 1.0,
        memory_limit: str = "512MB",
    ) -> None:
        super().__init__(sql.engine, sql.catalog, sql.views)
        self.blobs = blobs
        self.cache_dir = Path(cache_dir)
        self.exporter = exporter
        self.sync_seconds = sync_seconds
        # NULLs sort where the SQL store sorts them (DuckDB's own default is
        # last either way), so `rows(order_by=...)` pages alike on both.
        null_order = _NULL_ORDER.get(sql.engine.dialect.name, "nulls_last_on_asc_first_on_desc")
        self._db = duckdb.connect(
            config={"memory_limit": memory_limit, "default_null_order": null_order}
        )
        # Each pooled connection is a cursor: its own connection to the same
        # in-memory database, safe to use from the thread that holds it.
        self.duck = sa.create_engine(
            "duckdb://", creator=lambda: ConnectionWrapper(self._db.cursor())
        )
        self._mirrors: dict[int, _Mirror] = {}
        self._verified: dict[str, str | None] = {}  # uri -> None (good) or why not
        self._stamps: dict[str, tuple[int, int] | None] = {}  # uri -> (size, mtime) checked
        self._partition_uris: dict[tuple[int, int], str] = {}  # (app, day) -> current file
        self._rebuilding: set[tuple[int, int]] = set()
        self._lock = threading.RLock()
        self._cursor = self._db.cursor()  # for keeping DuckDB in step, under the lock

    def close(self) -> None:
        """Free DuckDB's memory (the mirrored tails) now rather than at exit."""
        self.duck.dispose()
        self._db.close()

    # -- what the tab shows about the engine ---------------------------------------

    def notes(self, application: str) -> list[str]:
        app_id = self.catalog.application_id(application)
        with self._lock:
            broken = sorted(
                (day, why) for (app, day), why in self._broken_days().items() if app == app_id
            )
        if not broken:
            return []
        days = ", ".join(f"{day_name(day)} ({why})" for day, why in broken[:5])
        more = f" and {len(broken) - 5} more" if len(broken) > 5 else ""
        rebuilding = " while they are rebuilt" if self.exporter is not None else ""
        return [
            f"Lake partitions could not be read: {days}{more}. Those days are counted from "
            f"the SQL store{rebuilding}; the numbers are complete."
        ]

    def _broken_days(self) -> dict[tuple[int, int], str]:
        found = {}
        for (app_id, day), uri in self._partition_uris.items():
            why = self._verified.get(uri)
            if why is not None:
                found[(app_id, day)] = why
        return found

    # -- the engine a selection runs on --------------------------------------------

    def _compile(self, selection: Any, engine: sa.Engine | None = None) -> _Compiled:
        app_id = self.catalog.application_id(selection.application)
        uses_lake = self._sync(app_id, selection.application)
        return super()._compile(selection, self.duck if uses_lake else self.engine)

    def _retrying(method: Callable[..., T]) -> Callable[..., T]:  # noqa: N805 - decorator
        """A lake file deleted or damaged after it was checked fails the query:
        check the application's files again (a bad one is then served from
        SQL) and answer once more."""

        @functools.wraps(method)
        def wrapper(self: LakeRecordStore, selection: Any, *args: Any, **kwargs: Any) -> T:
            try:
                return method(self, selection, *args, **kwargs)
            except (duckdb.Error, sa.exc.DBAPIError) as exc:
                if isinstance(exc, sa.exc.DBAPIError) and not isinstance(exc.orig, duckdb.Error):
                    raise
                log.warning("lake query failed (%s); checking its files again", exc)
                self._forget(selection.application)
                return method(self, selection, *args, **kwargs)

        return wrapper

    rows = _retrying(SqlRecordStore.rows)
    keys = _retrying(SqlRecordStore.keys)
    summary = _retrying(SqlRecordStore.summary)
    percent_true = _retrying(SqlRecordStore.percent_true)
    value_counts = _retrying(SqlRecordStore.value_counts)
    mean_over_time = _retrying(SqlRecordStore.mean_over_time)
    value_range = _retrying(SqlRecordStore.value_range)
    histogram = _retrying(SqlRecordStore.histogram)

    def _forget(self, application: str) -> None:
        app_id = self.catalog.application_id(application)
        with self._lock:
            for (app, _day), uri in self._partition_uris.items():
                if app == app_id:
                    self._verified.pop(uri, None)
            if app_id in self._mirrors:
                self._mirrors[app_id].synced_at = 0.0

    # -- keeping DuckDB in step with the SQL store ---------------------------------

    def _sync(self, app_id: int, application: str) -> bool:
        """Bring the application's tail and view up to date; False when it
        has no usable partition (read it from SQL)."""
        with self._lock:
            mirror = self._mirrors.setdefault(app_id, _Mirror())
            if time.monotonic() - mirror.synced_at < self.sync_seconds:
                return bool(mirror.lake)
            try:
                with self.engine.connect() as conn, conn.begin():  # one snapshot
                    change = current_change(conn, app_id)
                    watermark, pending = read_state(conn, app_id)
                    partitions = self._partitions(conn, app_id) if watermark >= 0 else []
                    dirty = self._dirty_days(conn, app_id, watermark) if partitions else set()
            except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
                # a read-only store from before the lake has no lake tables
                log.debug("no lake for application %s: %s", application, exc)
                change, pending, partitions, dirty = 0, set(), [], set()
            usable = {p.day_us: p for p in partitions if p.day_us not in pending | dirty}
            lake = self._checked(app_id, application, usable)
            if not lake:
                self._drop(app_id)
                mirror = self._mirrors[app_id]
            else:
                fields = self.catalog.fields(app_id, refresh=True)
                # One DuckDB transaction: a panel querying meanwhile (the tab
                # runs them side by side) sees the tail before or after, never
                # a row deleted and not yet inserted again.
                self._cursor.begin()
                try:
                    self._update_tail(app_id, mirror, fields, set(lake), change)
                    mirror.lake = {day: path for day, (path, _) in lake.items()}
                    mirror.lake_columns = frozenset(c for _, cols in lake.values() for c in cols)
                    self._update_view(app_id, mirror, fields)
                except BaseException:
                    self._cursor.rollback()
                    self._drop(app_id)  # start again from a clean mirror next time
                    raise
                self._cursor.commit()
            mirror.synced_at = time.monotonic()
            return bool(mirror.lake)

    @staticmethod
    def _partitions(conn: sa.Connection, app_id: int) -> list[_Partition]:
        t = schema.lake_partitions
        rows = conn.execute(
            sa.select(t.c.day_us, t.c.uri, t.c.rows, t.c.bytes, t.c.columns).where(
                t.c.application_id == app_id
            )
        )
        return [
            _Partition(day, uri, n, size, tuple(json.loads(cols)))
            for day, uri, n, size, cols in rows
        ]

    def _dirty_days(self, conn: sa.Connection, app_id: int, watermark: int) -> set[int]:
        """Days with a change the lake's files cannot hold yet (an index range)."""
        table = self.catalog.table(app_id)
        stmt = sa.select(table.c.hour_us).distinct().where(table.c.change_seq > watermark)
        return {hour - hour % DAY_US for hour in conn.scalars(stmt)}

    def _checked(
        self, app_id: int, application: str, usable: dict[int, _Partition]
    ) -> dict[int, tuple[str, tuple[str, ...]]]:
        """The usable partitions whose file is there and whole (size and row
        count as exported); each file is checked once, and again when its
        size or modification time is no longer what was checked. A bad one is
        left to SQL, and rebuilt when this store has an exporter."""
        good = {}
        for day, part in usable.items():
            self._partition_uris[(app_id, day)] = part.uri
            if self._verified.get(part.uri, "") is None and not self._unchanged(part):
                del self._verified[part.uri]  # replaced or touched since it was checked
            if part.uri not in self._verified:
                self._verified[part.uri] = self._problem(part)
            if self._verified[part.uri] is None:
                good[day] = (str(self.blobs.fetch(part.uri, self.cache_dir)), part.columns)
            else:
                self._rebuild(app_id, application, day, part.uri)
        return good

    def _stamp(self, part: _Partition) -> tuple[int, int] | None:
        try:
            stat = self.blobs.fetch(part.uri, self.cache_dir).stat()
        except Exception:  # noqa: BLE001 - gone or unreachable: check it again
            return None
        return stat.st_size, stat.st_mtime_ns

    def _unchanged(self, part: _Partition) -> bool:
        """Whether the file is still the one `_problem` found whole (one stat)."""
        stamp = self._stamp(part)
        return stamp is not None and self._stamps.get(part.uri) == stamp

    def _problem(self, part: _Partition) -> str | None:
        try:
            path = self.blobs.fetch(part.uri, self.cache_dir)
            stamp = self._stamp(part)
            if path.stat().st_size != part.bytes:
                return "file truncated or replaced"
            if pq.read_metadata(path).num_rows != part.rows:
                return "row count differs"
            self._stamps[part.uri] = stamp
        except FileNotFoundError:
            return "file missing"
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a bad partition
            return f"unreadable: {type(exc).__name__}"
        return None

    def _rebuild(self, app_id: int, application: str, day: int, uri: str) -> None:
        if self.exporter is None or (app_id, day) in self._rebuilding:
            return
        self._rebuilding.add((app_id, day))

        def run() -> None:
            try:
                # Nothing may have changed since the bad file was written: the
                # new one must win at the same change number too.
                self.exporter.export_day(application, day, replacing=uri)
            except Exception as exc:  # noqa: BLE001 - served from SQL meanwhile
                log.warning("rebuilding lake partition %s %s failed: %s", application, day, exc)
            finally:
                with self._lock:
                    self._rebuilding.discard((app_id, day))
                    self._mirrors.get(app_id, _Mirror()).synced_at = 0.0

        threading.Thread(target=run, name="gantry-lake-rebuild", daemon=True).start()

    # -- the tail ------------------------------------------------------------------

    def _tail_schema(self, fields: dict[str, Field]) -> pa.Schema:
        ordered = list(fields.values())
        return pa.schema([*_TAIL_BASE, *((f.column, ARROW_TYPES[f.kind]) for f in ordered)])

    def _update_tail(
        self, app_id: int, mirror: _Mirror, fields: dict[str, Field], lake: set[int], change: int
    ) -> None:
        """Make the tail table hold exactly the SQL rows of the days not in `lake`."""
        tail = f"gantry_tail_{app_id}"
        cursor = self._cursor
        arrow_schema = self._tail_schema(fields)
        if mirror.seen_change < 0:
            cursor.execute(f"DROP TABLE IF EXISTS {tail}")
            cursor.register("incoming", arrow_schema.empty_table())
            cursor.execute(f"CREATE TABLE {tail} AS SELECT * FROM incoming")
            cursor.unregister("incoming")
            self._fetch_into(cursor, tail, app_id, fields, _outside(lake), arrow_schema)
        else:
            for f in fields.values():
                if f.column not in mirror.tail_columns:
                    cursor.execute(
                        f"ALTER TABLE {tail} ADD COLUMN {f.column} {_DUCK_TYPES[f.kind]}"
                    )
            joined = set(mirror.lake) - lake  # now served from SQL
            for day in lake - set(mirror.lake):  # now served from the lake
                cursor.execute(
                    f"DELETE FROM {tail} WHERE hour_us >= ? AND hour_us < ?", [day, day + DAY_US]
                )
            if joined:
                ranges = [(day, day + DAY_US) for day in sorted(joined)]
                self._fetch_into(cursor, tail, app_id, fields, ranges, arrow_schema)
            table = self.catalog.table(app_id)
            changed = [table.c.change_seq > mirror.seen_change]
            self._fetch_into(cursor, tail, app_id, fields, _outside(lake), arrow_schema, changed)
        mirror.tail_columns = tuple(f.column for f in fields.values())
        mirror.seen_change = change

    def _fetch_into(
        self,
        cursor: duckdb.DuckDBPyConnection,
        tail: str,
        app_id: int,
        fields: dict[str, Field],
        ranges: list[tuple[int | None, int | None]],
        arrow_schema: pa.Schema,
        where: list | None = None,
    ) -> None:
        """Copy the SQL rows in `ranges` (and `where`) into the tail, replacing
        rows of the same join key."""
        table = self.catalog.table(app_id)
        hour = table.c.hour_us
        bounds = [
            sa.and_(
                *([hour >= low] if low is not None else []),
                *([hour < high] if high is not None else []),
            )
            for low, high in ranges
        ]
        if not bounds:
            return
        columns = [table.c[name] for name in RECORD_COLUMNS] + [
            table.c[f.column] for f in fields.values()
        ]
        stmt = sa.select(*columns).where(sa.or_(*bounds), *(where or []))
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=100_000).execute(stmt)
            for chunk in result.partitions():
                incoming = rows_to_arrow(chunk, arrow_schema)
                cursor.register("incoming", incoming)
                cursor.execute(
                    f"DELETE FROM {tail} WHERE join_key IN (SELECT join_key FROM incoming)"
                )
                cursor.execute(f"INSERT INTO {tail} BY NAME SELECT * FROM incoming")
                cursor.unregister("incoming")

    def _update_view(self, app_id: int, mirror: _Mirror, fields: dict[str, Field]) -> None:
        key = (tuple(sorted(mirror.lake.items())), mirror.lake_columns, mirror.tail_columns)
        if key == mirror.view_key:
            return
        names = column_names(fields)
        base = "join_key, timestamp_us, hour_us, version, logged_at_us, extra"
        tail_fields = "".join(f", {f.column}" for f in fields.values())
        parts = [f"SELECT {base}{tail_fields} FROM gantry_tail_{app_id}"]
        if mirror.lake:
            files = ", ".join(_literal(path) for path in mirror.lake.values())
            lake_fields = "".join(
                f", {_quote(names[f.column])} AS {f.column}"
                if names[f.column] in mirror.lake_columns
                else f", CAST(NULL AS {_DUCK_TYPES[f.kind]}) AS {f.column}"
                for f in fields.values()
            )
            parts.insert(
                0,
                'SELECT join_key, epoch_us("timestamp") AS timestamp_us, '
                f'epoch_us("timestamp") // {_HOUR_US} * {_HOUR_US} AS hour_us, version, '
                f"epoch_us(logged_at) AS logged_at_us, extra{lake_fields} "
                f"FROM read_parquet([{files}], union_by_name = true, hive_partitioning = false)",
            )
        name = schema.records_table_name(app_id)
        self._cursor.execute(f"CREATE OR REPLACE VIEW {name} AS {' UNION ALL '.join(parts)}")
        mirror.view_key = key

    def _drop(self, app_id: int) -> None:
        self._cursor.execute(f"DROP VIEW IF EXISTS {schema.records_table_name(app_id)}")
        self._cursor.execute(f"DROP TABLE IF EXISTS gantry_tail_{app_id}")
        self._mirrors[app_id] = _Mirror()


def _outside(days: set[int]) -> list[tuple[int | None, int | None]]:
    """Hour ranges covering every time outside `days` (open-ended at both ends)."""
    ranges: list[tuple[int | None, int | None]] = []
    low: int | None = None
    for day in sorted(days):
        if low is None or day > low:
            ranges.append((low, day))
        low = day + DAY_US
    ranges.append((low, None))
    return ranges
