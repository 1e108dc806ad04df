"""The monitoring tab's bench data set and the helpers that compare analytics
engines on it; bench/dashboard_refresh.py drives them.

- `prepare`: a month of predictions (2022-04) with feedback, flags, tags and
  the output-length projection with a registered baseline and the
  investigation's view, seeded through the public bulk path
  (`Client.log_records` with columns, as bench/ingest.py drives it) in chunks,
  so 10,000,000 records take minutes and bounded memory.
- `NativeDuckStore`: the SQL store's own statements run by DuckDB on a native
  DuckDB table loaded once from the SQL records table and never synced (the
  mechanism `LakeRecordStore` uses, without its lake files, SQL tail and
  sync), the reference for what the lake store costs over plain DuckDB.
- `reset_lake`, `late_feedback`: an export from scratch, and one changed day.
- `python bench/lake.py --rss-probe sql|lake --store URL --work DIR`: a fresh
  process that refreshes the whole tab and prints its RSS before and its peak
  during the refreshes (VmHWM reset through /proc/self/clear_refs), as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper

sys.path.insert(0, str(Path(__file__).parent.parent))
from gantry_gradio import Client, UnknownApplicationError  # noqa: E402
from gantry_gradio.dashboard import panels  # noqa: E402
from gantry_gradio.lake.export import fetch_batches  # noqa: E402
from gantry_gradio.lake.layout import records_table_schema, rows_to_arrow  # noqa: E402
from gantry_gradio.store import SqlRecordStore, schema  # noqa: E402

APP = "agg-app"  # the name bench/aggregate.py's stores use
ACCEPTED, FLAG = "feedback.correction_accepted", "feedback.flag"
LENGTH = "projections.entropy.chars"
TAG = "tags.account_age_days"
VIEW = "young-week-3"
DAY_US = 86_400_000_000
START_US = 1_648_771_200_000_000  # 2022-04-01
FLAGS = ("incorrect", "offensive", "other")
#: Records per log_records call; the next chunk is built while the worker stores this one.
CHUNK = 100_000


def scopes() -> dict[str, panels.Scope]:
    return {"whole month": panels.Scope(APP), f"view {VIEW}": panels.Scope(APP, view=VIEW)}


def refresh(client, scope: panels.Scope) -> panels.Snapshot:
    """The whole tab: every panel's queries, side by side, as the tab runs them."""
    return panels.snapshot(
        client, scope, accepted_field=ACCEPTED, flag_field=FLAG, tag=TAG, projection=LENGTH
    )


# -- the data set ----------------------------------------------------------------------


def stored_records(client: Client) -> int:
    try:
        table = client.catalog.table(client.catalog.application_id(APP))
    except UnknownApplicationError:
        return 0
    with client.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def is_prepared(client: Client) -> bool:
    """The view is made last: a store whose seeding was cut short has none."""
    try:
        return any(v.name == VIEW for v in client.list_views(APP))
    except UnknownApplicationError:
        return False


def _chunk(rng: np.random.Generator, at: int, count: int, step_us: int) -> dict:
    """log_records arguments for records at..at+count: bench/aggregate.py's
    distribution (age uniform in 0..400; accepted 30% for accounts <= 7 days
    old, 90% otherwise; one in 50 flagged, one of three categories)."""
    n = min(CHUNK, count - at)
    ages = rng.integers(0, 401, n)
    accepted = (rng.random(n) < np.where(ages <= 7, 0.3, 0.9)).tolist()
    flagged = (rng.random(n) < 0.02).tolist()
    kinds = rng.integers(0, len(FLAGS), n).tolist()
    ids = range(at, at + n)
    stamps = START_US + np.arange(at, at + n, dtype=np.int64) * step_us
    return {
        "inputs": [{"text": f"She go to school number {i} every days."} for i in ids],
        "outputs": [{"inference": f"She goes to school number {i} every day."} for i in ids],
        "tags": [
            {"env": "prod", "username": f"user{i % 500}", "account_age_days": age}
            for i, age in zip(ids, ages.tolist(), strict=True)
        ],
        "feedbacks": [
            {"correction_accepted": ok, "flag": FLAGS[kind]}
            if flag
            else {"correction_accepted": ok}
            for ok, flag, kind in zip(accepted, flagged, kinds, strict=True)
        ],
        "timestamps": (stamps / 1e6).tolist(),  # seconds: the bulk path's number form
    }


def seed(client: Client, count: int) -> float:
    """Through the public bulk path: one log_records call per CHUNK records,
    at most one chunk waiting in the spool (built while the worker stores
    the previous one). Returns the seconds it took."""
    from tqdm import tqdm

    rng = np.random.default_rng(3)
    step_us = 30 * DAY_US // count
    started = time.perf_counter()
    with tqdm(total=count, desc="seeding", unit_scale=True, file=sys.stderr) as bar:
        for at in range(0, count, CHUNK):
            columns = _chunk(rng, at, count, step_us)
            if not client.flush(3600):
                raise SystemExit("the worker did not store the previous chunk within an hour")
            client.log_records(APP, version="1", **columns)
            bar.update(len(columns["inputs"]))
        if not client.flush(3600):
            raise SystemExit("the worker did not store the records within an hour")
    return time.perf_counter() - started


def prepare(client: Client, records: int) -> tuple[float, float]:
    """Seed, then give every record the output-length projection with SQL
    UPDATEs, one day each (the projector would take minutes here; this bench is
    about reads), register a baseline and make the investigation's view (last).
    Returns the seconds the seeding took, and all of it."""
    started = time.perf_counter()
    seeding = seed(client, records)
    app_id = client.catalog.application_id(APP)
    fields = client.catalog.ensure_fields(app_id, {LENGTH: "number"})
    table = client.catalog.table(app_id)
    output = table.c[fields["outputs.inference"].column]
    length = {fields[LENGTH].column: sa.func.length(output)}
    for day in range(START_US, START_US + 31 * DAY_US, DAY_US):
        with client.engine.begin() as conn:
            window = (table.c.timestamp_us >= day, table.c.timestamp_us < day + DAY_US)
            conn.execute(table.update().where(*window).values(length))
    reference = pd.DataFrame(
        {"outputs.inference": [f"She goes to school number {i} every day." for i in range(2000)]}
    )
    client.register_baseline(APP, reference, projections=["entropy"])
    client.create_view(APP, VIEW, "2022-04-15", "2022-04-22", [f"{TAG} <= 7"], replace=True)
    if client.engine.dialect.name == "sqlite":
        # The UPDATEs leave GBs of WAL at 10M records; a kept store starts
        # without one, so this run should too.
        with client.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return seeding, time.perf_counter() - started


# -- the lake --------------------------------------------------------------------------


def reset_lake(client: Client) -> None:
    """Forget the application's lake (its files, partition rows and state), so
    the next export pass starts from scratch, as on a store that never had one."""
    app_id = client.catalog.application_id(APP)
    parts, state = schema.lake_partitions, schema.lake_state
    with client.engine.begin() as conn:
        uris = list(conn.scalars(sa.select(parts.c.uri).where(parts.c.application_id == app_id)))
        conn.execute(parts.delete().where(parts.c.application_id == app_id))
        conn.execute(state.delete().where(state.c.application_id == app_id))
    for uri in uris:
        client.blobs.delete(uri)


def late_feedback(client: Client, day: str) -> str:
    """Feedback for one record of `day` that arrives after the day was
    exported; it repeats the stored value, so reruns on a kept store count the
    same numbers. Returns the record's join key."""
    app_id = client.catalog.application_id(APP)
    table = client.catalog.table(app_id)
    column = table.c[client.catalog.fields(app_id)[ACCEPTED].column]
    low = int(pd.Timestamp(day, tz="UTC").value // 1000)
    with client.engine.connect() as conn:
        key, value = conn.execute(
            sa.select(table.c.join_key, column)
            .where(table.c.timestamp_us >= low, table.c.timestamp_us < low + DAY_US)
            .order_by(table.c.timestamp_us)
            .limit(1)
        ).one()
    client.log_record(APP, feedback={"correction_accepted": bool(value)}, join_key=key)
    if not client.flush(60):
        raise SystemExit("the late feedback was not stored within a minute")
    return key


# -- DuckDB on a native table ----------------------------------------------------------


class NativeDuckStore(SqlRecordStore):
    """The SQL store's statements on a DuckDB engine whose
    `gantry_records_<id>` is a native DuckDB table: `LakeRecordStore`'s own
    mechanism (its `compile_selection` override, the same duckdb_engine adapter), with
    a table loaded once and never synced. Catalog, views and baselines stay
    on the SQL store, as in the lake store."""

    def __init__(self, sql: SqlRecordStore, duck: sa.Engine) -> None:
        super().__init__(sql.engine, sql.catalog, sql.views)
        self.duck = duck

    def compile_selection(self, selection, engine=None):
        return super().compile_selection(selection, self.duck)


def native_client(client: Client, path: Path) -> tuple[SimpleNamespace, duckdb.DuckDBPyConnection]:
    """Load the application's SQL records table into a DuckDB database file
    once (DuckDB's native storage; the file only spares RAM) and return a
    client-like object for `panels` reading from it, and the connection."""
    app_id = client.catalog.application_id(APP)
    fields = client.catalog.fields(app_id, refresh=True)
    table = client.catalog.table(app_id)
    arrow_schema = records_table_schema(fields)
    db = duckdb.connect(str(path), config={"memory_limit": "1GB"})
    name = schema.records_table_name(app_id)
    db.register("incoming", arrow_schema.empty_table())
    db.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
    db.unregister("incoming")
    stmt = sa.select(*(table.c[c] for c in arrow_schema.names)).order_by(table.c.timestamp_us)
    with client.engine.connect() as conn:
        for chunk in fetch_batches(conn, stmt, 200_000):
            db.register("incoming", rows_to_arrow(chunk, arrow_schema))
            db.execute(f"INSERT INTO {name} SELECT * FROM incoming")
            db.unregister("incoming")
    db.execute("CHECKPOINT")
    duck = sa.create_engine("duckdb://", creator=lambda: ConnectionWrapper(db.cursor()))
    store = NativeDuckStore(client.store, duck)
    return SimpleNamespace(store=store, blob_url=client.blob_url), db


# -- memory, in a fresh process --------------------------------------------------------


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def rss_probe(engine: str, store: str, work: Path, repeats: int) -> dict:
    """RSS before the first refresh (imports, client, worker started) and the
    peak during `repeats` refreshes of both scopes. The peak is VmHWM after a
    reset through /proc/self/clear_refs; where that cannot be reset, ru_maxrss
    (then the figure is the process's peak, imports included)."""
    client = Client(
        store,
        blobs=work / "blobs",
        spool_dir=work / f"rss-{engine}",
        analytics=engine,
        lake_export_seconds=3600,
    )
    before = _status_kib("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    started = time.perf_counter()
    for _ in range(repeats):
        for scope in scopes().values():
            refresh(client, scope)
    seconds = time.perf_counter() - started
    peak = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    after = _status_kib("VmRSS")
    client.close()
    return {
        "engine": engine,
        "before_kib": before,
        "peak_kib": peak,
        "after_kib": after,
        "peak_reset": reset,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rss-probe", choices=["sql", "lake"], required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(rss_probe(args.rss_probe, args.store, args.work, args.repeats)))


if __name__ == "__main__":
    main()
