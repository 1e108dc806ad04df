"""Application ids, field columns and schema growth, cached per engine."""

from __future__ import annotations

import threading
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from .._timestamps import now_us
from . import schema
from .schema import KIND_TYPES, Field

#: Columns an application's table may grow, per section of the record.
#: PostgreSQL allows 1600 columns a table; fields past their section's budget
#: stay in the row's `extra` JSON. Why per section: one wide input (an
#: anonymous gr.JSON, a 1,000-class label) must never use up the room that
#: feedback, tags and projections added later need for their columns.
SECTION_FIELD_BUDGETS = {
    "inputs": 350,
    "outputs": 350,
    "tags": 100,
    "feedback": 100,
    "projections": 100,
}
#: Numeric/boolean fields covered by the metrics index (PostgreSQL allows 32
#: columns, two of which are the hour and the timestamp).
MAX_METRIC_INDEX_COLUMNS = 30


class UnknownApplicationError(LookupError):
    """Raised when querying an application that has never logged anything."""


class Catalog:
    """Why a cache: the writer checks fields for every batch and the catalog only
    ever grows, so a miss (a new field or application) is the only time to ask
    the database; another process may have added it, so a miss re-reads first."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._lock = threading.RLock()
        self._tables_ready = False
        self._app_ids: dict[str, int] = {}
        self._fields: dict[int, dict[str, Field]] = {}
        self._tables: dict[int, sa.Table] = {}

    def ensure_tables(self) -> None:
        """Threads of this process take turns; another process racing us shows
        as "already exists", after which a second pass finds everything there."""
        with self._lock:
            if self._tables_ready:
                return
            try:
                schema.metadata.create_all(self.engine)
            except (IntegrityError, OperationalError, ProgrammingError):
                schema.metadata.create_all(self.engine)
            self._add_change_columns()
            self._add_column(schema.lake_partitions.name, "sha256", "VARCHAR(64)")
            self._add_column(schema.lake_state.name, "retention_days", "INTEGER")
            self._add_column(
                schema.feedback_events.name,
                "change_seq",
                "BIGINT",
                index=("ix_gantry_feedback_change", "application_id, change_seq"),
            )
            self._tables_ready = True

    def _add_column(
        self, table: str, column: str, sql_type: str, *, index: tuple[str, str] | None = None
    ) -> None:
        """A column a later version added to a state table (NULL in old
        rows), and the index (name, columns) that goes with it."""
        if column in {c["name"] for c in sa.inspect(self.engine).get_columns(table)}:
            return
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
                if index is not None:
                    conn.exec_driver_sql(f"CREATE INDEX {index[0]} ON {table} ({index[1]})")
        except (OperationalError, ProgrammingError):
            pass  # read-only, or another process added it first

    def _add_change_columns(self) -> None:
        """Stores written before change tracking lack its columns: add them
        (rows written before read as changed at 0, which the first lake
        export takes in whole). A read-only store is left as it is; it is
        read through the SQL path only."""
        inspector = sa.inspect(self.engine)
        missing = {
            table: index
            for table, index in [(schema.applications.name, None)]
            + [
                (name, f"ix_{name}_change")
                for name in inspector.get_table_names()
                if name.startswith("gantry_records_")
            ]
            if "change_seq" not in {c["name"] for c in inspector.get_columns(table)}
        }
        for table, index in missing.items():
            column = "BIGINT" if index else "BIGINT NOT NULL DEFAULT 0"
            try:
                with self.engine.begin() as conn:
                    conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN change_seq {column}")
                    if index:
                        conn.exec_driver_sql(f"CREATE INDEX {index} ON {table} (change_seq)")
            except (OperationalError, ProgrammingError):
                pass  # read-only, or another process added it first

    # -- applications --------------------------------------------------------------

    def application_id(self, name: str) -> int:
        """The id of an application that exists; raise a clear error otherwise."""
        with self._lock:
            if name in self._app_ids:
                return self._app_ids[name]
            if not isinstance(name, str) or "\x00" in name:
                # no stored name can hold NUL (log_record refuses it), and
                # PostgreSQL would answer with a raw error instead
                raise UnknownApplicationError(f"application {name!r} has no records in this store")
            self.ensure_tables()
            with self.engine.connect() as conn:
                app_id = conn.scalar(
                    sa.select(schema.applications.c.id).where(schema.applications.c.name == name)
                )
            if app_id is None:
                known = ", ".join(self.application_names()) or "none yet"
                raise UnknownApplicationError(
                    f"application {name!r} has no records in this store (known: {known})"
                )
            self._app_ids[name] = app_id
            return app_id

    def application_names(self) -> list[str]:
        self.ensure_tables()
        with self.engine.connect() as conn:
            return list(conn.scalars(sa.select(schema.applications.c.name).order_by("name")))

    def ensure_application(self, name: str) -> int:
        try:
            return self.application_id(name)
        except UnknownApplicationError:
            pass
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    app_id = conn.execute(
                        schema.applications.insert().values(name=name, created_at_us=now_us())
                    ).inserted_primary_key[0]
                    schema.records_table(app_id, []).create(conn)
                    self._rebuild_metrics_index(conn, schema.records_table_name(app_id), [])
            except IntegrityError:
                pass  # created concurrently by another process
            return self.application_id(name)

    # -- fields --------------------------------------------------------------------

    def fields(self, app_id: int, *, refresh: bool = False) -> dict[str, Field]:
        with self._lock:
            if refresh or app_id not in self._fields:
                with self.engine.connect() as conn:
                    rows = conn.execute(
                        sa.select(schema.fields.c.id, schema.fields.c.path, schema.fields.c.kind)
                        .where(schema.fields.c.application_id == app_id)
                        .order_by(schema.fields.c.id)
                    )
                    current = {path: Field(path, kind, f"f{fid}") for fid, path, kind in rows}
                # Readers refresh on every read: rebuild the table object only
                # when a field was added, not once per query.
                if current != self._fields.get(app_id):
                    self._fields[app_id] = current
                    self._tables.pop(app_id, None)
            return self._fields[app_id]

    def table(self, app_id: int) -> sa.Table:
        with self._lock:
            current = self.fields(app_id)
            if app_id not in self._tables:
                self._tables[app_id] = schema.records_table(app_id, list(current.values()))
            return self._tables[app_id]

    def ensure_fields(self, app_id: int, kinds: dict[str, str]) -> dict[str, Field]:
        """Add a column for each path not seen before, with the kind of its first
        value. Past its section's budget, a new path gets no column (the writer
        keeps it in `extra`)."""
        with self._lock:
            current = self.fields(app_id)  # read first: a record may bring no field at all
            if all(path in current for path in kinds):
                return current
            known = self.fields(app_id, refresh=True)
            used = Counter(map(_section, known))
            granted = {}
            for path, kind in kinds.items():
                section = _section(path)
                if path in known or used[section] >= SECTION_FIELD_BUDGETS.get(section, 0):
                    continue
                used[section] += 1
                granted[path] = kind
            if granted:
                try:
                    self._add_columns(app_id, granted)
                except IntegrityError:
                    pass  # another process added some of them; re-read below
            return self.fields(app_id, refresh=True)

    def _add_columns(self, app_id: int, kinds: dict[str, str]) -> None:
        table_name = schema.records_table_name(app_id)
        metrics_before = self._metric_columns(self._fields[app_id].values())
        added = []
        with self.engine.begin() as conn:
            for path, kind in kinds.items():
                field_id = conn.execute(
                    schema.fields.insert().values(application_id=app_id, path=path, kind=kind)
                ).inserted_primary_key[0]
                added.append(Field(path, kind, f"f{field_id}"))
                sql_type = KIND_TYPES[kind].compile(dialect=self.engine.dialect)
                # Both names are generated from integers: no user text in DDL.
                conn.exec_driver_sql(f"ALTER TABLE {table_name} ADD COLUMN f{field_id} {sql_type}")
            metrics = self._metric_columns([*self._fields[app_id].values(), *added])
            if metrics != metrics_before:
                self._rebuild_metrics_index(conn, table_name, metrics)

    @staticmethod
    def _metric_columns(field_list) -> list[str]:
        numeric = [f for f in field_list if f.kind in ("number", "boolean")]
        ordered = sorted(numeric, key=lambda f: int(f.column[1:]))
        return [f.column for f in ordered][:MAX_METRIC_INDEX_COLUMNS]

    def _rebuild_metrics_index(
        self, conn: sa.Connection, table_name: str, columns: list[str]
    ) -> None:
        """A covering index led by the hour, then the timestamp and the numeric
        and boolean fields: time series scan it in order instead of the wide
        rows and need no sort (4x faster at 1M rows on SQLite)."""
        name = f"ix_{table_name}_metrics"
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        covered = ", ".join(["timestamp_us", *columns])
        if self.engine.dialect.name == "postgresql":
            conn.exec_driver_sql(
                f"CREATE INDEX {name} ON {table_name} (hour_us) INCLUDE ({covered})"
            )
        else:
            conn.exec_driver_sql(f"CREATE INDEX {name} ON {table_name} (hour_us, {covered})")


def _section(path: str) -> str:
    return path.split(".", 1)[0]
