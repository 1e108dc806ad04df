"""The read contract on DuckDB, fed by the Parquet lake and the SQL tail.

Why: aggregating a month of records on SQLite or PostgreSQL grows linearly
with rows (~1 s a refresh at 1M, ~6 s at 10M); DuckDB computes the same
numbers from its own columnar table in a fraction of that. The statements are
the SQL store's own: this class only swaps the engine that runs them for a
DuckDB one, where `gantry_records_<id>` is a table holding

- the days the lake serves, loaded from their Parquet files (10M records in
  ~6 s, against ~100 s through the SQL store's driver), and
- every other day (not exported yet, changed since its export, or whose file
  is missing or damaged) copied from SQL, kept current by the change counter.

Each day comes from exactly one of the two, so nothing is counted twice or
missed, and a record is visible as soon as the SQL store has it (the copy is
brought up to date at most `sync_seconds` apart, before a query). Why a table
rather than a view over the files: scanning Parquet on every query was 5-10x
slower than DuckDB's own storage (bench/dashboard_refresh.py), and the table
lives in a DuckDB file under the cache folder, so memory stays bounded by
`memory_limit` whatever the data's size. While an application has no exported
partition, its reads go to the SQL store. Aggregations are answered from
per-day answers kept in the same file where they can (day_partials.py): a
refresh scans only the days that changed since."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper

from ..blobs import BlobStore
from ..store import schema
from ..store.changes import current_change
from ..store.query import CompiledSelection, SqlRecordStore, selection_us
from ..store.schema import RECORD_COLUMNS, Field
from .day_partials import DayPartials, Rows
from .export import LakeExporter, changed_days, fetch_batches
from .layout import (
    DAY_US,
    column_names,
    day_name,
    day_start,
    file_uri,
    records_table_schema,
    rows_to_arrow,
)
from .mirror_file import Mirror, MirrorFile, describe, identity_of
from .state import file_sha256, read_state, tombstoned

log = logging.getLogger("gantry_gradio")
T = TypeVar("T")

_DUCK_TYPES = {"boolean": "BOOLEAN", "number": "DOUBLE", "text": "VARCHAR", "json": "VARCHAR"}
_HOUR_US = 3600 * 1_000_000
#: DuckDB's buffer pool while it loads lake files into its table (see `_load_files`).
LOAD_MEMORY_LIMIT = "200MB"
#: Where each SQL store puts NULLs in ORDER BY: SQLite first ascending,
#: PostgreSQL last ascending (and the other way round descending).
_NULL_ORDER = {
    "sqlite": "nulls_first_on_asc_last_on_desc",
    "postgresql": "nulls_last_on_asc_first_on_desc",
}


@dataclass
class _Windowed(CompiledSelection):
    """A selection compiled for the DuckDB table: its window kept apart from
    `where`, so an aggregation can be answered from per-day partials
    (day_partials.py) and the rest get the window back in `run_statement`."""

    app_id: int = 0
    window: tuple[int | None, int | None] = (None, None)


@dataclass(frozen=True)
class _Partition:
    day_us: int
    uri: str
    rows: int
    bytes: int
    columns: tuple[str, ...]
    sha256: str | None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class LakeRecordStore(SqlRecordStore):
    """`RecordStore` whose aggregations run on DuckDB (lake files + SQL tail), with
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
        memory_limit: str = "384MB",
    ) -> None:
        super().__init__(sql.engine, sql.catalog, sql.views)
        self.blobs = blobs
        self.cache_dir = Path(cache_dir)
        self.exporter = exporter
        self.sync_seconds = sync_seconds
        # NULLs sort where the SQL store sorts them (DuckDB's own default is
        # last either way), so `rows(order_by=...)` pages alike on both.
        null_order = _NULL_ORDER.get(sql.engine.dialect.name, "nulls_last_on_asc_first_on_desc")
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        store_key = f"{sql.engine.url.render_as_string(hide_password=False)}|{blobs.uri_for('')}"
        self._file = MirrorFile(self.cache_dir, store_key)
        self._memory_limit = memory_limit
        self._db = self._file.connect(
            {"memory_limit": memory_limit, "default_null_order": null_order}
        )
        # Each pooled connection is a cursor: its own connection to the same
        # in-memory database, safe to use from the thread that holds it.
        self.duck = sa.create_engine(
            "duckdb://", creator=lambda: ConnectionWrapper(self._db.cursor())
        )
        self._sql = sql
        #: application -> the error class of its last columnar failure, while
        #: its reads are answered from SQL (see `_retrying`).
        self._engine_failures: dict[str, str] = {}
        self._mirrors: dict[int, Mirror] = self._file.load(self._db)
        self._lock = threading.RLock()
        nulls_largest = null_order == "nulls_last_on_asc_first_on_desc"
        self._partials = DayPartials(self._db, self._lock, nulls_largest)
        self._partials.drop_unstamped(
            {app_id: describe(mirror) for app_id, mirror in self._mirrors.items()}
        )
        self._verified: dict[str, str | None] = {}  # uri -> None (good) or why not
        self._stamps: dict[str, tuple[int, int] | None] = {}  # uri -> (size, ctime) checked
        self._partition_uris: dict[tuple[int, int], str] = {}  # (app, day) -> current file
        self._rebuilding: set[tuple[int, int]] = set()
        self._cursor = self._db.cursor()  # for keeping DuckDB in step, under the lock

    def close(self) -> None:
        """Free DuckDB's memory and its file now rather than at exit."""
        self.duck.dispose()
        self._db.close()
        self._file.close()

    # -- what the tab shows about the engine ---------------------------------------

    def notes(self, application: str) -> list[str]:
        app_id = self.catalog.application_id(application)
        failed = self._engine_failures.get(application)
        if failed is not None:
            return [
                f"The columnar engine (DuckDB) failed ({failed}), e.g. a full disk under "
                "its cache folder: these numbers come from the SQL store, complete but slower."
            ]
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

    def compile_selection(
        self, selection: Any, engine: sa.Engine | None = None
    ) -> CompiledSelection:
        app_id = self.catalog.application_id(selection.application)
        if not self._sync(app_id, selection.application):
            return super().compile_selection(selection, self.engine)
        selection = self.resolve(selection)
        compiled = super().compile_selection(replace(selection, start=None, end=None), self.duck)
        return _Windowed(
            compiled.table,
            compiled.fields,
            compiled.where,
            compiled.engine,
            app_id=app_id,
            window=tuple(
                None if bound is None else selection_us(bound)
                for bound in (selection.start, selection.end)
            ),
        )

    def run_statement(self, compiled: CompiledSelection, stmt: sa.Select) -> Rows:
        if not isinstance(compiled, _Windowed):
            return super().run_statement(compiled, stmt)
        return self._partials.answer(
            compiled.app_id,
            compiled.table,
            compiled.window,
            stmt,
            lambda statement: SqlRecordStore.run_statement(self, compiled, statement),
        )

    def _retrying(method: Callable[..., T]) -> Callable[..., T]:  # noqa: N805 - decorator
        """A lake file deleted or damaged after it was checked fails the
        query: check the application's files again (a bad one is then served
        from SQL) and answer once more. If the columnar engine fails again
        (a full disk, no memory, a closed database), answer from the SQL
        store, and say so in `notes`: the tab stays up and right, only slower."""

        @functools.wraps(method)
        def wrapper(self: LakeRecordStore, selection: Any, *args: Any, **kwargs: Any) -> T:
            application = selection.application
            try:
                answer = method(self, selection, *args, **kwargs)
            except Exception as exc:
                if not _is_engine_failure(exc):
                    raise
                log.warning("lake query failed (%s); checking its files again", exc)
                try:
                    self._forget(application)
                    answer = method(self, selection, *args, **kwargs)
                except Exception as again:
                    if not _is_engine_failure(again):
                        raise
                    log.warning("lake engine failed again (%s); answering from SQL", again)
                    self._engine_failures[application] = type(again).__name__
                    return method(self._sql, selection, *args, **kwargs)
            self._engine_failures.pop(application, None)  # the note is about now only
            return answer

        return wrapper

    rows = _retrying(SqlRecordStore.rows)
    keys = _retrying(SqlRecordStore.keys)
    summary = _retrying(SqlRecordStore.summary)
    percent_true = _retrying(SqlRecordStore.percent_true)
    value_counts = _retrying(SqlRecordStore.value_counts)
    mean_over_time = _retrying(SqlRecordStore.mean_over_time)
    value_range = _retrying(SqlRecordStore.value_range)
    histogram = _retrying(SqlRecordStore.histogram)

    def stored_join_keys(self, application: str, join_keys: Sequence[str]) -> set[str]:
        """The SQL store's, and those only the lake holds (imported, or moved
        out of SQL by retention), from the DuckDB copy."""
        found = self._sql.stored_join_keys(application, join_keys)
        rest = [key for key in join_keys if key not in found]
        if not rest or not self.has_application(application):
            return found
        app_id = self.catalog.application_id(application)
        if not self._sync(app_id, application):
            return found
        table = schema.records_table_name(app_id)
        cursor = self._db.cursor()
        try:
            cursor.register("wanted", pa.table({"join_key": pa.array(rest, pa.string())}))
            rows = cursor.execute(
                f"SELECT join_key FROM {table} WHERE join_key IN (SELECT join_key FROM wanted)"
            ).fetchall()
        finally:
            cursor.close()
        return found | {key for (key,) in rows}

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
        """Bring the application's DuckDB table up to date; False when it
        has no usable partition (read it from SQL)."""
        with self._lock:
            mirror = self._mirrors.setdefault(app_id, Mirror())
            if time.monotonic() - mirror.synced_at < self.sync_seconds:
                return bool(mirror.lake)
            try:
                with self.engine.connect() as conn, conn.begin():  # one snapshot
                    change = current_change(conn, app_id)
                    identity = identity_of(conn, app_id)
                    watermark, pending = read_state(conn, app_id)
                    # (no export pass yet: every SQL day is dirty, imported days serve)
                    partitions = self._partitions(conn, app_id)
                    dirty = self._dirty_days(conn, app_id, watermark) if partitions else set()
            except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
                # a read-only store from before the lake has no lake tables
                log.debug("no lake for application %s: %s", application, exc)
                change, identity, pending, partitions, dirty = 0, None, set(), [], set()
            if mirror.identity != identity or change < mirror.seen_change:
                self._drop(app_id)  # kept for another database of the same URL
                mirror = self._mirrors[app_id]
            mirror.identity = identity
            usable = {p.day_us: p for p in partitions if p.day_us not in pending | dirty}
            lake = self._checked(app_id, application, usable)
            if not lake:
                self._drop(app_id)
                mirror = self._mirrors[app_id]
            else:
                fields = self.catalog.fields(app_id, refresh=True)
                # One DuckDB transaction: a panel querying meanwhile (the tab
                # runs them side by side) sees the table before or after, never
                # a day deleted and not yet loaded again.
                self._cursor.begin()
                try:
                    self._update_table(app_id, mirror, fields, lake, change)
                except BaseException:
                    self._cursor.rollback()
                    self._drop(app_id)  # start again from a clean mirror next time
                    raise
                self._cursor.commit()
            mirror.synced_at = time.monotonic()
            return bool(mirror.lake)

    def _partitions(self, conn: sa.Connection, app_id: int) -> list[_Partition]:
        """The application's partitions, each file by its URI in this blob
        store (the SQL store names them by key: see `file_uri`)."""
        t = schema.lake_partitions
        rows = conn.execute(
            sa.select(t.c.day_us, t.c.uri, t.c.rows, t.c.bytes, t.c.columns, t.c.sha256).where(
                t.c.application_id == app_id
            )
        )
        return [
            _Partition(day, file_uri(self.blobs, ref), n, size, tuple(json.loads(cols)), digest)
            for day, ref, n, size, cols, digest in rows
        ]

    def _dirty_days(self, conn: sa.Connection, app_id: int, watermark: int) -> set[int]:
        """Days with a change the lake's files cannot hold yet (an index range)."""
        return changed_days(conn, self.catalog.table(app_id), watermark)

    def _checked(
        self, app_id: int, application: str, usable: dict[int, _Partition]
    ) -> dict[int, tuple[str, tuple[str, ...]]]:
        """The usable partitions whose file is the one exported (its SHA-256
        as recorded at export); each file is checked once, and again when its
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
        # ctime, not mtime: any write or `touch` moves it, and no one can set it back
        return stat.st_size, stat.st_ctime_ns

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
            if part.sha256 is None:
                return "exported before content hashes were kept"
            trusted = stamp is not None and self._file.trusted(
                self._cursor, part.uri, stamp, part.sha256
            )
            if not trusted and file_sha256(path) != part.sha256:
                return "content differs from the export"  # its row count too, then
            if stamp is not None and not trusted:
                self._file.remember(self._cursor, part.uri, stamp, part.sha256)
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
                    self._mirrors.get(app_id, Mirror()).synced_at = 0.0

        threading.Thread(target=run, name="gantry-lake-rebuild", daemon=True).start()

    # -- the DuckDB table --------------------------------------------------------

    def _update_table(
        self,
        app_id: int,
        mirror: Mirror,
        fields: dict[str, Field],
        lake: dict[int, tuple[str, tuple[str, ...]]],
        change: int,
    ) -> None:
        """Make the table hold the lake's files for the days in `lake` and the
        SQL rows of every other day; only what changed since the last call is
        loaded again."""
        table = schema.records_table_name(app_id)
        arrow_schema = records_table_schema(fields)
        cursor = self._cursor
        if mirror.seen_change < 0:
            self._partials.invalidate(cursor, app_id, None)
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.register("incoming", arrow_schema.empty_table())
            cursor.execute(f"CREATE TABLE {table} AS SELECT * FROM incoming")
            cursor.unregister("incoming")
            self._load_files(table, fields, [(*lake[day], day) for day in sorted(lake)])
            self._copy_from_sql(table, app_id, fields, _outside(set(lake)), arrow_schema)
        else:
            for f in fields.values():
                if f.column not in mirror.columns:
                    cursor.execute(
                        f"ALTER TABLE {table} ADD COLUMN {f.column} {_DUCK_TYPES[f.kind]}"
                    )
            # A new file replaces its day's rows. A day leaving the lake (late
            # feedback made it dirty) keeps the rows it has: they are the day
            # as of `seen_change`, and the rows changed since are replaced
            # next, so a late feedback on a day of 300k records copies one
            # row, not the day.
            new_files = sorted(
                day for day, (path, _) in lake.items() if mirror.lake.get(day) != path
            )
            for day in new_files:
                cursor.execute(
                    f"DELETE FROM {table} WHERE hour_us >= ? AND hour_us < ?", [day, day + DAY_US]
                )
            self._partials.invalidate(cursor, app_id, new_files)
            self._load_files(table, fields, [(*lake[day], day) for day in new_files])
            self._drop_deleted(table, app_id, mirror.seen_change)
            changed = self.catalog.table(app_id).c.change_seq > mirror.seen_change
            self._copy_from_sql(
                table, app_id, fields, _outside(set(lake)), arrow_schema, changed, replacing=True
            )
        mirror.lake = {day: path for day, (path, _) in lake.items()}
        mirror.columns = tuple(f.column for f in fields.values())
        mirror.seen_change = change
        self._file.save(cursor, app_id, mirror)
        self._partials.stamp(cursor, app_id, describe(mirror))

    def _drop_deleted(self, table: str, app_id: int, after: int) -> None:
        """Records deleted on request since `after` (lake/forget.py), from
        whichever tier the copy took them."""
        deleted = tombstoned(self.engine, app_id, after)
        if deleted:
            self._cursor.register("deleted", pa.table({"join_key": pa.array(deleted, pa.string())}))
            self._partials.invalidate(self._cursor, app_id, self._days_of(table, "deleted"))
            self._cursor.execute(
                f"DELETE FROM {table} WHERE join_key IN (SELECT join_key FROM deleted)"
            )
            self._cursor.unregister("deleted")

    def _load_files(
        self,
        table: str,
        fields: dict[str, Field],
        files: list[tuple[str, tuple[str, ...], int]],
    ) -> None:
        """Insert lake files, their columns renamed to the table's, each
        file's rows of its own day only. A field no file has stays NULL
        (older days lack newer fields)."""
        if not files:
            return
        present = {column for _, columns, _ in files for column in columns}
        names = column_names(fields)
        renamed = "".join(
            f", {_quote(names[f.column])} AS {f.column}"
            for f in fields.values()
            if names[f.column] in present
        )
        paths = ", ".join(_literal(path) for path, _, _ in files)
        days = ", ".join(f"({_literal(path)}, {day})" for path, _, day in files)
        # Loading streams from the files: a smaller buffer pool for it keeps
        # the first process's peak down (10M records: +222 MiB, not +398)
        # and leaves the queries theirs (at 100M they need the larger one).
        self._cursor.execute(f"SET memory_limit = '{LOAD_MEMORY_LIMIT}'")
        try:
            self._insert_files(table, renamed, paths, days)
        finally:
            self._cursor.execute(f"SET memory_limit = '{self._memory_limit}'")

    def _insert_files(self, table: str, renamed: str, paths: str, days: str) -> None:
        self._cursor.execute(
            f"INSERT INTO {table} BY NAME "
            'SELECT join_key, epoch_us("timestamp") AS timestamp_us, '
            f'epoch_us("timestamp") // {_HOUR_US} * {_HOUR_US} AS hour_us, version, '
            f"epoch_us(logged_at) AS logged_at_us, extra{renamed} "
            f"FROM read_parquet([{paths}], union_by_name = true, hive_partitioning = false, "
            f"filename = true) AS files JOIN (VALUES {days}) AS expected(path, day_us) "
            "ON files.filename = expected.path "
            'WHERE epoch_us("timestamp") >= expected.day_us '
            f'AND epoch_us("timestamp") < expected.day_us + {DAY_US}'
        )

    def _copy_from_sql(
        self,
        table: str,
        app_id: int,
        fields: dict[str, Field],
        ranges: list[tuple[int | None, int | None]],
        arrow_schema: pa.Schema,
        where: sa.ColumnElement[bool] | None = None,
        *,
        replacing: bool = False,
    ) -> None:
        """Copy the SQL rows in the hour `ranges` (and `where`) into the
        table; `replacing` first deletes the table's rows of the same join
        keys (changed rows), which rows of days the table lacks need not."""
        source = self.catalog.table(app_id)
        hour = source.c.hour_us
        bounds = [
            sa.and_(
                *([hour >= low] if low is not None else []),
                *([hour < high] if high is not None else []),
            )
            for low, high in ranges
        ]
        if not bounds:
            return
        columns = [source.c[name] for name in RECORD_COLUMNS] + [
            source.c[f.column] for f in fields.values()
        ]
        stmt = sa.select(*columns).where(sa.or_(*bounds), *([] if where is None else [where]))
        cursor = self._cursor
        with self.engine.connect() as conn:
            for chunk in fetch_batches(conn, stmt, 100_000):
                incoming = rows_to_arrow(chunk, arrow_schema)
                cursor.register("incoming", incoming)
                if replacing:  # the days of the rows replaced and of their new versions
                    hours = incoming.column("hour_us").unique().to_pylist()
                    days = {day_start(hour) for hour in hours if hour is not None}
                    days |= set(self._days_of(table, "incoming"))
                    self._partials.invalidate(cursor, app_id, days)
                    cursor.execute(
                        f"DELETE FROM {table} WHERE join_key IN (SELECT join_key FROM incoming)"
                    )
                cursor.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
                cursor.unregister("incoming")

    def _days_of(self, table: str, keys: str) -> list[int]:
        """The days holding rows whose join keys are in the registered `keys`."""
        rows = self._cursor.execute(
            f"SELECT DISTINCT hour_us - hour_us % {DAY_US} FROM {table} "
            f"WHERE join_key IN (SELECT join_key FROM {keys})"
        ).fetchall()
        return [day for (day,) in rows]

    def _drop(self, app_id: int) -> None:
        self._partials.invalidate(self._cursor, app_id, None)
        self._cursor.execute(f"DROP TABLE IF EXISTS {schema.records_table_name(app_id)}")
        self._file.forget(self._cursor, app_id)
        self._mirrors[app_id] = Mirror()


def _is_engine_failure(exc: BaseException) -> bool:
    """A failure of DuckDB or of the files and disk it works on, not of the
    SQL store (whose errors reach the caller as they are)."""
    if isinstance(exc, sa.exc.DBAPIError):
        return isinstance(exc.orig, duckdb.Error)
    return isinstance(exc, (duckdb.Error, OSError, MemoryError))


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
