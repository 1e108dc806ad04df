"""Evaluating 100 alert rules over a store of 1,000,000 records, per
scheduler cycle, on the SQL engine and on the lake engine (DuckDB over the
Parquet lake plus the SQL tail): the goal is at most 2 s per cycle on 2
cores.

The store is bench/lake.py's (a month of predictions with feedback, flags,
account ages and an output-length projection; seeded once and kept, --db).
The rules mix every metric and window the tab shows: acceptance rate (all
accounts, and young ones through a filter), mean output length, offensive
flags, and prediction volume, over windows of 1 hour to 1 day, each with its
own threshold. They are stored as automations every 5 minutes; a cycle is
one `AutomationScheduler.run_once`: the engine's pass over stored rules,
the run ledger, each rule's read through the read contract (the tab's read
path), the evaluation rows. Each cycle evaluates the next 5-minute interval,
so no cycle finds the previous one's work.

    python bench/alerts.py [--records 1000000] [--rules 100] [--cycles 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from lake import ACCEPTED, APP, FLAG, LENGTH, TAG, is_prepared, prepare, stored_records  # noqa: E402

from gantry_gradio import AutomationScheduler, Client  # noqa: E402
from gantry_gradio.alerts import AlertRule, create_alert  # noqa: E402

#: Mid-April: the windows hold data (the store spans 2022-04-01 .. 05-01).
FIRST_EVALUATION = pd.Timestamp("2022-04-20T12:00", tz="UTC")
EVERY = pd.Timedelta(minutes=5)


def rules(count: int, prefix: str) -> list[AlertRule]:
    """`count` rules, cycling through five kinds and four windows."""
    windows = ("1h", "6h", "12h", "1D")
    made = []
    for i in range(count):
        name, window = f"{prefix}_{i:03d}", windows[i % len(windows)]
        kind = i % 5
        common = {"window": window, "every": "5min", "min_records": 10}
        if kind == 0:
            rule = AlertRule(
                name, APP, "acceptance_rate", field=ACCEPTED, below=50 + i % 40, **common
            )
        elif kind == 1:
            rule = AlertRule(
                name,
                APP,
                "acceptance_rate",
                field=ACCEPTED,
                below=50,
                filters=[f"{TAG} <= {3 + i % 10}"],
                **common,
            )
        elif kind == 2:
            rule = AlertRule(name, APP, "mean", field=LENGTH, above=40 + i % 5, **common)
        elif kind == 3:
            rule = AlertRule(
                name, APP, "flag_count", field=FLAG, category="offensive", above=i % 20, **common
            )
        else:
            rule = AlertRule(name, APP, "volume", below=100 + i, **common)
        made.append(rule)
    return made


def measure(client: Client, label: str, count: int, cycles: int) -> None:
    created = time.perf_counter()
    for rule in rules(count, label):
        create_alert(client, rule, start_on=FIRST_EVALUATION - EVERY, now=FIRST_EVALUATION - EVERY)
    print(f"  {label}: {count} rules stored in {time.perf_counter() - created:.1f} s")
    scheduler = AutomationScheduler(client)
    seconds = []
    for cycle in range(cycles):
        now = FIRST_EVALUATION + cycle * EVERY
        started = time.perf_counter()
        outcomes = scheduler.run_once(now=now)
        seconds.append(time.perf_counter() - started)
        done = sum(o.status == "done" for o in outcomes)
        if done != count:
            raise SystemExit(f"cycle {cycle}: {done} of {count} rules evaluated")
    firing = sum(o.result.details["state"] == "firing" for o in outcomes)
    median = statistics.median(seconds)
    print(
        f"  {label}: per cycle of {count} rules median {median:.2f} s"
        f" (min {min(seconds):.2f}, max {max(seconds):.2f}; {median / count * 1000:.1f} ms a rule;"
        f" goal 2 s: {median / 2:.2f} of it); {firing} firing in the last cycle"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gantry-alerts.db"))
    args = parser.parse_args()
    store = f"sqlite:///{args.db}"
    work = args.db.parent / f"{args.db.stem}-work"
    sql = Client(store, blobs=work / "blobs", spool_dir=work / "s1", analytics="sql")
    stored = stored_records(sql)
    if stored not in (0, args.records) or (stored and not is_prepared(sql)):
        raise SystemExit(f"{store} holds {stored} records; delete it or pass another --db")
    if not stored:
        seeding, _ = prepare(sql, args.records)
        print(f"seeded {args.records:,} records in {seeding:.0f} s")
    sql.export_lake(APP)
    print(f"SQLite, {stored_records(sql):,} records; {args.cycles} cycles per engine")
    measure(sql, "sql", args.rules, args.cycles)
    sql.close()
    lake = Client(
        store,
        blobs=work / "blobs",
        spool_dir=work / "s2",
        analytics="lake",
        lake_export_seconds=3600,
    )
    measure(lake, "lake", args.rules, args.cycles)
    lake.close()


if __name__ == "__main__":
    main()
