"""Sustained ingest into SQLite: gantry_gradio end to end vs raw sqlite3.executemany.

Ours: log_records() from the caller, 1,000 records a call, then flush() until
the worker stored all rows (validation on the caller's thread, spool append,
JSON round trip, typed insert of each row and of its feedback event). Raw: the
same rows, already as tuples, into an equivalent table with one sqlite3
executemany per 1,000 rows, WAL mode as ours. Same run, same disk: the ratio
is the figure to compare across machines. Then the per-record path, as
monitor() and Gradio callbacks use it: 8 threads each calling log_record
(prediction with feedback) for their share, timed until every row is stored.
`--postgresql` also times both into a PostgreSQL server started for the run
(tests/servers.py).

    python bench/ingest.py [--records 100000] [--postgresql]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent.parent))
from gantry_gradio import Client  # noqa: E402

BATCH = 1000
#: issue 15's goal: the bulk path sustains this, and this share of raw.
GOAL_RECORDS_PER_SECOND = 100_000
GOAL_RATIO = 0.35
#: issue 28's goal for the per-record path (log_record from THREADS threads).
THREADS = 8
GOAL_PER_RECORD = 40_000
GOAL_PER_RECORD_RATIO = 0.15


def make_rows(count: int) -> list[dict]:
    rng = random.Random(7)
    start = pd.Timestamp("2022-04-01", tz="UTC")
    return [
        {
            "timestamp": start + pd.Timedelta(seconds=i * 2.6),
            "text": f"She go to school number {i} every days.",
            "inference": f"She goes to school number {i} every day.",
            "account_age_days": rng.randint(0, 400),
            "accepted": rng.random() < 0.85,
            "username": f"user{rng.randint(0, 500)}",
        }
        for i in range(count)
    ]


def ingest_gantry(rows: list[dict], work: Path, store: str | None = None) -> float:
    client = Client(
        store or f"sqlite:///{work / 'gantry.db'}",
        blobs=work / "blobs",
        spool_dir=work / "spool",
        analytics="sql",  # the write path alone: no lake export pass during the run
    )
    t0 = time.perf_counter()
    for at in range(0, len(rows), BATCH):
        chunk = rows[at : at + BATCH]
        client.log_records(
            "ingest-app",
            inputs=[{"text": r["text"], "account_age_days": r["account_age_days"]} for r in chunk],
            outputs=[{"inference": r["inference"]} for r in chunk],
            feedbacks=[{"correction_accepted": r["accepted"]} for r in chunk],
            tags=[{"env": "prod", "username": r["username"]} for r in chunk],
            timestamps=[r["timestamp"] for r in chunk],
        )
    assert client.flush(3600)
    elapsed = time.perf_counter() - t0
    assert len(client.query("ingest-app", limit=None)) == len(rows)
    client.close()
    return elapsed


def ingest_per_record(rows: list[dict], work: Path, store: str | None = None) -> float:
    """What monitor() and every Gradio callback do: one log_record call per
    prediction, with its feedback, from THREADS threads of one process; timed
    until the worker stored every row."""
    client = Client(
        store or f"sqlite:///{work / 'per-record.db'}",
        blobs=work / "blobs",
        spool_dir=work / "spool-per-record",
        analytics="sql",
    )

    def log_share(share: list[dict]) -> None:
        for r in share:
            client.log_record(
                "per-record-app",
                inputs={"text": r["text"], "account_age_days": r["account_age_days"]},
                outputs={"inference": r["inference"]},
                feedback={"correction_accepted": r["accepted"]},
                tags={"env": "prod", "username": r["username"]},
                timestamp=r["timestamp"],
            )

    t0 = time.perf_counter()
    threads = [
        threading.Thread(target=log_share, args=(rows[i::THREADS],)) for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.flush(3600)
    elapsed = time.perf_counter() - t0
    assert len(client.query("per-record-app", limit=None)) == len(rows)
    client.close()
    return elapsed


def ingest_raw(rows: list[dict], work: Path) -> float:
    db = sqlite3.connect(work / "raw.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE records (join_key TEXT PRIMARY KEY, timestamp_us INTEGER NOT NULL, "
        "text TEXT, account_age_days REAL, inference TEXT, correction_accepted BOOLEAN, "
        "env TEXT, username TEXT)"
    )
    db.execute("CREATE INDEX ix_ts ON records (timestamp_us)")
    t0 = time.perf_counter()
    for at in range(0, len(rows), BATCH):
        db.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    f"k{at + i}",
                    r["timestamp"].value // 1000,
                    r["text"],
                    r["account_age_days"],
                    r["inference"],
                    r["accepted"],
                    "prod",
                    r["username"],
                )
                for i, r in enumerate(rows[at : at + BATCH])
            ],
        )
        db.commit()
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--postgresql", action="store_true", help="also time PostgreSQL")
    args = parser.parse_args()
    rows = make_rows(args.records)
    work = Path(tempfile.mkdtemp(prefix="gantry-ingest-"))
    raw = ingest_raw(rows, work)
    ours = ingest_gantry(rows, work)
    print(f"{args.records} records (prediction + feedback each)")
    print(f"raw sqlite3.executemany   {args.records / raw:10.0f} records/s")
    print(
        f"gantry_gradio end to end  {args.records / ours:10.0f} records/s "
        f"(goal >= {GOAL_RECORDS_PER_SECOND:,})"
    )
    print(f"ratio (gantry / raw): {raw / ours:.3f}  (goal >= {GOAL_RATIO})")
    single = ingest_per_record(rows, work)
    print(
        f"log_record, {THREADS} threads   {args.records / single:10.0f} records/s "
        f"(goal >= {GOAL_PER_RECORD:,})"
    )
    print(f"ratio (log_record / raw): {raw / single:.3f}  (goal >= {GOAL_PER_RECORD_RATIO})")
    if args.postgresql:
        from tests.servers import PostgresServer

        server = PostgresServer()
        try:
            server.start()
            store = server.create_database("ingest")
            seconds = ingest_gantry(rows, work / "postgresql", store)
            single = ingest_per_record(rows, work / "postgresql", store)
        finally:
            server.destroy()
        print(f"gantry_gradio into PostgreSQL  {args.records / seconds:10.0f} records/s")
        print(f"log_record into PostgreSQL     {args.records / single:10.0f} records/s")


if __name__ == "__main__":
    main()
