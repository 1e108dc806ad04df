"""Time to refresh the whole monitoring tab on 1,000,000 records, on the SQL
engine (`analytics="sql"`), on the lake engine (`analytics="lake"`: DuckDB
fed by the Parquet lake plus the SQL tail) and on DuckDB over a native table,
in one run on one store; plus the lake's export and memory costs.

The records are a month of predictions with feedback, flags, tags and one
projection with a registered baseline, so every panel has work to do
(bench/lake.py seeds them through the public bulk path: 10,000,000 take
minutes). Two scopes: the whole month, and the "young accounts in the third
week" view an investigation ends on. Per backend, in this order:

1. export from scratch: the lake's files and state are forgotten, then one
   `export_lake` pass writes every day (records/s);
2. the whole tab (`panels.snapshot`) on the three engines, interleaved
   repeat by repeat so machine noise hits all three alike; medians and the
   ratios lake/sql and lake/duckdb-native of this run, then each panel alone.
   "duckdb-native" is the SQL store's statements run by DuckDB on a native
   DuckDB table loaded once from the SQL records table (bench/lake.py
   `NativeDuckStore`: the lake store's own mechanism, with a table that is
   never synced), so lake/duckdb-native is what the lake store's way of
   holding and syncing its DuckDB copy costs over plain DuckDB.
   "lake-synced" is a second lake client that syncs its DuckDB copy once
   and never again (`store.sync_seconds` = inf): the lake's queries without
   the check for new SQL changes a refresh makes when 1 s has passed (whole
   tab only; panels alone are timed on the three engines).
   Each engine's headline, acceptance/day, age split and rows page are
   compared with the SQL engine's (a MISMATCH line says what differs);
3. a late feedback on an exported day: the lake refresh while the day is
   served from the SQL tail, the export pass that re-exports it, and the
   refresh after;
4. the tab through a launched `/monitoring_refresh` endpoint with
   gradio_client, SQL and lake engines;
5. the RSS a refresh adds, in a fresh process per engine (bench/lake.py
   --rss-probe): VmRSS before the first refresh vs the peak during them.

Stores are seeded once and kept (--db; the PostgreSQL cluster lives only for
the run).

    python bench/dashboard_refresh.py [--records 1000000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from lake import (  # noqa: E402
    ACCEPTED,
    APP,
    FLAG,
    LENGTH,
    TAG,
    VIEW,
    is_prepared,
    late_feedback,
    native_client,
    prepare,
    refresh,
    reset_lake,
    scopes,
    stored_records,
)

from gantry_gradio import Client  # noqa: E402
from gantry_gradio.dashboard import panels  # noqa: E402
from gantry_gradio.dashboard.bins import choose_bins  # noqa: E402
from gantry_gradio.dashboard.tab import monitoring_tab  # noqa: E402
from tests.gradio_apps import TEST_TOKEN as TOKEN  # noqa: E402
from tests.gradio_apps import connect, launched  # noqa: E402
from tests.servers import PostgresServer  # noqa: E402

LATE_DAY = "2022-04-10"


def checkout() -> str:
    """The commit measured (others edit the package while benches run)."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return f" (checkout {done.stdout.strip()})"


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        function()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def once(function) -> float:
    t0 = time.perf_counter()
    function()
    return time.perf_counter() - t0


def panel_parts(client, scope: panels.Scope) -> dict:
    return {
        "headline (+previous)": lambda: panels.headline(client, scope, ACCEPTED, FLAG),
        "acceptance/day": lambda: panels.acceptance_over_time(client, scope, ACCEPTED),
        "flags/day": lambda: panels.flags_over_time(client, scope, FLAG),
        "age split": lambda: panels.split_distribution(client, scope, TAG, ACCEPTED),
        "  of which bins": lambda: choose_bins(client.store, scope, TAG),
        "projection split": lambda: panels.split_distribution(client, scope, LENGTH, ACCEPTED),
        "acceptance by version": lambda: panels.acceptance_by(
            client, scope, "version", ACCEPTED, FLAG
        ),
        "acceptance/day by version": lambda: panels.split_series(
            client, scope, "version", panels.acceptance_over_time, ACCEPTED
        ),
        "projection/day": lambda: panels.projection_over_time(client, scope, LENGTH),
        "vs baseline": lambda: panels.baseline_comparison(client, scope, LENGTH),
        "rows page": lambda: panels.rows_page(client, scope, 0),
    }


def disagreements(reference: panels.Snapshot, other: panels.Snapshot) -> list[str]:
    """What differs between two engines' snapshots of one scope."""
    found = []
    for key in ("predictions", "feedback", "flags"):
        if reference.headline[key] != other.headline[key]:
            found.append(f"headline {key} {reference.headline[key]} vs {other.headline[key]}")
    a, b = reference.headline["acceptance"], other.headline["acceptance"]
    if (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-9):
        found.append(f"acceptance {a} vs {b}")
    ra, oa = reference.acceptance, other.acceptance
    if len(ra) != len(oa) or not np.allclose(
        ra["percent_true"].astype(float), oa["percent_true"].astype(float)
    ):
        found.append("acceptance/day")
    rd = reference.distribution.sort_values(["bin_start", "accepted"])["count"].to_numpy()
    od = other.distribution.sort_values(["bin_start", "accepted"])["count"].to_numpy()
    if len(rd) != len(od) or (rd != od).any():
        found.append("age split counts")
    if list(reference.rows["join_key"]) != list(other.rows["join_key"]):
        found.append("rows page")
    return found


def measure_engines(engines: dict, repeats: int) -> None:
    """The whole tab per scope on every engine, interleaved; then each panel
    (not on lake-synced)."""
    for name, scope in scopes().items():
        snaps = {engine: refresh(client, scope) for engine, client in engines.items()}  # warm
        for engine, snap in snaps.items():
            if engine != "sql" and (found := disagreements(snaps["sql"], snap)):
                print(f"  MISMATCH {name}: {engine} vs sql: {'; '.join(found)}")
        times: dict[str, list[float]] = {engine: [] for engine in engines}
        order = list(engines)
        for r in range(repeats):
            for engine in order[r % len(order) :] + order[: r % len(order)]:
                times[engine].append(once(lambda e=engine, s=scope: refresh(engines[e], s)))
        med = {engine: statistics.median(t) for engine, t in times.items()}
        print(
            f"  {name:24s} whole tab: "
            + ", ".join(f"{engine} {seconds * 1000:.0f} ms" for engine, seconds in med.items())
            + f"; ratio lake/sql {med['lake'] / med['sql']:.3f},"
            f" lake/duckdb-native {med['lake'] / med['duckdb-native']:.2f}"
        )
    for name, scope in scopes().items():
        for engine, client in engines.items():
            if engine == "lake-synced":
                continue
            breakdown = ", ".join(
                f"{part} {median_seconds(f, repeats) * 1000:.0f}"
                for part, f in panel_parts(client, scope).items()
            )
            print(f"    {name:24s} {engine:13s} panels alone ({breakdown} ms)")


def measure_late_feedback(lake: Client) -> None:
    whole = scopes()["whole month"]
    per_day = stored_records(lake) / 30
    late_feedback(lake, LATE_DAY)
    time.sleep(lake.store.sync_seconds)
    dirty = once(lambda: refresh(lake, whole))
    later = median_seconds(lambda: refresh(lake, whole), 3)
    report = lake.export_lake(APP)[0]
    time.sleep(lake.store.sync_seconds)
    after = once(lambda: refresh(lake, whole))
    print(
        f"  late feedback on {LATE_DAY}: lake whole-month refresh {dirty * 1000:.0f} ms while"
        f" its ~{per_day:,.0f} records come from the SQL tail (then {later * 1000:.0f} ms);"
        f" re-export pass {report.seconds:.2f} s ({len(report.days)} day, {report.rows:,}"
        f" records); first refresh after it {after * 1000:.0f} ms"
    )


def through_gradio(client: Client, label: str, repeats: int) -> None:
    with gr.Blocks() as demo:
        monitoring_tab(
            APP, client=client, accepted_field=ACCEPTED, flag_field=FLAG, access_token=TOKEN
        )
    with launched(demo) as url:
        gradio_client = connect(url)
        # In the order the tab creates its controls (Gradio's set-of-inputs order).
        arguments = (APP, TOKEN, "all", "day", VIEW, "", "", "", "", TAG, LENGTH, 0, [])
        gradio_client.predict(*arguments, api_name="/monitoring_refresh")  # warm
        remote, local = [], []
        for _ in range(repeats):  # alternating, so noise hits both alike
            remote.append(
                once(lambda: gradio_client.predict(*arguments, api_name="/monitoring_refresh"))
            )
            local.append(once(lambda: refresh(client, scopes()[f"view {VIEW}"])))
        http, in_process = statistics.median(remote), statistics.median(local)
    print(
        f"  {label} through gradio_client (view): {http * 1000:.0f} ms; in process"
        f" {in_process * 1000:.0f} ms; ratio {http / in_process:.2f}; vs the 1 s goal: {http:.2f}"
    )


def rss(store: str, work: Path) -> None:
    probes = {}
    for engine in ("sql", "lake"):
        done = subprocess.run(
            [sys.executable, str(Path(__file__).parent / "lake.py"), "--rss-probe", engine]
            + ["--store", store, "--work", str(work)],
            capture_output=True,
            text=True,
            check=True,
        )
        probes[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    mib = {e: (p["peak_kib"] - p["before_kib"]) / 1024 for e, p in probes.items()}
    how = "VmHWM reset" if all(p["peak_reset"] for p in probes.values()) else "ru_maxrss"
    print(
        f"  RSS a refresh adds (fresh process, both scopes x3, peak by {how}): lake"
        f" {mib['lake']:.0f} MiB (from {probes['lake']['before_kib'] / 1024:.0f} to"
        f" {probes['lake']['peak_kib'] / 1024:.0f}), sql {mib['sql']:.0f} MiB (from"
        f" {probes['sql']['before_kib'] / 1024:.0f} to {probes['sql']['peak_kib'] / 1024:.0f})"
    )


def measure(store: str, work: Path, label: str, records: int, repeats: int) -> None:
    # analytics is explicit: the lake is the client's default.
    sql = Client(store, blobs=work / "blobs", spool_dir=work / "s1", analytics="sql")
    stored = stored_records(sql)
    if stored not in (0, records) or (stored and not is_prepared(sql)):
        raise SystemExit(f"{store} holds {stored} records; delete it or pass another --db")
    if not stored:
        seeding, total = prepare(sql, records)
        print(
            f"{label}: seeded {records:,} records in {seeding:.0f} s"
            f" ({seeding / records * 1e6:.0f} s per million; {total:.0f} s with the"
            " projection, baseline and view)"
        )
        if sql.engine.dialect.name == "postgresql":
            with sql.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
    print(f"\n{label}: {stored_records(sql):,} records, median of {repeats}{checkout()}")

    reset_lake(sql)
    report = sql.export_lake(APP)[0]
    print(
        f"  lake export from scratch: {report.rows:,} records, {len(report.days)} days in"
        f" {report.seconds:.1f} s = {report.rows / report.seconds:,.0f} records/s"
    )
    lake = Client(
        store,
        blobs=work / "blobs",
        spool_dir=work / "s3",
        analytics="lake",
        lake_export_seconds=3600,  # the passes this bench times are its own
    )
    first = {name: once(lambda s=scope: refresh(lake, s)) for name, scope in scopes().items()}
    print(
        "  first lake refresh (DuckDB checks and loads the files): "
        + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in first.items())
    )
    with tempfile.TemporaryDirectory(prefix="gantry-native-") as scratch:
        t0 = time.perf_counter()
        native, db = native_client(sql, Path(scratch) / "native.duckdb")
        print(f"  duckdb-native: SQL records table loaded in {time.perf_counter() - t0:.1f} s")
        synced = Client(
            store,
            blobs=work / "blobs",
            spool_dir=work / "s4",
            analytics="lake",
            lake_export_seconds=3600,
        )
        for scope in scopes().values():
            refresh(synced, scope)
        synced.store.sync_seconds = float("inf")
        engines = {"sql": sql, "lake": lake, "duckdb-native": native, "lake-synced": synced}
        measure_engines(engines, repeats)
        synced.close()
        native.store.duck.dispose()
        db.close()
    measure_late_feedback(lake)
    through_gradio(sql, "sql ", repeats)
    through_gradio(lake, "lake", repeats)
    lake.close()
    sql.close()
    rss(store, work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gantry-dashboard.db"))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = args.db.parent / f"{args.db.stem}-work"

    if args.backend in ("sqlite", "both"):
        measure(f"sqlite:///{args.db}", work, "SQLite", args.records, args.repeats)

    if args.backend in ("postgresql", "both"):
        server = PostgresServer()
        try:
            server.start()
            url = server.create_database("bench")
            pg_work = work / "postgresql"
            measure(url, pg_work, "PostgreSQL 15", args.records, args.repeats)
        finally:
            server.destroy()


if __name__ == "__main__":
    main()
