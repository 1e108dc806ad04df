"""The read contract over SQLite and PostgreSQL: all SQL that reads records
(and baseline values) lives here.

Why aggregate in SQL: a month of production is millions of rows; the monitoring
tab needs a few dozen numbers from them, and shipping every row into pandas to
compute those is ~10x slower and grows the process by the data's size."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from . import schema
from .blob_refs import referenced_blobs
from .catalog import Catalog, UnknownApplicationError
from .contract import (
    MAX_FINE_BINS,
    RecordStore,
    Selection,
    bucket_start,
    check_bins,
    to_times,
)
from .filters import FilterError, field_column, to_sql
from .frames import to_frame
from .schema import RECORD_COLUMNS, Field, baseline_values
from .views import View, ViewStore

#: join_key IN (...) lists stay well under every database's parameter limit.
_KEYS_PER_QUERY = 500


@dataclass
class CompiledSelection:
    """A `Selection` as this engine runs it: the application's table, its
    fields, the WHERE conditions, and the engine that runs the statements
    (the SQL store's own, or a columnar one holding the same table)."""

    table: sa.Table
    fields: dict[str, Field]
    where: list[sa.ColumnElement[bool]]
    engine: sa.Engine

    def column(self, field_name: str) -> tuple[sa.Column, str]:
        return field_column(field_name, self.table, self.fields)


class SqlRecordStore(RecordStore):
    """`RecordStore` over SQLAlchemy Core. A selection compiles to WHERE
    conditions on the application's own table (one column per field), so
    filters and windows use its indexes; the catalog's cache keeps the
    per-read cost to one small query (the field list, which other processes
    may grow).

    The engine seam: every read goes through `compile_selection` (the
    selection as a table, fields and conditions, on an engine) and then
    `run_statement` (one SQLAlchemy statement to rows). Another engine holding
    the same table overrides these two and inherits every read's SQL: the lake
    (DuckDB, `lake/store.py`) and Spark (`lake/spark.py`) do."""

    def __init__(self, engine: sa.Engine, catalog: Catalog, views: ViewStore) -> None:
        self.engine = engine
        self.catalog = catalog
        self.views = views

    # -- applications, fields, views -----------------------------------------------

    def list_applications(self) -> list[str]:
        return self.catalog.application_names()

    def has_application(self, application: str) -> bool:
        try:
            self.catalog.application_id(application)
        except UnknownApplicationError:
            return False
        return True

    def fields(self, application: str) -> dict[str, str]:
        app_id = self.catalog.application_id(application)
        return {path: f.kind for path, f in self.catalog.fields(app_id, refresh=True).items()}

    def get_view(self, application: str, name: str) -> View:
        return self.views.get(application, name)

    def list_views(self, application: str) -> list[View]:
        return self.views.list(application)

    def compile_selection(
        self, selection: Selection, engine: sa.Engine | None = None
    ) -> CompiledSelection:
        """The application's table, its current fields, and the selection
        (its view written out) as SQL conditions. The window is [start, end)."""
        app_id = self.catalog.application_id(selection.application)
        fields = self.catalog.fields(app_id, refresh=True)
        table = self.catalog.table(app_id)
        selection = self.resolve(selection)
        where = []
        if selection.start is not None:
            where.append(table.c.timestamp_us >= selection_us(selection.start))
        if selection.end is not None:
            where.append(table.c.timestamp_us < selection_us(selection.end))
        compiled = CompiledSelection(table, fields, where, engine or self.engine)
        for f in selection.filters:
            column, kind = compiled.column(f.field)
            where.append(to_sql(f, column, kind))
        return compiled

    # -- records -------------------------------------------------------------------

    def rows(
        self,
        selection: Selection,
        *,
        fields: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
        order_by: str | None = None,
        ascending: bool = True,
    ) -> pd.DataFrame:
        compiled = self.compile_selection(selection)
        table = compiled.table
        known = compiled.fields
        if fields is not None:
            known = {path: known[path] for path in fields if path in known}
        base = [table.c[name] for name in RECORD_COLUMNS]
        columns = base + [table.c[f.column] for f in known.values()]
        order = [table.c.timestamp_us.desc() if newest_first else table.c.timestamp_us]
        if order_by is not None:
            column, _ = compiled.column(order_by)
            order.insert(0, column.asc() if ascending else column.desc())
        stmt = sa.select(*columns).where(*compiled.where).order_by(*order, table.c.join_key)
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        data, names = self.run_statement(compiled, stmt)
        frame = pd.DataFrame(data, columns=names)
        return to_frame(frame, known, None if fields is None else set(fields))

    def keys(self, selection: Selection, field: str | None = None) -> pd.DataFrame:
        compiled = self.compile_selection(selection)
        table = compiled.table
        columns = [table.c.join_key]
        if field is not None:
            columns.append(compiled.column(field)[0].label("value"))
        stmt = (
            sa.select(*columns)
            .where(*compiled.where)
            .order_by(table.c.timestamp_us, table.c.join_key)
        )
        return self._frame(compiled, stmt, ["join_key", "value"][: len(columns)])

    def referenced_blobs(self, application: str, join_keys: Sequence[str]) -> dict[str, set[str]]:
        try:
            app_id = self.catalog.application_id(application)
        except UnknownApplicationError:
            return {}
        return referenced_blobs(self.engine, app_id, join_keys)

    def feedback_events(self, application: str, join_key: str) -> pd.DataFrame:
        columns = ["timestamp", "feedback"]
        try:
            app_id = self.catalog.application_id(application)
        except UnknownApplicationError:
            return pd.DataFrame(columns=columns)
        events = schema.feedback_events.c
        stmt = (
            sa.select(events.timestamp_us, events.feedback)
            .where(events.application_id == app_id, events.join_key == join_key)
            .order_by(events.timestamp_us, events.event_id)
        )
        with self.engine.connect() as conn:
            found = conn.execute(stmt).all()
        return pd.DataFrame(
            {
                "timestamp": pd.to_datetime([row[0] for row in found], unit="us", utc=True),
                "feedback": [json.loads(row[1]) for row in found],
            },
            columns=columns,
        )

    def stored_join_keys(self, application: str, join_keys: Sequence[str]) -> set[str]:
        try:
            app_id = self.catalog.application_id(application)
        except UnknownApplicationError:
            return set()
        table = self.catalog.table(app_id)
        found: set[str] = set()
        with self.engine.connect() as conn:
            for at in range(0, len(join_keys), _KEYS_PER_QUERY):
                chunk = list(join_keys[at : at + _KEYS_PER_QUERY])
                found.update(
                    conn.scalars(sa.select(table.c.join_key).where(table.c.join_key.in_(chunk)))
                )
        return found

    # -- aggregations --------------------------------------------------------------

    def percent_true(self, selection: Selection, field: str, bucket: str) -> pd.DataFrame:
        """Per time bucket: predictions, how many have the field, how many are
        true, and the share of true among those that have it. SQL groups by the
        indexed hour; hours are summed into days or weeks here (at most a few
        thousand rows)."""
        compiled = self.compile_selection(selection)
        column, kind = compiled.column(field)
        if kind != "boolean":
            raise FilterError(f"percent_true needs a boolean field; {field!r} holds {kind}")
        hour = compiled.table.c.hour_us
        stmt = (
            sa.select(
                hour,
                sa.func.count(),
                sa.func.count(column),
                sa.func.sum(sa.case((column.is_(True), 1), else_=0)),
            )
            .where(*compiled.where)
            .group_by(hour)
            .order_by(hour)
        )
        hourly = self._frame(compiled, stmt, ["hour", "predictions", "count", "true"])
        hourly["start"] = bucket_start(hourly["hour"].astype("int64"), bucket)
        frame = hourly.groupby("start", as_index=False)[["predictions", "count", "true"]].sum()
        frame = frame.astype({"predictions": "int64", "count": "int64", "true": "int64"})
        frame["percent_true"] = frame["true"] / frame["count"].where(frame["count"] > 0)
        frame["start"] = to_times(frame["start"])
        return frame

    def summary(self, selection: Selection, fields: Sequence[str]) -> dict[str, Any]:
        """Rows, and per field how many have it (and how many are true, for a
        boolean field), in one scan: the headline numbers of a dashboard."""
        compiled = self.compile_selection(selection)
        columns = [sa.func.count().label("predictions")]
        known = [f for f in fields if f in compiled.fields]
        for index, field in enumerate(known):
            column, kind = compiled.column(field)
            columns.append(sa.func.count(column).label(f"n{index}"))
            if kind == "boolean":
                columns.append(
                    sa.func.sum(sa.case((column.is_(True), 1), else_=0)).label(f"t{index}")
                )
        # select_from: with no field known yet and no window, nothing else
        # names the table, and a bare SELECT count(*) counts one row.
        stmt = sa.select(*columns).select_from(compiled.table).where(*compiled.where)
        data, names = self.run_statement(compiled, stmt)
        row = dict(zip(names, data[0], strict=True))
        result: dict[str, Any] = {"predictions": int(row["predictions"])}
        for index, field in enumerate(known):
            result[field] = {"count": int(row[f"n{index}"] or 0)}
            if f"t{index}" in row:
                result[field]["true"] = int(row[f"t{index}"] or 0)
        return result

    def mean_over_time(self, selection: Selection, field: str, bucket: str) -> pd.DataFrame:
        """Mean of a numeric field per bucket (from per-hour sums and counts)."""
        compiled = self.compile_selection(selection)
        column, kind = compiled.column(field)
        if kind != "number":
            raise FilterError(f"mean_over_time needs a numeric field; {field!r} holds {kind}")
        hour = compiled.table.c.hour_us
        stmt = (
            sa.select(hour, sa.func.count(column), sa.func.sum(column))
            .where(*compiled.where, column.is_not(None))
            .group_by(hour)
        )
        hourly = self._frame(compiled, stmt, ["hour", "count", "sum"])
        hourly["start"] = bucket_start(hourly["hour"].astype("int64"), bucket)
        frame = hourly.groupby("start", as_index=False)[["count", "sum"]].sum()
        frame["mean"] = frame["sum"] / frame["count"]
        frame["start"] = to_times(frame["start"])
        return frame[["start", "count", "mean"]]

    def value_counts(self, selection: Selection, field: str, bucket: str | None) -> pd.DataFrame:
        """Counts per value of a categorical field (e.g. `feedback.flag`), optionally per bucket."""
        compiled = self.compile_selection(selection)
        column, _kind = compiled.column(field)
        keys = [column] if bucket is None else [compiled.table.c.hour_us, column]
        stmt = (
            sa.select(*keys, sa.func.count())
            .where(*compiled.where, column.is_not(None))
            .group_by(*keys)
            .order_by(*keys)
        )
        if bucket is None:
            return self._frame(compiled, stmt, ["value", "count"])
        frame = self._frame(compiled, stmt, ["hour", "value", "count"])
        frame["start"] = bucket_start(frame["hour"].astype("int64"), bucket)
        frame = frame.groupby(["start", "value"], as_index=False)["count"].sum()
        frame["start"] = to_times(frame["start"])
        return frame

    def histogram(
        self,
        selection: Selection,
        field: str,
        bins: int,
        value_range: tuple[float, float] | None = None,
        split_by: str | None = None,
        keep_missing: bool = False,
    ) -> pd.DataFrame:
        """Equal-width bins over [low, high]; the top edge belongs to the last bin.
        With `split_by`, one histogram per value of that field (rows without it
        left out unless `keep_missing`), counted in the same scan."""
        bins = check_bins(bins, limit=MAX_FINE_BINS)
        compiled = self.compile_selection(selection)
        column, kind = compiled.column(field)
        if kind != "number":
            raise FilterError(f"histogram needs a numeric field; {field!r} holds {kind}")
        if value_range is None:
            value_range = self._min_max(compiled, column)
        low, high = value_range
        if low is None:
            return pd.DataFrame({"bin_start": [], "bin_end": [], "count": []})
        if high <= low:  # one distinct value: give it a unit-wide range
            high = low + 1.0
        width = (high - low) / bins
        index = sa.case(
            (column >= high, bins - 1), else_=_floor((column - low) / width, compiled.engine)
        ).label("bin")
        edges = pd.DataFrame(
            {
                "bin": range(bins),
                "bin_start": [low + i * width for i in range(bins)],
                "bin_end": [low + (i + 1) * width for i in range(bins)],
            }
        )
        where = [*compiled.where, column >= low, column <= high]
        if split_by is None:
            stmt = sa.select(index, sa.func.count()).where(*where).group_by(index)
            counts = self._frame(compiled, stmt, ["bin", "count"])
            return self._on_edges(edges, counts).drop(columns="bin")
        by, _ = compiled.column(split_by)
        if not keep_missing:
            where.append(by.is_not(None))
        stmt = sa.select(by, index, sa.func.count()).where(*where).group_by(by, index)
        counts = self._frame(compiled, stmt, [split_by, "bin", "count"])
        parts = [
            self._on_edges(edges, group.drop(columns=split_by)).assign(**{split_by: value})
            for value, group in counts.groupby(split_by, dropna=False)
        ]
        if not parts:  # no record has the split field: no histogram, same columns
            return pd.DataFrame(columns=["bin_start", "bin_end", "count", split_by])
        return pd.concat(parts, ignore_index=True).drop(columns="bin")

    def value_range(self, selection: Selection, field: str) -> tuple[Any, Any]:
        compiled = self.compile_selection(selection)
        column, kind = compiled.column(field)
        if kind != "number":
            raise FilterError(f"{field!r} holds {kind} values; a range needs a numeric field")
        return self._min_max(compiled, column)

    def _min_max(self, compiled: CompiledSelection, column: sa.Column) -> tuple[Any, Any]:
        stmt = sa.select(sa.func.min(column), sa.func.max(column)).where(*compiled.where)
        ((low, high),) = self.run_statement(compiled, stmt)[0]
        return low, high

    @staticmethod
    def _on_edges(edges: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
        """Every bin, with 0 where the store returned no row."""
        merged = edges.merge(counts, on="bin", how="left")
        return merged.assign(count=merged["count"].fillna(0).astype("int64"))

    def _frame(
        self, compiled: CompiledSelection, stmt: sa.Select, columns: list[str]
    ) -> pd.DataFrame:
        return pd.DataFrame(self.run_statement(compiled, stmt)[0], columns=columns)

    def run_statement(self, compiled: CompiledSelection, stmt: sa.Select) -> tuple[list, list[str]]:
        """Rows and column names of one read statement. Every read of records
        runs through here: an engine that is not a SQLAlchemy one (Spark)
        overrides this and runs the same statement its own way."""
        with compiled.engine.connect() as conn:
            result = conn.execute(stmt)
            return result.fetchall(), list(result.keys())

    # -- baselines -----------------------------------------------------------------

    def baseline_values(self, application: str, baseline: str, path: str) -> np.ndarray:
        app_id = self.catalog.application_id(application)
        table = baseline_values
        stmt = sa.select(table.c.value).where(
            table.c.application_id == app_id, table.c.baseline == baseline, table.c.path == path
        )
        with self.engine.connect() as conn:
            return np.array(conn.scalars(stmt).all(), dtype=float)

    def save_baseline_values(
        self, application: str, baseline: str, values: dict[str, list[float]]
    ) -> None:
        """In one transaction: a reader never sees half of the old and half of the new set."""
        self.catalog.ensure_tables()
        app_id = self.catalog.ensure_application(application)
        table = baseline_values
        rows = [
            {"application_id": app_id, "baseline": baseline, "path": path, "value": value}
            for path, numbers in values.items()
            for value in numbers
        ]
        with self.engine.begin() as conn:
            conn.execute(
                table.delete().where(table.c.application_id == app_id, table.c.baseline == baseline)
            )
            if rows:
                conn.execute(table.insert(), rows)


def _floor(expression: sa.ColumnElement, engine: sa.Engine) -> sa.ColumnElement:
    # Values here are >= 0, where SQLite's CAST truncates to the floor;
    # PostgreSQL's and DuckDB's CAST round, so they get FLOOR.
    if engine.dialect.name == "sqlite":
        return sa.cast(expression, sa.Integer)
    return sa.cast(sa.func.floor(expression), sa.Integer)


def selection_us(when: pd.Timestamp) -> int:
    """A selection bound as the stored epoch microseconds."""
    return int(when.as_unit("us").asm8.astype("int64"))
