"""Bulk import into the lake, then the first refresh of a new process.

1. `import_records` of N records (a month of predictions with feedback,
   flags, tags and a projection, built as one Arrow table) into a fresh
   lake-backed store: records/s, then the same import again (it must add
   nothing) and its time.
2. The whole monitoring tab (both scopes of bench/lake.py) in fresh
   processes, in order: the first process ever on the store (it builds the
   DuckDB file it keeps), then a restarted process (it opens the kept file):
   its first refresh is the cold start, its second the warm one; and the
   RSS the refreshes add to the process (VmHWM reset, as bench/lake.py).
3. Anchor: the acceptance rate per day computed by DuckDB straight over the
   lake's Parquet files must equal the tab's.

    python bench/import_history.py [--records 10000000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
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

START = np.datetime64("2022-04-01T00:00:00", "us")
GOAL_IMPORT = 500_000
GOAL_COLD_SECONDS = 1.0
MONTH_US = 30 * 86_400_000_000


def history(count: int) -> pa.Table:
    """bench/lake.py's month, column by column."""
    rng = np.random.default_rng(3)
    ids = pa.array(np.arange(count)).cast(pa.string())
    ages = rng.integers(0, 401, count)
    accepted = rng.random(count) < np.where(ages <= 7, 0.3, 0.9)
    flagged = rng.random(count) < 0.02
    flags = np.array(FLAGS, dtype=object)[rng.integers(0, len(FLAGS), count)]
    output = pc.binary_join_element_wise("She goes to school number ", ids, " every day.", "")
    stamps = START + (np.arange(count, dtype=np.int64) * (MONTH_US // count)).astype("m8[us]")
    return pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "join_key": pc.binary_join_element_wise("k", ids, ""),
            "version": pa.array(["1"] * count),
            "inputs.text": pc.binary_join_element_wise(
                "She go to school number ", ids, " every days.", ""
            ),
            "outputs.inference": output,
            "tags.env": pa.array(["prod"] * count),
            "tags.username": pc.binary_join_element_wise(
                "user", pa.array(np.arange(count) % 500).cast(pa.string()), ""
            ),
            TAG: pa.array(ages.astype(np.float64)),
            ACCEPTED: pa.array(accepted),
            "feedback.flag": pa.array(np.where(flagged, flags, None), pa.string()),
            LENGTH: pc.utf8_length(output).cast(pa.float64()),
        }
    )


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
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        for scope in scopes().values():
            snapshot = refresh(client, scope)
        timings.append(time.perf_counter() - started)
    peak = _status_kib("VmHWM")
    rates = client.percent_true(APP, ACCEPTED)
    client.close()
    return {
        "first": timings[0],
        "second": timings[1],
        "added_mib": (peak - before) / 1024,
        "rates": rates["percent_true"].round(9).tolist(),
        "snapshot_rows": len(snapshot.rows) if hasattr(snapshot, "rows") else None,
    }


def duckdb_rates(work: Path) -> list[float]:
    files = [str(p) for p in sorted((work / "blobs" / "lake").rglob("*.parquet"))]
    rows = duckdb.sql(
        f'SELECT epoch_us("timestamp") // 86400000000 AS day, '
        f'avg(CASE WHEN "{ACCEPTED}" THEN 1.0 ELSE 0.0 END) '
        f"FROM read_parquet({files}) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return [round(rate, 9) for _, rate in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.work, args.probe)))
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="gantry-import-"))
    table = history(args.records)
    client = client_for(work, "spool")
    started = time.perf_counter()
    report = client.import_records(table, APP)
    seconds = time.perf_counter() - started
    again = time.perf_counter()
    repeat = client.import_records(table, APP)
    again = time.perf_counter() - again
    client.create_view(APP, VIEW, "2022-04-15", "2022-04-22", [f"{TAG} <= 7"], replace=True)
    client.close()
    print(f"{args.records:,} records, {len(report.days)} days")
    print(
        f"import_records            {report.imported / seconds:12,.0f} records/s "
        f"(goal >= {GOAL_IMPORT:,}); {seconds:.1f} s"
    )
    print(f"the same import again     {again:8.1f} s, {repeat.imported} records added")
    runs = {}
    for name in ("first process", "restarted process"):
        out = subprocess.run(
            [sys.executable, __file__, "--work", str(work), "--probe", "spool-probe"],
            capture_output=True, text=True, check=True,
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
        f"RSS the refreshes add: first process {first['added_mib']:.0f} MiB, "
        f"restarted {restarted['added_mib']:.0f} MiB (goal <= 250 at 10M)"
    )
    anchor = duckdb_rates(work)
    same = anchor == restarted["rates"] == first["rates"]
    print(f"acceptance per day equals DuckDB over the lake files: {same}")


if __name__ == "__main__":
    main()
