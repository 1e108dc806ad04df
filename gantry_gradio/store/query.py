"""Reading records back: rows as pandas, and aggregations computed in SQL.

Why aggregate in SQL: a month of production is millions of rows; the monitoring
tab needs a few dozen numbers from them, and shipping every row into pandas to
compute those is ~10x slower and grows the process by the data's size."""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from .._timestamps import MICROS
from .catalog import Catalog
from .filters import FilterError, field_column, parse_filter, time_bound, to_sql
from .flatten import from_column
from .schema import Field
from .views import ViewStore

BUCKETS = {"hour": 3600 * MICROS, "day": 86400 * MICROS, "week": 7 * 86400 * MICROS}
#: 1970-01-01 was a Thursday; shift by four days so weeks start on Monday.
_WEEK_ORIGIN = 4 * 86400 * MICROS
_SECTION_ORDER = {"inputs": 0, "outputs": 1, "feedback": 2, "tags": 3, "projections": 4}
#: More bins than a chart has pixels says nothing more, and each one is a row
#: built in memory: a caller asking for a billion would take the process down.
MAX_BINS = 1000


def check_bins(bins: Any, limit: int = MAX_BINS) -> int:
    """`bins` as an int from 1 to `limit`, or a ValueError that says so."""
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or not 1 <= bins <= limit:
        raise ValueError(f"bins must be a whole number from 1 to {limit:,}, not {bins!r}")
    return int(bins)


@dataclass
class Selection:
    """The rows a query or aggregation looks at: one application, a window, filters."""

    table: sa.Table
    fields: dict[str, Field]
    where: list[sa.ColumnElement[bool]]

    def column(self, field_name: str) -> tuple[sa.Column, str]:
        return field_column(field_name, self.table, self.fields)


class RecordReader:
    def __init__(self, engine: sa.Engine, catalog: Catalog, views: ViewStore) -> None:
        self.engine = engine
        self.catalog = catalog
        self.views = views

    def select(
        self,
        application: str,
        start: Any = None,
        end: Any = None,
        filters: list | None = None,
        view: str | None = None,
    ) -> Selection:
        """Resolve a view (its window unless start/end are given, its filters AND
        the given ones) into SQL conditions. The window is [start, end)."""
        app_id = self.catalog.application_id(application)
        fields = self.catalog.fields(app_id, refresh=True)
        table = self.catalog.table(app_id)
        parsed = [parse_filter(f) for f in filters or []]
        if view is not None:
            saved = self.views.get(application, view)
            start = saved.start_time if start is None else start
            end = saved.end_time if end is None else end
            parsed = saved.filters + parsed
        where = []
        if start is not None:
            where.append(table.c.timestamp_us >= time_bound(start, "start"))
        if end is not None:
            where.append(table.c.timestamp_us < time_bound(end, "end"))
        selection = Selection(table, fields, where)
        for f in parsed:
            column, kind = selection.column(f.field)
            where.append(to_sql(f, column, kind))
        return selection

    # -- rows ----------------------------------------------------------------------

    def rows(
        self,
        selection: Selection,
        *,
        limit: int | None,
        newest_first: bool,
        offset: int = 0,
        order_by: str | None = None,
        ascending: bool = True,
    ) -> pd.DataFrame:
        """In time order, or by `order_by` first (ties in time order)."""
        table = selection.table
        order = [table.c.timestamp_us.desc() if newest_first else table.c.timestamp_us]
        if order_by is not None:
            column, _ = selection.column(order_by)
            order.insert(0, column.asc() if ascending else column.desc())
        stmt = sa.select(table).where(*selection.where).order_by(*order, table.c.join_key)
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        return _to_frame(frame, selection.fields)

    def keys(self, selection: Selection, field: str | None = None) -> pd.DataFrame:
        """join_key (and `field`'s stored value as `value`) of every selected
        record in time order: what a sampler needs, without loading whole rows."""
        table = selection.table
        columns = [table.c.join_key]
        if field is not None:
            columns.append(selection.column(field)[0].label("value"))
        stmt = (
            sa.select(*columns)
            .where(*selection.where)
            .order_by(table.c.timestamp_us, table.c.join_key)
        )
        return self._frame(stmt, ["join_key", "value"][: len(columns)])

    # -- aggregations --------------------------------------------------------------

    def percent_true(self, selection: Selection, field: str, bucket: str) -> pd.DataFrame:
        """Per time bucket: predictions, how many have the field, how many are
        true, and the share of true among those that have it. SQL groups by the
        indexed hour; hours are summed into days or weeks here (at most a few
        thousand rows)."""
        column, kind = selection.column(field)
        if kind != "boolean":
            raise FilterError(f"percent_true needs a boolean field; {field!r} holds {kind}")
        hour = selection.table.c.hour_us
        stmt = (
            sa.select(
                hour,
                sa.func.count(),
                sa.func.count(column),
                sa.func.sum(sa.case((column.is_(True), 1), else_=0)),
            )
            .where(*selection.where)
            .group_by(hour)
            .order_by(hour)
        )
        hourly = self._frame(stmt, ["hour", "predictions", "count", "true"])
        hourly["start"] = _bucket_start(hourly["hour"].astype("int64"), bucket)
        frame = hourly.groupby("start", as_index=False)[["predictions", "count", "true"]].sum()
        frame = frame.astype({"predictions": "int64", "count": "int64", "true": "int64"})
        frame["percent_true"] = frame["true"] / frame["count"].where(frame["count"] > 0)
        frame["start"] = _to_times(frame["start"])
        return frame

    def summary(self, selection: Selection, fields: list[str]) -> dict[str, Any]:
        """Rows, and per field how many have it (and how many are true, for a
        boolean field), in one scan: the headline numbers of a dashboard."""
        columns = [sa.func.count().label("predictions")]
        known = [f for f in fields if f in selection.fields]
        for index, field in enumerate(known):
            column, kind = selection.column(field)
            columns.append(sa.func.count(column).label(f"n{index}"))
            if kind == "boolean":
                columns.append(
                    sa.func.sum(sa.case((column.is_(True), 1), else_=0)).label(f"t{index}")
                )
        with self.engine.connect() as conn:
            # select_from: with no field known yet and no window, nothing else
            # names the table, and a bare SELECT count(*) counts one row.
            stmt = sa.select(*columns).select_from(selection.table).where(*selection.where)
            row = conn.execute(stmt).one()._mapping
        result: dict[str, Any] = {"predictions": int(row["predictions"])}
        for index, field in enumerate(known):
            result[field] = {"count": int(row[f"n{index}"] or 0)}
            if f"t{index}" in row:
                result[field]["true"] = int(row[f"t{index}"] or 0)
        return result

    def mean_over_time(self, selection: Selection, field: str, bucket: str) -> pd.DataFrame:
        """Mean of a numeric field per bucket (from per-hour sums and counts)."""
        column, kind = selection.column(field)
        if kind != "number":
            raise FilterError(f"mean_over_time needs a numeric field; {field!r} holds {kind}")
        hour = selection.table.c.hour_us
        stmt = (
            sa.select(hour, sa.func.count(column), sa.func.sum(column))
            .where(*selection.where, column.is_not(None))
            .group_by(hour)
        )
        hourly = self._frame(stmt, ["hour", "count", "sum"])
        hourly["start"] = _bucket_start(hourly["hour"].astype("int64"), bucket)
        frame = hourly.groupby("start", as_index=False)[["count", "sum"]].sum()
        frame["mean"] = frame["sum"] / frame["count"]
        frame["start"] = _to_times(frame["start"])
        return frame[["start", "count", "mean"]]

    def value_counts(self, selection: Selection, field: str, bucket: str | None) -> pd.DataFrame:
        """Counts per value of a categorical field (e.g. `feedback.flag`), optionally per bucket."""
        column, _kind = selection.column(field)
        keys = [column] if bucket is None else [selection.table.c.hour_us, column]
        stmt = (
            sa.select(*keys, sa.func.count())
            .where(*selection.where, column.is_not(None))
            .group_by(*keys)
            .order_by(*keys)
        )
        if bucket is None:
            return self._frame(stmt, ["value", "count"])
        frame = self._frame(stmt, ["hour", "value", "count"])
        frame["start"] = _bucket_start(frame["hour"].astype("int64"), bucket)
        frame = frame.groupby(["start", "value"], as_index=False)["count"].sum()
        frame["start"] = _to_times(frame["start"])
        return frame

    def histogram(
        self,
        selection: Selection,
        field: str,
        bins: int,
        value_range: tuple[float, float] | None,
        split_by: str | None = None,
    ) -> pd.DataFrame:
        """Equal-width bins over [low, high]; the top edge belongs to the last bin.
        With `split_by`, one histogram per value of that field (rows without it
        left out), counted in the same scan."""
        # The baseline comparison counts on fine bins (50 per shown bin).
        bins = check_bins(bins, limit=MAX_BINS * 50)
        column, kind = selection.column(field)
        if kind != "number":
            raise FilterError(f"histogram needs a numeric field; {field!r} holds {kind}")
        if value_range is None:
            with self.engine.connect() as conn:
                value_range = tuple(
                    conn.execute(
                        sa.select(sa.func.min(column), sa.func.max(column)).where(*selection.where)
                    ).one()
                )
        low, high = value_range
        if low is None:
            return pd.DataFrame({"bin_start": [], "bin_end": [], "count": []})
        if high <= low:  # one distinct value: give it a unit-wide range
            high = low + 1.0
        width = (high - low) / bins
        index = sa.case(
            (column >= high, bins - 1), else_=self._floor((column - low) / width)
        ).label("bin")
        edges = pd.DataFrame(
            {
                "bin": range(bins),
                "bin_start": [low + i * width for i in range(bins)],
                "bin_end": [low + (i + 1) * width for i in range(bins)],
            }
        )
        where = [*selection.where, column >= low, column <= high]
        if split_by is None:
            stmt = sa.select(index, sa.func.count()).where(*where).group_by(index)
            counts = self._frame(stmt, ["bin", "count"])
            return self._on_edges(edges, counts).drop(columns="bin")
        by, _ = selection.column(split_by)
        stmt = (
            sa.select(by, index, sa.func.count()).where(*where, by.is_not(None)).group_by(by, index)
        )
        counts = self._frame(stmt, [split_by, "bin", "count"])
        parts = [
            self._on_edges(edges, group.drop(columns=split_by)).assign(**{split_by: value})
            for value, group in counts.groupby(split_by)
        ]
        return pd.concat(parts, ignore_index=True).drop(columns="bin") if parts else edges.iloc[:0]

    @staticmethod
    def _on_edges(edges: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
        """Every bin, with 0 where the store returned no row."""
        merged = edges.merge(counts, on="bin", how="left")
        return merged.assign(count=merged["count"].fillna(0).astype("int64"))

    def _floor(self, expression: sa.ColumnElement) -> sa.ColumnElement:
        # Values here are >= 0, where SQLite's CAST truncates to the floor;
        # PostgreSQL's CAST rounds, so it gets FLOOR.
        if self.engine.dialect.name == "sqlite":
            return sa.cast(expression, sa.Integer)
        return sa.cast(sa.func.floor(expression), sa.Integer)

    def _frame(self, stmt: sa.Select, columns: list[str]) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(stmt).fetchall(), columns=columns)


def _bucket_start(hours_us: pd.Series, bucket: str) -> pd.Series:
    """The start of the hour/day/week bucket each hour falls in (UTC)."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    width = BUCKETS[bucket]
    origin = _WEEK_ORIGIN if bucket == "week" else 0
    return (hours_us - origin) // width * width + origin


def _to_times(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("int64"), unit="us", utc=True)


def _to_frame(raw: pd.DataFrame, fields: dict[str, Field]) -> pd.DataFrame:
    """Typed columns back to dotted names, JSON decoded, `extra` laid over them."""
    by_column = {f.column: f for f in fields.values()}
    data: dict[str, Any] = {
        "timestamp": pd.to_datetime(raw["timestamp_us"].astype("int64"), unit="us", utc=True),
        "join_key": raw["join_key"],
        "version": raw["version"],
    }
    ordered = sorted(
        by_column.values(), key=lambda f: (_SECTION_ORDER.get(f.path.split(".")[0], 9), f.path)
    )
    for field in ordered:
        values = raw[field.column]
        data[field.path] = (
            values.map(lambda v, k=field.kind: from_column(v, k))
            if field.kind == "json"
            else values
        )
    return _with_extra(pd.DataFrame(data), raw["extra"])


def _with_extra(frame: pd.DataFrame, extra: pd.Series) -> pd.DataFrame:
    """Lay each row's `extra` values over the typed columns. Gathered per path
    first: a wide record keeps hundreds of values there, and adding them one
    cell at a time fragmented the frame (seconds for a page of such rows)."""
    by_path: dict[str, dict[Any, Any]] = {}
    for row_index, text in extra.items():
        if isinstance(text, str):  # None, or NaN once pandas saw only Nones
            for path, value in json.loads(text).items():
                by_path.setdefault(path, {})[row_index] = value
    new_paths = [path for path in by_path if path not in frame.columns]
    if new_paths:
        empty = pd.DataFrame(None, index=frame.index, columns=new_paths, dtype=object)
        frame = pd.concat([frame, empty], axis=1)
    for path, values in by_path.items():
        column = frame[path].astype(object)
        for row_index, value in values.items():
            column.at[row_index] = value
        frame[path] = column
    return frame
