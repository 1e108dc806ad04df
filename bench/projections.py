"""Projection throughput, batched vs one text at a time, and the lag from
log_record to stored projections under a steady 50 records/s.

Detoxify runs a tiny local BERT checkpoint (the hub is unreachable on the build
machines) unless --detoxify-checkpoint and --detoxify-config name a real one.

    python bench/projections.py [--texts 512] [--seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gantry_gradio import Client  # noqa: E402
from gantry_gradio.projections import resolve  # noqa: E402

SENTENCES = [
    "She go to school every days.",
    "You are an idiot and i hate this.",
    "The results was good but the model were slow.",
    "I love this nice little app!",
    "He don't know what to do with the bad data.",
    "It is a stupid idea to kill the process.",
]


def throughput(spec, texts: list[str], batch: int) -> tuple[float, float]:
    projection = resolve(spec)
    values = texts if len(projection.fields) == 1 else [(t, t.lower()) for t in texts]
    projection.fn(values[:batch])  # load models outside the timing
    t0 = time.perf_counter()
    for start in range(0, len(values), batch):
        projection.fn(values[start : start + batch])
    batched = len(values) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for value in values:
        projection.fn([value])
    single = len(values) / (time.perf_counter() - t0)
    return batched, single


def lag(specs: list, seconds: float, rate: float) -> list[float]:
    work = Path(tempfile.mkdtemp(prefix="gantry-lag-"))
    client = Client(
        f"sqlite:///{work / 'r.db'}", blobs=work / "b", spool_dir=work / "s", projections=specs
    )
    logged: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set() or len(seen) < len(logged):
            try:
                app_id = client.catalog.application_id("lag")
                fields = client.catalog.fields(app_id, refresh=True)
                statuses = [
                    fields[p.status_column].column
                    for p in client.projections
                    if p.status_column in fields
                ]
                if len(statuses) == len(client.projections):
                    table = client.catalog.table(app_id)
                    where = [table.c[c].is_not(None) for c in statuses]
                    with client.engine.connect() as conn:
                        done = conn.scalars(sa.select(table.c.join_key).where(*where)).all()
                    now = time.monotonic()
                    for key in done:
                        seen.setdefault(key, now)
            except (LookupError, sa.exc.OperationalError):
                pass  # no records yet, or the writer holds the database a moment
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.monotonic()
    for i in range(int(seconds * rate)):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        key = f"k{i}"
        logged[key] = time.monotonic()
        text = SENTENCES[i % len(SENTENCES)]
        client.log_record(
            "lag", inputs={"text": text}, outputs={"inference": text.lower()}, join_key=key
        )
    stop.set()
    watcher.join(120)
    client.close()
    return [seen[k] - logged[k] for k in logged if k in seen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--detoxify-checkpoint")
    parser.add_argument("--detoxify-config")
    args = parser.parse_args()
    if args.detoxify_checkpoint:
        checkpoint, config = args.detoxify_checkpoint, args.detoxify_config
    else:
        from tests.tiny_detoxify import build

        checkpoint, config = build(Path(tempfile.mkdtemp(prefix="tiny-detoxify-")))
    detoxify = {"name": "detoxify", "checkpoint": str(checkpoint), "config_path": str(config)}
    specs = ["entropy", "edit", "profanity", detoxify]
    texts = [SENTENCES[i % len(SENTENCES)] + f" #{i}" for i in range(args.texts)]

    print(f"throughput on {args.texts} texts, batches of {args.batch} vs one at a time")
    for spec in specs:
        batched, single = throughput(spec, texts, args.batch)
        name = spec if isinstance(spec, str) else spec["name"]
        print(
            f"  {name:<10} {batched:10.0f} texts/s batched  {single:10.0f} one at a time  "
            f"ratio {batched / single:6.1f}x"
        )
    lags = sorted(lag(specs, args.seconds, args.rate))
    p95 = lags[int(0.95 * (len(lags) - 1))]
    print(
        f"lag log_record -> all {len(specs)} projections stored, {args.rate:.0f} records/s "
        f"for {args.seconds:.0f} s: median {statistics.median(lags):.2f} s, p95 {p95:.2f} s "
        f"(goal p95 <= 5 s), {len(lags)} records"
    )


if __name__ == "__main__":
    main()
