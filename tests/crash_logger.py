"""A logging process to SIGKILL mid-delivery, and the helper that does it.

Run as a script: log N records (`records`: one log_record call each, with a
blob, as `crash-app`; `grouped`: one log_record call each with feedback and
no blob, which the worker groups into bulk inserts, as `grouped-crash-app`;
`bulk`: log_records calls of 1,000 with feedback, as `bulk-crash-app`), say
so, then wait to be killed. Delivery stores the first batch for real, then
stalls (a store that stopped answering), so the kill always lands
mid-delivery, whatever the machine's speed. In `grouped` mode the second
batch is stored too, and the stall comes before the spool learns it: the
next process delivers that batch a second time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).parent


def run_and_kill(store: str, blobs: Path, spool: Path, count: int, mode: str = "records") -> None:
    """Start the logger on this checkout (PYTHONPATH, not whatever package is
    installed), wait until it logged everything, SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "crash_logger.py"), store, str(blobs), str(spool)]
        + [str(count), mode],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE.parent,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    try:
        assert proc.stdout.readline().strip() == "logged"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


STALLED = threading.Event()


def _stall_after_first_call(obj: object, name: str, *, store_second: bool = False) -> None:
    """The method stores its first call's entries, then never returns
    (`store_second`: after storing the second call's entries)."""
    original = getattr(obj, name)
    first_done = threading.Event()

    def store_then_stall(entries):
        stall = first_done.is_set()
        if stall and not store_second:
            time.sleep(600)
        result = original(entries)
        first_done.set()
        if stall:
            STALLED.set()
            time.sleep(600)
        return result

    setattr(obj, name, store_then_stall)


def _log_records(client, count: int) -> None:
    for i in range(count):
        client.log_record(
            "crash-app",
            inputs={"i": i, "raw": f"blob {i % 7}".encode()},
            outputs={"inference": f"out {i}"},
            join_key=f"key-{i}",
        )


def _log_grouped(client, count: int) -> None:
    for i in range(count):
        client.log_record(
            "grouped-crash-app",
            inputs={"i": i},
            outputs={"inference": f"out {i}"},
            feedback={"accepted": i % 2 == 0},
            join_key=f"key-{i}",
        )


def _log_bulk(client, count: int) -> None:
    import pandas as pd

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


if __name__ == "__main__":
    from gantry_gradio import Client

    store, blobs, spool, count, mode = sys.argv[1:6]
    client = Client(store, blobs=blobs, spool_dir=spool, batch_size=1000 if mode == "bulk" else 500)
    writer = client.worker.writer
    if mode == "grouped":
        _stall_after_first_call(writer, "write_bulk", store_second=True)
    else:
        _stall_after_first_call(writer, "write_bulk" if mode == "bulk" else "write")
    logger = {"bulk": _log_bulk, "grouped": _log_grouped, "records": _log_records}[mode]
    logger(client, int(count))
    if mode == "grouped":
        STALLED.wait(60)  # the kill lands after the second batch was stored
    print("logged", flush=True)
    time.sleep(600)
