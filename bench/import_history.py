"""Bulk import into the lake, then the first refresh of a new process.

1. `import_records` of N records (a month of predictions with feedback,
   flags, tags and a projection, built as Arrow tables of at most --chunk
   records, each a run of days) into a fresh lake-backed store: records/s,
   then the first chunk imported again (it must add nothing) and its time.
   `--live M` then logs M records over the last week through log_records
   (the SQL store's share) and sets a 7-day retention.
2. The whole monitoring tab (both scopes of bench/lake.py) in fresh
   processes, in order: the first process ever on the store (it builds the
   DuckDB file it keeps), then a restarted process (it opens the kept file):
   its first refresh is the cold start, its second the warm one, then one
   after 1,000 new records of the last minute (live traffic: today's day is
   scanned again, the other days' kept answers are read), then the whole
   month with a filter no refresh used before (every day scanned); and the
   RSS the refreshes add to the process (VmHWM reset, as bench/lake.py).
3. Anchor: the acceptance rate per day computed by DuckDB straight over the
   lake's Parquet files must equal the tab's.

    python bench/import_history.py [--records 10000000] [--chunk 10000000] [--live 0]
    python bench/import_history.py --records 100000000 --live 1000000   # the 100M run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from lake import ACCEPTED, APP, FLAGS, LENGTH, TAG, VIEW, _status_kib, refresh, scopes  # noqa: E402

from gantry_gradio import Client  # noqa: E402
from gantry_gradio.dashboard import panels  # noqa: E402

START = np.datetime64("2022-04-01T00:00:00", "us")
GOAL_IMPORT = 500_000
GOAL_COLD_SECONDS = 1.0
#: Records logged between the warm refresh and the one after it.
LIVE_BATCH = 1000
MONTH_US = 30 * 86_400_000_000


def history(count: int, start: int = 0, stop: int | None = None) -> pa.Table:
    """Records start..stop of bench/lake.py's month of `count`, column by column."""
    stop = count if stop is None else stop
    n = stop - start
    rng = np.random.default_rng(3 + start)
    ids = pa.array(np.arange(start, stop)).cast(pa.string())
    ages = rng.integers(0, 401, n)
    accepted = rng.random(n) < np.where(ages <= 7, 0.3, 0.9)
    flagged = rng.random(n) < 0.02
    flags = np.array(FLAGS, dtype=object)[rng.integers(0, len(FLAGS), n)]
    output = pc.binary_join_element_wise("She goes to school number ", ids, " every day.", "")
    offsets = np.arange(start, stop, dtype=np.int64) * (MONTH_US // count)
    stamps = START + offsets.astype("m8[us]")
    return pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "join_key": pc.binary_join_element_wise("k", ids, ""),
            "version": pa.array(["1"] * n),
            "inputs.text": pc.binary_join_element_wise(
                "She go to school number ", ids, " every days.", ""
            ),
            "outputs.inference": output,
            "tags.env": pa.array(["prod"] * n),
            "tags.username": pc.binary_join_element_wise(
                "user", pa.array(np.arange(start, stop) % 500).cast(pa.string()), ""
            ),
            TAG: pa.array(ages.astype(np.float64)),
            ACCEPTED: pa.array(accepted),
            "feedback.flag": pa.array(np.where(flagged, flags, None), pa.string()),
            LENGTH: pc.utf8_length(output).cast(pa.float64()),
        }
    )


def log_live(client: Client, count: int) -> float:
    """`count` records over the last 7 days through log_records (SQL)."""
    now = np.datetime64("now", "us")
    started = time.perf_counter()
    for at in range(0, count, 100_000):
        n = min(100_000, count - at)
        rng = np.random.default_rng(at)
        ages = rng.integers(0, 401, n).tolist()
        stamps = (
            now
            - np.timedelta64(7 * 86_400, "s")
            + (np.arange(n) * (7 * 86_400_000_000 // n)).astype("m8[us]")
        )
        client.log_records(
            APP,
            version="2",
            inputs=[{"text": f"live {at + i}"} for i in range(n)],
            outputs=[{"inference": f"live out {at + i}"} for i in range(n)],
            tags=[{"env": "prod", "account_age_days": a} for a in ages],
            feedbacks=[{"correction_accepted": a > 7} for a in ages],
            timestamps=(stamps.astype("int64") / 1e6).tolist(),
        )
        client.flush(3600)
    return time.perf_counter() - started


def log_recent(client: Client, count: int) -> None:
    """`count` records of the last minute, as a live app logs them."""
    now = time.time()
    client.log_records(
        APP,
        version="2",
        inputs=[{"text": f"recent {i}"} for i in range(count)],
        outputs=[{"inference": f"recent out {i}"} for i in range(count)],
        tags=[{"env": "prod", "account_age_days": i % 401} for i in range(count)],
        feedbacks=[{"correction_accepted": i % 5 != 0} for i in range(count)],
        timestamps=[now - 60 + i * 60 / count for i in range(count)],
    )
    client.flush(600)


def client_for(work: Path, spool: str) -> Client:
    return Client(
        f"sqlite:///{work / 'records.db'}",
        blobs=work / "blobs",
        spool_dir=work / spool,
        analytics="lake",
        lake_export_seconds=3600,
    )


def probe(work: Path, spool: str) -> dict:
    """In a fresh process: the first and second whole-tab refresh, RSS."""
    client = client_for(work, spool)
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    timings, per_scope = [], {}
    for _ in range(2):
        started = time.perf_counter()
        for name, scope in scopes().items():
            at = time.perf_counter()
            refresh(client, scope)
            per_scope[name] = time.perf_counter() - at
        timings.append(time.perf_counter() - started)
    peak = _status_kib("VmHWM")
    # Live traffic: new records land in today's day; the next refresh brings
    # the copy up to date and scans that day again, the others kept.
    log_recent(client, LIVE_BATCH)
    time.sleep(client.store.sync_seconds)
    started = time.perf_counter()
    for scope in scopes().values():
        refresh(client, scope)
    timings.append(time.perf_counter() - started)
    # A filter no refresh used before (its threshold new in each process):
    # nothing kept for it, every day is scanned.
    unseen = panels.Scope(APP, filters=(f"{TAG} > {200 + os.getpid() % 1000 / 1000}",))
    started = time.perf_counter()
    refresh(client, unseen)
    timings.append(time.perf_counter() - started)
    rates = client.percent_true(APP, ACCEPTED, start="2022-04-01", end="2022-05-01")
    client.close()
    return {
        "first": timings[0],
        "second": timings[1],
        "after_new_records": timings[2],
        "new_filter": timings[3],
        "added_mib": (peak - before) / 1024,
        "rates": rates["percent_true"].round(9).tolist(),
        "warm_scopes": per_scope,
    }


def duckdb_rates(work: Path) -> list[float]:
    """Acceptance per April day, by DuckDB over the files the manifest names."""
    manifest = next((work / "blobs" / "lake").glob("app=*/_manifest.json"))
    files = [
        str(work / "blobs" / part["key"]) for part in json.loads(manifest.read_text())["partitions"]
    ]
    rows = duckdb.sql(
        f'SELECT epoch_us("timestamp") // 86400000000 AS day, '
        f'avg(CASE WHEN "{ACCEPTED}" THEN 1.0 ELSE 0.0 END) '
        f"FROM read_parquet({files}) WHERE \"timestamp\" < TIMESTAMPTZ '2022-05-01 00:00:00+00' "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return [round(rate, 9) for _, rate in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=10_000_000)
    parser.add_argument("--live", type=int, default=0)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.work, args.probe)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="gantry-import-"))
    client = client_for(work, "spool")
    imported, seconds, days = 0, 0.0, 0
    for at in range(0, args.records, args.chunk):
        table = history(args.records, at, min(at + args.chunk, args.records))
        started = time.perf_counter()
        report = client.import_records(table, APP)
        seconds += time.perf_counter() - started
        imported += report.imported
        days += len(report.days)
        del table
    again = time.perf_counter()
    repeat = client.import_records(history(args.records, 0, min(args.chunk, args.records)), APP)
    again = time.perf_counter() - again
    client.create_view(APP, VIEW, "2022-04-15", "2022-04-22", [f"{TAG} <= 7"], replace=True)
    print(f"{args.records:,} records imported ({days} day files written)")
    print(
        f"import_records            {imported / seconds:12,.0f} records/s "
        f"(goal >= {GOAL_IMPORT:,}); {seconds:.1f} s"
    )
    print(f"the first chunk again     {again:8.1f} s, {repeat.imported} records added")
    if args.live:
        live = log_live(client, args.live)
        client.set_retention(APP, 7)
        report = client.export_lake(APP)[0]
        print(
            f"live: {args.live:,} records of the last week logged in {live:.1f} s; "
            f"export pass {report.seconds:.1f} s, {len(report.cold_days)} days left SQL"
        )
    client.close()
    runs = {}
    for name in ("first process", "restarted process"):
        out = subprocess.run(
            [sys.executable, __file__, "--work", str(work), "--probe", "spool-probe"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        runs[name] = json.loads(out.splitlines()[-1])
    first, restarted = runs["first process"], runs["restarted process"]
    print(f"whole tab, first process ever (builds its DuckDB file)  {first['first']:6.2f} s")
    print(
        f"whole tab, cold (a restarted process's first refresh)  {restarted['first']:6.2f} s "
        f"(goal <= {GOAL_COLD_SECONDS})"
    )
    print(f"whole tab, warm                                        {restarted['second']:6.2f} s")
    print(
        f"whole tab after {LIVE_BATCH:,} new records (today's day scanned again)"
        f"       {restarted['after_new_records']:6.2f} s"
    )
    print(
        f"whole month with a filter never used before (every day scanned) "
        f"{restarted['new_filter']:6.2f} s"
    )
    for name, seconds in restarted["warm_scopes"].items():
        print(f"  warm, {name:<46} {seconds * 1000:8.0f} ms")
    print(
        f"RSS the refreshes add: first process {first['added_mib']:.0f} MiB, "
        f"restarted {restarted['added_mib']:.0f} MiB (goal <= 250 at 10M)"
    )
    anchor = duckdb_rates(work)
    same = anchor == restarted["rates"] == first["rates"]
    print(f"acceptance per day equals DuckDB over the lake files: {same}")


if __name__ == "__main__":
    main()
