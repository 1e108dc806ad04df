"""A reviewer's wait in the review tab on a store of 1,000,000 records:
the next item (lease + the record as the tab shows it) and saving a label,
on the lake engine (the default: DuckDB over the Parquet lake plus the SQL
tail) and on the SQL engine. The goal: next item at most 100 ms.

The store is bench/lake.py's month (seeded once and kept, --db). The queue
is the investigation's: rejected predictions of accounts <= 7 days, newest
first (--items of them, drawn uniformly); two reviewers take turns. The
anchor, measured in the same run, is one record read by join key through
`query` (what any record view costs).

    python bench/review_queue.py [--records 1000000] [--items 20000] [--calls 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from _timing import percentile  # noqa: E402
from lake import ACCEPTED, APP, TAG, is_prepared, prepare, stored_records  # noqa: E402

from gantry_gradio import Client  # noqa: E402


def measure(client: Client, label: str, items: int, calls: int) -> None:
    name = f"bench_{label}"
    if name in client.list_review_queues(APP):
        client.delete_review_queue(name)
    started = time.perf_counter()
    queue = client.create_review_queue(
        name, APP, filters=[f"{ACCEPTED} == false", f"{TAG} <= 7"], sample=items, seed=1
    )
    made = time.perf_counter() - started
    taking, saving, reading = [], [], []
    for call in range(calls):
        reviewer = ("ana", "ben")[call % 2]
        started = time.perf_counter()
        item = queue.next_item(reviewer)
        taking.append(time.perf_counter() - started)
        started = time.perf_counter()
        queue.save(reviewer, item.position, "label", "wrong")
        saving.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.query(APP, filters=[("join_key", "==", item.join_key)])
        reading.append(time.perf_counter() - started)
    next_ms = statistics.median(taking) * 1000
    read_ms = statistics.median(reading) * 1000
    print(f"  {label}: queue of {queue.total:,} items made in {made:.1f} s")
    print(
        f"  {label}: next item median {next_ms:.1f} ms, p95 "
        f"{percentile(taking, 0.95) * 1000:.1f} ms (goal 100 ms: {next_ms / 100:.2f} of it); "
        f"save median {statistics.median(saving) * 1000:.1f} ms"
    )
    print(
        f"  {label}: ratio next item / one record read by join key "
        f"({read_ms:.1f} ms) = {next_ms / read_ms:.2f}"
    )
    client.delete_review_queue(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gantry-alerts.db"))
    args = parser.parse_args()
    store = f"sqlite:///{args.db}"
    work = args.db.parent / f"{args.db.stem}-work"
    for engine in ("lake", "sql"):
        client = Client(
            store, blobs=work / "blobs", spool_dir=work / f"r-{engine}", analytics=engine
        )
        stored = stored_records(client)
        if stored not in (0, args.records) or (stored and not is_prepared(client)):
            raise SystemExit(f"{store} holds {stored} records; delete it or pass another --db")
        if not stored:
            seeding, _ = prepare(client, args.records)
            print(f"seeded {args.records:,} records in {seeding:.0f} s")
        client.export_lake(APP)
        print(f"{engine} engine, {stored_records(client):,} records, {args.calls} items")
        measure(client, engine, args.items, args.calls)
        client.close()


if __name__ == "__main__":
    main()
