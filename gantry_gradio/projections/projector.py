"""Computes projections for stored records, in batches, on its own thread.

Why after storage and not in the request path: models such as Detoxify take
milliseconds per text; the app must not wait for them. The projector finds
records whose `projections.<name>.status` is still empty, computes a batch,
and writes values and status back; progress therefore survives a restart, and
`compute` can resume an interrupted run where it stopped.

Reads (which records wait, their source values) go through the read contract
like every other reader. Writes do not: projection values are new columns of
stored records, which only the SQL store's catalog can add, so the write half
(`_store`, `_clear`) keeps the engine and catalog; a second engine would
receive projection values through its own ingest, not through this class."""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

import sqlalchemy as sa
from tqdm import tqdm

from .._timestamps import to_epoch_us
from ..store import Catalog, RecordStore, Selection
from ..store.changes import claim_change
from .registry import Projection

log = logging.getLogger("gantry_gradio")


class Projector:
    def __init__(
        self,
        store: RecordStore,
        engine: sa.Engine,
        catalog: Catalog,
        projections: list[Projection],
        *,
        batch_size: int = 64,
        poll_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.engine = engine
        self.catalog = catalog
        self.projections = projections
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    # -- background ----------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gantry-projector", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = sum(self.run_batch(app) for app in self.store.list_applications())
            except Exception as exc:  # the store may be down: retry on the next poll
                self.errors += 1
                log.warning("gantry_gradio: projections paused (%s: %s)", type(exc).__name__, exc)
                done = 0
            if not done:
                self._stop.wait(self.poll_seconds)

    # -- one batch -----------------------------------------------------------------

    def run_batch(self, application: str, start: Any = None, end: Any = None) -> int:
        """Project one batch of waiting records of `application` for every
        projection; return how many record-projections were computed."""
        return sum(self._project(application, p, start, end) for p in self.projections)

    def _waiting(
        self, application: str, projection: Projection, start: Any, end: Any
    ) -> Selection | None:
        """The records of [start, end) this projection has not seen, or None
        when the application has no such field (yet)."""
        fields = self.store.fields(application)
        if not all(f in fields for f in projection.fields):
            return None
        status = projection.status_column
        waiting = [(status, "is null")] if status in fields else []
        return Selection(application, start, end, None, waiting)

    def pending(
        self, application: str, projection: Projection, start: Any = None, end: Any = None
    ) -> int:
        waiting = self._waiting(application, projection, start, end)
        if waiting is None:
            return 0
        return self.store.summary(waiting, [])["predictions"]

    def _project(self, application: str, projection: Projection, start: Any, end: Any) -> int:
        waiting = self._waiting(application, projection, start, end)
        if waiting is None:
            return 0
        rows = self.store.rows(waiting, fields=projection.fields, limit=self.batch_size)
        if rows.empty:
            return 0
        columns = [[_missing_as_none(v) for v in rows[f].tolist()] for f in projection.fields]
        batch = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        try:
            results = projection.fn(batch)
            if len(results) != len(batch):
                raise ValueError(f"returned {len(results)} results for {len(batch)} values")
            statuses = ["ok" if result else "skipped: no text to project" for result in results]
        except Exception as exc:  # a failing projection must not stall the others
            self.errors += 1
            log.error("gantry_gradio: projection %r failed on a batch: %s", projection.name, exc)
            results = [{} for _ in batch]
            statuses = [f"error: {type(exc).__name__}: {exc}"[:500]] * len(batch)
        app_id = self.catalog.application_id(application)
        self._store(app_id, projection, rows["join_key"].tolist(), results, statuses)
        return len(rows)

    def _store(
        self,
        app_id: int,
        projection: Projection,
        keys: list[str],
        results: list[dict],
        statuses: list[str],
    ) -> None:
        kinds = {projection.column(v): "number" for v in projection.values}
        kinds[projection.status_column] = "text"
        fields = self.catalog.ensure_fields(app_id, kinds)
        table = self.catalog.table(app_id)
        columns = {path: fields[path].column for path in kinds if path in fields}
        params = []
        for key, result, status in zip(keys, results, statuses, strict=True):
            row = {"key": key, "status": status}
            for value in projection.values:
                number = result.get(value)
                ok = isinstance(number, (int, float)) and number == number  # drop NaN
                row[f"v_{value}"] = float(number) if ok else None
            params.append(row)
        assignments = {
            columns[projection.status_column]: sa.bindparam("status"),
            "change_seq": sa.bindparam("change"),
        }
        for value in projection.values:
            if projection.column(value) in columns:
                assignments[columns[projection.column(value)]] = sa.bindparam(f"v_{value}")
        stmt = table.update().where(table.c.join_key == sa.bindparam("key")).values(assignments)
        with self.engine.begin() as conn:
            change = claim_change(conn, app_id)
            conn.execute(stmt, [row | {"change": change} for row in params])

    # -- whole ranges --------------------------------------------------------------

    def compute(
        self,
        application: str,
        start: Any = None,
        end: Any = None,
        *,
        recompute: bool = False,
        progress: bool = True,
    ) -> int:
        """Project every waiting record of `application` in [start, end), with a
        progress bar. `recompute=True` first clears the statuses of the range, so
        all its records are projected again; if interrupted, call again without
        `recompute` to resume where it stopped."""
        self.store.fields(application)  # a clear error for an unknown app
        if recompute:
            self._clear(application, start, end)
        total = sum(self.pending(application, p, start, end) for p in self.projections)
        done = 0
        with tqdm(
            total=total, desc=f"projections for {application}", unit="record", disable=not progress
        ) as bar:
            while True:
                step = self.run_batch(application, start, end)
                if step == 0:
                    return done
                done += step
                bar.update(step)

    def _clear(self, application: str, start: Any, end: Any) -> None:
        app_id = self.catalog.application_id(application)
        fields = self.catalog.fields(app_id, refresh=True)
        table = self.catalog.table(app_id)
        where = []
        if start is not None:
            where.append(table.c.timestamp_us >= to_epoch_us(start, allow_future=True))
        if end is not None:
            where.append(table.c.timestamp_us < to_epoch_us(end, allow_future=True))
        for projection in self.projections:
            status = fields.get(projection.status_column)
            if status is None or not all(f in fields for f in projection.fields):
                continue
            with self.engine.begin() as conn:
                change = claim_change(conn, app_id)
                conn.execute(
                    table.update().where(*where).values({status.column: None, "change_seq": change})
                )


def _missing_as_none(value: Any) -> Any:
    """A missing value reads as NaN once pandas holds a numeric column; a
    projection is handed None for it, as for a missing text."""
    return None if isinstance(value, float) and math.isnan(value) else value
