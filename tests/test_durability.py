"""Nothing logged is lost: SIGKILL, database outages, torn and corrupt spool lines."""

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from gantry_gradio import Client
from tests.crash_logger import run_and_kill

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

APP = "crash-app"
HERE = Path(__file__).parent


def _undelivered_lines(spool: Path) -> int:
    total = 0
    for segment in spool.rglob("*.log"):
        offset_file = segment.with_suffix(".offset")
        offset = int(offset_file.read_bytes() or b"0") if offset_file.exists() else 0
        total += segment.read_bytes()[offset:].count(b"\n")
    return total


def _assert_all_present(client: Client, count: int) -> None:
    assert client.flush(120), client.stats()
    df = client.query(APP)
    assert len(df) == count
    assert sorted(df["join_key"]) == sorted(f"key-{i}" for i in range(count))
    assert client.read_blob(df.set_index("join_key").loc["key-8", "inputs.raw"]) == b"blob 1"
    assert client.stats()["rejected"] == 0


def test_sigkill_right_after_logging_loses_nothing(tmp_path, store_url):
    count = 3000
    blobs, spool = tmp_path / "blobs", tmp_path / "spool"
    run_and_kill(store_url, blobs, spool, count)
    assert _undelivered_lines(spool) > 0, "the kill should land before delivery finished"
    recovered = Client(store_url, blobs=blobs, spool_dir=spool)
    try:
        _assert_all_present(recovered, count)
    finally:
        recovered.close()
    assert _undelivered_lines(spool) == 0


def test_sigkill_after_a_grouped_batch_was_stored_stores_it_once(tmp_path, store_url):
    """log_record calls in a row go in as one bulk insert; killed after the
    store took such a batch but before the spool recorded it, the next
    process delivers it again and stores neither a row nor an event twice."""
    count = 3000
    blobs, spool = tmp_path / "blobs", tmp_path / "spool"
    run_and_kill(store_url, blobs, spool, count, mode="grouped")
    recovered = Client(store_url, blobs=blobs, spool_dir=spool)
    try:
        assert recovered.flush(120), recovered.stats()
        frame = recovered.query("grouped-crash-app", limit=None)
        assert sorted(frame["join_key"]) == sorted(f"key-{i}" for i in range(count))
        assert (frame["feedback.accepted"] == (frame["inputs.i"] % 2 == 0)).all()
        stats = recovered.stats()
        assert stats["duplicates"] > 0, "the stored batch came again"
        assert stats["rejected"] == 0, stats
        with recovered.engine.connect() as conn:
            events = conn.execute(
                sa.text("SELECT count(*), count(DISTINCT join_key) FROM gantry_feedback_events")
            ).one()
        assert tuple(events) == (count, count), "each feedback event stored once"
    finally:
        recovered.close()


def test_sigkill_while_database_is_down_then_recover(tmp_path, own_postgres):
    store = own_postgres.create_database("crash")
    own_postgres.stop()
    blobs, spool = tmp_path / "blobs", tmp_path / "spool"
    run_and_kill(store, blobs, spool, 500)
    assert _undelivered_lines(spool) == 500
    own_postgres.start()
    recovered = Client(store, blobs=blobs, spool_dir=spool)
    try:
        _assert_all_present(recovered, 500)
    finally:
        recovered.close()


def test_database_restart_mid_stream_stores_every_record_once(tmp_path, own_postgres):
    store = own_postgres.create_database("outage")
    client = Client(store, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    keys: list[str] = []

    def produce():
        for i in range(600):
            keys.append(
                client.log_record(
                    APP, inputs={"i": i}, outputs={"o": i}, feedback={"accepted": i % 2 == 0}
                )
            )
            time.sleep(0.005)

    producer = threading.Thread(target=produce)
    try:
        producer.start()
        time.sleep(1.0)
        own_postgres.stop()
        time.sleep(2.0)
        assert client.stats()["last_error"] is not None or client.stats()["pending"] > 0
        own_postgres.start()
        producer.join()
        assert client.flush(120), client.stats()
        df = client.query(APP)
        assert len(df) == 600 and sorted(df["join_key"]) == sorted(keys)
        assert df["feedback.accepted"].sum() == 300
    finally:
        producer.join()
        client.close()


def _orphan_segment(spool: Path, lines: list[bytes]) -> None:
    spool.mkdir(parents=True, exist_ok=True)
    (spool / f"99999-{uuid.uuid4().hex[:12]}.log").write_bytes(b"".join(lines))


def _entry(i: int, **overrides) -> bytes:
    entry = {
        "id": uuid.uuid4().hex,
        "application": APP,
        "version": None,
        "join_key": f"key-{i}",
        "timestamp": 1_650_000_000_000_000 + i,
        "logged_at": 1_650_000_000_000_000,
        "prediction": {"inputs": {"i": i}, "outputs": None, "tags": None},
    }
    entry.update(overrides)
    return json.dumps(entry).encode() + b"\n"


def test_torn_and_corrupt_lines_are_rejected_visibly_and_the_rest_delivered(tmp_path):
    store = f"sqlite:///{tmp_path / 'r.db'}"
    probe = Client(store, blobs=tmp_path / "b", spool_dir=tmp_path / "spool")
    spool_dir = probe.spool.directory
    probe.close()
    _orphan_segment(
        spool_dir,
        [
            _entry(1),
            b"{not json\n",
            _entry(2, application=None),  # passes JSON, refused by the writer
            _entry(3),
            _entry(4)[:25],  # a writer killed mid-line
        ],
    )
    client = Client(store, blobs=tmp_path / "b", spool_dir=tmp_path / "spool")
    try:
        assert client.flush(60)
        assert sorted(client.query(APP)["join_key"]) == ["key-1", "key-3"]
        stats = client.stats()
        assert stats["rejected"] == 3 and stats["pending"] == 0
        reasons = [json.loads(line)["reason"] for line in open(stats["rejected_file"])]
        assert any("not valid JSON" in r for r in reasons)
        assert any("killed mid-write" in r for r in reasons)
        assert len(reasons) == 3
    finally:
        client.close()


def test_a_live_process_segment_is_not_adopted(tmp_path):
    store = f"sqlite:///{tmp_path / 'r.db'}"
    first = Client(store, blobs=tmp_path / "b", spool_dir=tmp_path / "spool")
    second = Client(store, blobs=tmp_path / "b", spool_dir=tmp_path / "spool")
    try:
        for i in range(50):
            first.log_record(APP, inputs={"i": i}, join_key=f"a-{i}")
            second.log_record(APP, inputs={"i": i}, join_key=f"b-{i}")
        assert first.flush(60) and second.flush(60)
        assert len(first.query(APP)) == 100
        assert first.stats()["duplicates"] == second.stats()["duplicates"] == 0
    finally:
        first.close()
        second.close()
    assert not any(Path(tmp_path / "spool").rglob("*.log")), "delivered segments are removed"


FULL_DISK_LOGGER = """
import resource, signal, sys
from gantry_gradio import Client, SpoolError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
client = Client(sys.argv[1], blobs=sys.argv[2], spool_dir=sys.argv[3])
client.worker.stop(5)  # keep everything in the spool, as if the store were down
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
logged = 0
try:
    while True:
        client.log_record("crash-app", inputs={"i": logged, "pad": "x" * 150},
                          join_key=f"key-{logged}")
        logged += 1
except SpoolError as exc:
    print(logged, exc, flush=True)
"""


def test_full_disk_is_a_clear_error_and_leaves_no_half_entry(tmp_path):
    store = f"sqlite:///{tmp_path / 'r.db'}"
    blobs, spool = tmp_path / "b", tmp_path / "s"
    out = subprocess.run(
        [sys.executable, "-c", FULL_DISK_LOGGER, store, str(blobs), str(spool)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=HERE.parent,
        check=True,
    ).stdout
    logged, message = out.split(" ", 1)
    assert "cannot append to the spool" in message and "free disk space" in message
    assert int(logged) > 10
    client = Client(store, blobs=blobs, spool_dir=spool)
    try:
        assert client.flush(60)
        assert len(client.query(APP)) == int(logged)
        assert client.stats()["rejected"] == 0, "the failed append left no partial line"
    finally:
        client.close()


def test_segments_rotate_and_delivered_ones_are_removed(tmp_path):
    client = Client(
        f"sqlite:///{tmp_path / 'r.db'}", blobs=tmp_path / "b", spool_dir=tmp_path / "s"
    )
    try:
        client.spool.segment_bytes = 4_000  # a few dozen entries per segment
        keys = [client.log_record(APP, inputs={"i": i, "text": "x" * 100}) for i in range(400)]
        assert client.flush(60)
        assert sorted(client.query(APP)["join_key"]) == sorted(keys)
        # Retired segments are removed once read to the end; only the active one stays.
        for _ in range(50):
            if len(list(client.spool.directory.glob("*.log"))) == 1:
                break
            time.sleep(0.1)
        assert len(list(client.spool.directory.glob("*.log"))) == 1
    finally:
        client.close()
