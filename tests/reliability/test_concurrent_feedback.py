"""Feedback is exact under concurrency: predictions and their feedback logged
by two OS processes at once (each with its own spool and delivery worker), on
SQLite and PostgreSQL, also when a PostgreSQL outage makes both backlogs drain
together. Every prediction row must show its feedback, or the acceptance rate
undercounts while the event table looks complete."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from gantry_gradio import Client

HERE = Path(__file__).parent
APP = "feedback-race"
COUNT = 3000
OUTAGE_SECONDS = float(os.environ.get("GANTRY_OUTAGE_SECONDS", "12"))


def _start(
    store: str, spool: Path, role: str, count: int, start_at: float, spread: float = 0
) -> subprocess.Popen:
    arguments = [store, str(spool), role, str(count), str(start_at), str(spread)]
    return subprocess.Popen(
        [sys.executable, str(HERE / "feedback_logger.py"), *arguments],
        cwd=HERE.parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]


def _assert_every_row_shows_its_feedback(
    store: str, tmp_path: Path, label: str, count: int
) -> None:
    reader = Client(store, blobs=tmp_path / "r-blobs", spool_dir=tmp_path / "r-spool")
    try:
        rows = reader.query(APP).set_index("join_key")
        accepted = rows["feedback.accepted"]
        shown = int(accepted.notna().sum())
        rate = reader.percent_true(APP, "feedback.accepted", bucket="day")
        counted = int(rate["count"].sum())
        print(f"{label}: {shown:,}/{len(rows):,} rows show their feedback, {counted:,} counted")
        assert len(rows) == count
        assert (shown, counted) == (count, count)
        expected = [i % 3 != 0 for i in range(count)]
        assert [bool(accepted[f"key-{i}"]) for i in range(count)] == expected
        assert int(rate["true"].sum()) == sum(expected)
    finally:
        reader.close()


def test_two_processes_predictions_and_feedback_at_once(store_url, tmp_path):
    start_at = time.time() + 4  # both interpreters import gantry_gradio first
    procs = [
        _start(store_url, tmp_path / role, role, COUNT, start_at)
        for role in ("predictions", "feedback")
    ]
    for proc in procs:
        _finish(proc)
    label = f"{store_url.split('+')[0].split(':')[0]}, two processes"
    _assert_every_row_shows_its_feedback(store_url, tmp_path, label, COUNT)


def test_feedback_a_second_later_through_a_postgres_outage(own_postgres, tmp_path):
    """Predictions stream for 20 s, each one's feedback 1 s after it from the
    other process; PostgreSQL is down from second 4 to 16 of the stream."""
    count, outage = 1000, OUTAGE_SECONDS
    store = own_postgres.create_database("race")
    Client(store, blobs=tmp_path / "b", spool_dir=tmp_path / "s").close()  # schema exists
    start_at = time.time() + 4
    procs = [
        _start(store, tmp_path / "predictions", "predictions", count, start_at, 20),
        _start(store, tmp_path / "feedback", "feedback", count, start_at + 1, 20),
    ]
    time.sleep(max(0.0, start_at + 4 - time.time()))
    own_postgres.stop()
    time.sleep(outage)
    own_postgres.start()
    for proc in procs:
        _finish(proc)
    label = f"postgresql, two processes, feedback 1 s later, {outage:.0f} s outage"
    _assert_every_row_shows_its_feedback(store, tmp_path, label, count)
