"""Run as a subprocess by test_bulk_ingest: log N records in bulk calls (a
prediction and its feedback each), say so, then wait to be killed.

Bulk delivery stores the first batch for real, then stalls (a store that
stopped answering), so the kill always lands mid-delivery."""

import sys
import threading
import time

import pandas as pd

from gantry_gradio import Client

store, blobs, spool, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = Client(store, blobs=blobs, spool_dir=spool)
write_first_batch_only = client.worker.writer.write_bulk
first_done = threading.Event()


def write_then_stall(entries):
    if first_done.is_set():
        time.sleep(600)
    result = write_first_batch_only(entries)
    first_done.set()
    return result


client.worker.writer.write_bulk = write_then_stall
start = pd.Timestamp("2022-04-01", tz="UTC")
for at in range(0, count, 1000):
    part = range(at, min(at + 1000, count))
    client.log_records(
        "bulk-crash-app",
        inputs=[{"i": i} for i in part],
        outputs=[{"inference": f"out {i}"} for i in part],
        feedbacks=[{"accepted": i % 2 == 0} for i in part],
        join_keys=[f"key-{i}" for i in part],
        timestamps=[start + pd.Timedelta(seconds=i) for i in part],
    )
    time.sleep(0.05)  # let the worker take the first call alone
print("logged", flush=True)
time.sleep(600)
