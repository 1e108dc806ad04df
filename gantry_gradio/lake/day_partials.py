"""Each aggregation's per-day results, kept in the lake engine's DuckDB file.

Why: at 100M records every panel of the tab scans its columns of every row
(0.2-0.9 s each on 2 cores) although only the newest days change. Every
aggregation the store runs is a grouped (or not) SELECT of count, sum, min and
max, so its answer over many days is the merge of its answers per day: this
keeps those per-day answers (keyed by the statement, filters included) and
computes only the days it lacks, in one scan grouped by day. A restarted app
finds them in the kept DuckDB file.

Correctness rests on two rules. Whatever changes a day's rows in the DuckDB
table deletes that day's partials in the same DuckDB transaction (the store
calls `invalidate`), so the file never holds a partial its table contradicts.
And a partial computed while a change committed is not kept: each change
bumps an in-memory generation per day, read before the scan and compared,
under the store's lock, before the partial is written. A kept file last
written by code that does not keep partials (an older version) is detected by
a stamp of the table's state and its partials are dropped.

Not decomposed (answered by one direct scan, as before): statements with
LIMIT, OFFSET, DISTINCT or HAVING, an aggregate other than count/sum/min/max,
an ORDER BY on an aggregate, a window shorter than a day, results with a
non-finite number, and statements whose per-day rows exceed MAX_PARTIAL_ROWS
(e.g. counts per join key: merging those would cost more than the scan)."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import Label, UnaryExpression
from sqlalchemy.sql.functions import FunctionElement

from .._timestamps import now_us
from .layout import DAY_US, day_start

log = logging.getLogger("gantry_gradio")

TABLE = "gantry_day_partials"
_STAMPS = "gantry_day_partials_stamp"
#: More partial rows than this for the days a statement lacks: answer it directly.
MAX_PARTIAL_ROWS = 200_000
#: Statements kept per application; the least recently computed go first.
MAX_STATEMENTS = 256

Rows = tuple[list, list[str]]
Run = Callable[[sa.Select], Rows]


@dataclass(frozen=True)
class Shape:
    """How rows of one statement merge across days: the positions of its
    group keys, each aggregate's position and kind, and its ORDER BY as
    (position, descending) over group keys."""

    keys: tuple[int, ...]
    aggregates: tuple[tuple[int, str], ...]
    order: tuple[tuple[int, bool], ...]


def shape_of(stmt: sa.Select) -> Shape | None:
    """The statement's Shape, or None when its answer is not a merge of
    per-day answers."""
    if (
        stmt._limit_clause is not None
        or stmt._offset_clause is not None
        or stmt._distinct
        or stmt._having_criteria
    ):
        return None
    grouped = [_bare(g) for g in stmt._group_by_clauses]
    keys, aggregates = [], []
    columns = [_bare(c) for c in stmt.selected_columns]
    for position, column in enumerate(columns):
        if isinstance(column, FunctionElement):
            if column.name not in ("count", "sum", "min", "max"):
                return None
            aggregates.append((position, column.name))
        elif any(column.compare(g) for g in grouped):
            keys.append(position)
        else:
            return None
    if not aggregates or len(keys) != len(grouped):
        return None
    order = []
    for clause in stmt._order_by_clauses:
        descending = isinstance(clause, UnaryExpression) and clause.modifier is operators.desc_op
        if isinstance(clause, UnaryExpression) and clause.modifier not in (
            operators.desc_op,
            operators.asc_op,
        ):
            return None  # NULLS FIRST/LAST and the like: not written by the store
        target = _bare(clause.element if isinstance(clause, UnaryExpression) else clause)
        found = [p for p in keys if columns[p].compare(target)]
        if not found:
            return None
        order.append((found[0], descending))
    return Shape(tuple(keys), tuple(aggregates), tuple(order))


def _bare(column: Any) -> Any:
    return column.element if isinstance(column, Label) else column


def merge(shape: Shape, parts: Iterable[list[Sequence]], nulls_largest: bool) -> list[tuple]:
    """One answer from per-day answers, rows in the statement's order."""
    groups: dict[tuple, list] = {}
    for rows in parts:
        for row in rows:
            key = tuple(row[p] for p in shape.keys)
            total = groups.get(key)
            if total is None:
                groups[key] = list(row)
                continue
            for position, kind in shape.aggregates:
                total[position] = _combine(kind, total[position], row[position])
    if not groups and not shape.keys:  # no row at all: what SQL gives an empty table
        width = max(p for p, _ in shape.aggregates) + 1
        empty = [None] * width
        for position, kind in shape.aggregates:
            empty[position] = 0 if kind == "count" else None
        return [tuple(empty)]
    merged = [tuple(row) for row in groups.values()]
    for position, descending in reversed(shape.order):
        null = (1,) if nulls_largest else (-1,)
        merged.sort(
            key=lambda r, p=position: null if r[p] is None else (0, r[p]), reverse=descending
        )
    return merged


def _combine(kind: str, a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if kind in ("count", "sum"):
        return a + b
    return min(a, b) if kind == "min" else max(a, b)


def _storable(rows: list[Sequence]) -> bool:
    """Whether every value survives JSON as itself (a DECIMAL, NaN or an
    integer beyond 64 bits would not): else the statement is answered directly."""
    return all(_storable_value(v) for row in rows for v in row)


def _storable_value(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    if kind is int:
        return -(2**63) <= value < 2**63
    return value is None or kind is bool or kind is str


class DayPartials:
    """The partials of one DuckDB file. `lock` is the store's: held while
    the table changes, and here while partials are checked and written."""

    def __init__(self, db: duckdb.DuckDBPyConnection, lock: threading.RLock, nulls_largest: bool):
        self._db = db
        self._lock = lock
        self._nulls_largest = nulls_largest
        self._generation: dict[tuple[int, int], int] = {}  # (app, day) -> changes seen
        self._app_generation: dict[int, int] = {}
        self._too_many: set[tuple[int, str]] = set()
        self._changes: dict[int, int] = {}  # app -> invalidations (see `_present_days`)
        #: app -> the days that may have rows: a day a change touched is added,
        #: a day emptied by deletions stays (it is then answered as empty).
        self._present: dict[int, set[int]] = {}
        self._writer = db.cursor()
        self._writer.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (app_id INTEGER, statement VARCHAR, "
            "day_us BIGINT, rows VARCHAR, computed_us BIGINT, "
            "PRIMARY KEY (app_id, statement, day_us))"
        )
        self._writer.execute(
            f"CREATE TABLE IF NOT EXISTS {_STAMPS} (app_id INTEGER PRIMARY KEY, stamp VARCHAR)"
        )

    # -- the store's side: changes to the table ----------------------------------

    def invalidate(
        self, cursor: duckdb.DuckDBPyConnection, app_id: int, days: Iterable[int] | None
    ) -> None:
        """Inside the transaction that changes these days' rows (None: all)."""
        self._changes[app_id] = self._changes.get(app_id, 0) + 1
        if days is None:
            self._present.pop(app_id, None)
            cursor.execute(f"DELETE FROM {TABLE} WHERE app_id = ?", [app_id])
            self._app_generation[app_id] = self._app_generation.get(app_id, 0) + 1
            self._too_many = {k for k in self._too_many if k[0] != app_id}
            return
        days = sorted(set(days))
        if not days:
            return
        if app_id in self._present:
            self._present[app_id].update(days)
        for day in days:
            self._generation[(app_id, day)] = self._generation.get((app_id, day), 0) + 1
        cursor.execute(
            f"DELETE FROM {TABLE} WHERE app_id = ? AND day_us IN (SELECT unnest(?))",
            [app_id, days],
        )

    def stamp(self, cursor: duckdb.DuckDBPyConnection, app_id: int, state: str) -> None:
        """Inside the transaction that saved the table's state: the partials
        belong to that state."""
        cursor.execute(f"INSERT OR REPLACE INTO {_STAMPS} VALUES (?, ?)", [app_id, _digest(state)])

    def drop_unstamped(self, states: dict[int, str]) -> None:
        """At opening: partials of a table whose state was saved without
        them (by older code) may not match it."""
        stamps = dict(self._writer.execute(f"SELECT app_id, stamp FROM {_STAMPS}").fetchall())
        for app_id in {
            row[0]
            for row in self._writer.execute(f"SELECT DISTINCT app_id FROM {TABLE}").fetchall()
        }:
            if app_id not in states or stamps.get(app_id) != _digest(states[app_id]):
                self.invalidate(self._writer, app_id, None)

    # -- the reader's side ---------------------------------------------------------

    def answer(
        self,
        app_id: int,
        table: sa.Table,
        window: tuple[int | None, int | None],
        stmt: sa.Select,
        run: Run,
    ) -> Rows:
        """The statement over `window` ([start, end) in µs, None: open),
        from kept partials where it can, else by scanning."""
        time = table.c.timestamp_us
        start, end = window
        direct = stmt.where(
            *([time >= start] if start is not None else []),
            *([time < end] if end is not None else []),
        )
        try:
            shape = shape_of(stmt)
            key = _statement_key(stmt, table) if shape is not None else ""
        except (AttributeError, sa.exc.SQLAlchemyError):  # a construct not foreseen here
            shape = None
        if shape is None or (app_id, key) in self._too_many:
            return run(direct)
        hour = table.c.hour_us
        present = self._present_days(app_id, hour, run)
        whole_from = None if start is None else -(-start // DAY_US) * DAY_US
        whole_to = None if end is None else day_start(end)
        days = sorted(
            d
            for d in present
            if (whole_from is None or d >= whole_from) and (whole_to is None or d < whole_to)
        )
        if not days:
            return run(direct)  # less than a day of data: nothing worth keeping
        with self._lock:
            seen = self._generations(app_id, days)
        kept = self._read(app_id, key, days[0], days[-1] + DAY_US)
        missing = [d for d in days if d not in kept]
        edges = []  # the window's partial first and last days
        if whole_from is not None and start < whole_from and day_start(start) in present:
            edges.append(sa.and_(time >= start, time < whole_from))
        if whole_to is not None and whole_to < end and whole_to in present:
            edges.append(sa.and_(time >= whole_to, time < end))
        conditions = [*_runs(hour, missing), *edges]
        names = next(iter(kept.values()))[0] if kept else None
        parts = [rows for _, rows in kept.values()]
        if conditions:
            day = (hour - hour % DAY_US).label("gantry_day")
            scan = (
                stmt.add_columns(day)
                .group_by(day)
                .order_by(None)
                .where(sa.or_(*conditions))
                .limit(MAX_PARTIAL_ROWS + 1)
            )
            found, names = run(scan)
            rows = [tuple(row) for row in found]
            names = names[:-1]
            if len(rows) > MAX_PARTIAL_ROWS:
                self._too_many.add((app_id, key))
                return run(direct)
            if not _storable(rows):
                return run(direct)
            by_day: dict[int, list] = {d: [] for d in missing}
            edge_rows = []
            for row in rows:
                values = list(row[:-1])
                (by_day[row[-1]] if row[-1] in by_day else edge_rows).append(values)
            self._keep(app_id, key, names, by_day, seen)
            parts.extend(by_day.values())
            parts.append(edge_rows)
        elif not _storable([r for part in parts for r in part]):
            return run(direct)
        return merge(shape, parts, self._nulls_largest), names

    def _present_days(self, app_id: int, hour: sa.Column, run: Run) -> set[int]:
        """The days the table may have rows for: one pass over its hour column
        (~50 ms at 100M) the first time, then kept up to date by `invalidate`."""
        with self._lock:
            changes = self._changes.get(app_id, 0)
            known = self._present.get(app_id)
            if known is not None:
                return set(known)
        hours = run(sa.select(hour).distinct())[0]
        days = {day_start(h) for (h,) in hours if h is not None}
        with self._lock:
            if self._changes.get(app_id, 0) == changes:  # else a change came meanwhile
                self._present[app_id] = days
        return days

    def _generations(self, app_id: int, days: Iterable[int]) -> tuple[int, dict[int, int]]:
        return self._app_generation.get(app_id, 0), {
            d: self._generation.get((app_id, d), 0) for d in days
        }

    def _read(self, app_id: int, key: str, low: int, high: int) -> dict[int, tuple[list, list]]:
        cursor = self._db.cursor()
        try:
            found = cursor.execute(
                f"SELECT day_us, rows FROM {TABLE} WHERE app_id = ? AND statement = ? "
                "AND day_us >= ? AND day_us < ?",
                [app_id, key, low, high],
            ).fetchall()
        finally:
            cursor.close()
        out = {}
        for day, text in found:
            kept = orjson.loads(text)
            out[day] = (kept["names"], kept["rows"])
        return out

    def _keep(
        self,
        app_id: int,
        key: str,
        names: list[str],
        by_day: dict[int, list],
        seen: tuple[int, dict[int, int]],
    ) -> None:
        """Write the partials of days no change touched since `seen`."""
        with self._lock:
            app_now, days_now = self._generations(app_id, by_day)
            if app_now != seen[0]:
                return
            fresh = [d for d in by_day if days_now[d] == seen[1][d]]
            if not fresh:
                return
            kept = pa.table(
                {
                    "app_id": pa.array([app_id] * len(fresh), pa.int32()),
                    "statement": [key] * len(fresh),
                    "day_us": pa.array(fresh, pa.int64()),
                    "rows": [
                        orjson.dumps({"names": names, "rows": by_day[d]}).decode() for d in fresh
                    ],
                    "computed_us": pa.array([now_us()] * len(fresh), pa.int64()),
                }
            )
            self._writer.register("gantry_kept_partials", kept)
            try:
                self._writer.execute(
                    f"INSERT OR REPLACE INTO {TABLE} SELECT * FROM gantry_kept_partials"
                )
                self._prune(app_id)
            except duckdb.Error as exc:  # e.g. a full disk: the answer stands, unkept
                log.warning("gantry_gradio: could not keep per-day answers: %s", exc)
            finally:
                self._writer.unregister("gantry_kept_partials")

    def _prune(self, app_id: int) -> None:
        self._writer.execute(
            f"DELETE FROM {TABLE} WHERE app_id = ? AND statement IN ("
            f"SELECT statement FROM {TABLE} WHERE app_id = ? GROUP BY statement "
            f"ORDER BY max(computed_us) DESC OFFSET {MAX_STATEMENTS})",
            [app_id, app_id],
        )


def _runs(hour: sa.Column, days: list[int]) -> list[sa.ColumnElement[bool]]:
    """Conditions for the days, contiguous ones as one range (zone maps skip
    the rest of the table)."""
    out: list[sa.ColumnElement[bool]] = []
    run_start = previous = None
    for day in days + [None]:
        if day is not None and previous is not None and day == previous + DAY_US:
            previous = day
            continue
        if run_start is not None:
            out.append(sa.and_(hour >= run_start, hour < previous + DAY_US))
        run_start = previous = day
    return out


def _statement_key(stmt: sa.Select, table: sa.Table) -> str:
    """The statement as DuckDB would run it, its parameters included."""
    compiled = stmt.compile()
    params = sorted((k, repr(v)) for k, v in compiled.params.items())
    text = f"{table.name}\n{compiled}\n{json.dumps(params)}"
    return hashlib.sha256(text.encode()).hexdigest()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
