"""Aggregation time on 1,000,000 stored records: SQL in the store vs pandas.

Ours: acceptance rate per day, the same for young accounts (a tag filter), and
a 20-bin histogram of account age, each computed in SQL by gantry_gradio.
Baseline: load the rows those need into pandas (read_sql of only the three
columns, its most favourable case) and compute the same numbers there.
Same store file, same run. The store is seeded once and kept (--db) so runs
after the first measure only queries.

    python bench/aggregate.py [--records 1000000] [--db /tmp/gantry-agg.db]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from tqdm import tqdm

from gantry_gradio import Client, UnknownApplicationError

APP = "agg-app"
DAY_US = 86_400_000_000


def feedback(rng: random.Random, age: int) -> dict:
    """Young accounts reject most corrections; one prediction in 50 is flagged."""
    values = {"correction_accepted": rng.random() < (0.3 if age <= 7 else 0.9)}
    if rng.random() < 0.02:
        values["flag"] = rng.choice(["incorrect", "offensive", "other"])
    return values


def seed(client: Client, count: int) -> None:
    """Through the real writer (the worker's path), without the spool's JSON hop."""
    rng = random.Random(3)
    start_us = 1_648_771_200_000_000  # 2022-04-01
    step = 30 * DAY_US // count
    writer = client.worker.writer
    for at in tqdm(range(0, count, 5000), desc="seeding", unit_scale=5000):
        entries = []
        for i in range(at, min(at + 5000, count)):
            age = rng.randint(0, 400)
            entries.append(
                {
                    "id": f"e{i}",
                    "application": APP,
                    "version": "1",
                    "join_key": f"k{i}",
                    "timestamp": start_us + i * step,
                    "logged_at": start_us + i * step,
                    "prediction": {
                        "inputs": {"text": f"She go to school number {i} every days."},
                        "outputs": {"inference": f"She goes to school number {i} every day."},
                        "tags": {
                            "env": "prod",
                            "username": f"user{i % 500}",
                            "account_age_days": age,
                        },
                    },
                    "feedback": feedback(rng, age),
                }
            )
        writer.write(entries)


def ours(client: Client) -> dict:
    daily = client.percent_true(APP, "feedback.correction_accepted", bucket="day")
    young = client.percent_true(
        APP, "feedback.correction_accepted", bucket="day", filters=["tags.account_age_days <= 7"]
    )
    hist = client.histogram(APP, "tags.account_age_days", bins=20)
    return {
        "daily": daily["percent_true"].to_numpy(),
        "young": young["percent_true"].to_numpy(),
        "hist": hist["count"].to_numpy(),
    }


def pandas_baseline(client: Client) -> dict:
    fields = client.catalog.fields(client.catalog.application_id(APP))
    accepted = fields["feedback.correction_accepted"].column
    age = fields["tags.account_age_days"].column
    table = client.catalog.table(client.catalog.application_id(APP))
    with client.engine.connect() as conn:
        df = pd.read_sql(
            sa.select(
                table.c.timestamp_us, table.c[accepted].label("accepted"), table.c[age].label("age")
            ),
            conn,
        )
    df["day"] = df["timestamp_us"] // DAY_US
    daily = df.groupby("day")["accepted"].mean()
    young = df[df["age"] <= 7].groupby("day")["accepted"].mean()
    counts, _ = np.histogram(df["age"], bins=20)
    return {"daily": daily.to_numpy(), "young": young.to_numpy(), "hist": counts}


def timed(fn, client: Client, repeats: int) -> tuple[float, dict]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn(client)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gantry-agg.db"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = args.db.parent / f"{args.db.stem}-spool"
    # the SQL engine's aggregations: bench/dashboard_refresh.py times the lake's
    client = Client(f"sqlite:///{args.db}", blobs=work / "blobs", spool_dir=work, analytics="sql")
    try:
        app_id = client.catalog.application_id(APP)
        with client.engine.connect() as conn:
            stored = conn.scalar(
                sa.select(sa.func.count()).select_from(client.catalog.table(app_id))
            )
    except UnknownApplicationError:
        stored = 0
    if stored != args.records:
        if stored:
            raise SystemExit(f"{args.db} holds {stored} records; delete it or pass another --db")
        seed(client, args.records)
    sql_time, sql_result = timed(ours, client, args.repeats)
    pandas_time, pandas_result = timed(pandas_baseline, client, args.repeats)
    for name in ("daily", "young", "hist"):
        assert np.allclose(sql_result[name], pandas_result[name]), f"{name} differs"
    print(f"{args.records} records in {args.db} (SQLite), median of {args.repeats}")
    print(f"gantry SQL aggregations   {sql_time * 1000:8.0f} ms   (goal <= 300 ms)")
    print(f"load into pandas + agg    {pandas_time * 1000:8.0f} ms")
    print(f"ratio (gantry / pandas): {sql_time / pandas_time:.3f}")
    client.close()


if __name__ == "__main__":
    main()
