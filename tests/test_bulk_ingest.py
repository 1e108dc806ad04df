"""log_records' bulk path keeps every guarantee of the per-record path: it
stores exactly what log_record would, a bad record refuses the whole call, a
SIGKILL mid-delivery loses nothing, a join key logged twice is stored once,
stored feedback is merged, and a damaged bulk spool line costs only itself
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from gantry_gradio import Client
from gantry_gradio.ingest import record_groups
from tests.crash_logger import run_and_kill

APP = "bulk-app"
START = pd.Timestamp("2022-04-01", tz="UTC")


def _counting_paths(client: Client) -> dict[str, int]:
    """Records handed to the bulk writer, and records that took the
    per-record path (on their own, or as the bulk writer's fallback)."""
    counts = {"bulk": 0, "per record": 0}
    writer = client.worker.writer
    write_bulk, write = writer.write_bulk, writer.write

    def bulk(entries):
        counts["bulk"] += sum(entry.count for entry in entries)
        return write_bulk(entries)

    def per_record(entries):
        counts["per record"] += len(entries)
        return write(entries)

    writer.write_bulk, writer.write = bulk, per_record
    return counts


def _records(n: int, offset: int = 0) -> dict:
    """A backfill's mixed shape: keys missing in some records, None values,
    non-ASCII and NUL text, NaN, ints beside floats, feedback on some."""
    rows = range(offset, offset + n)
    return {
        "inputs": [
            {"text": f"é{i}\x00" if i % 5 == 0 else f"t{i}", "n": i if i % 2 else i + 0.5}
            | ({"rare": True} if i % 7 == 0 else {})
            for i in rows
        ],
        "outputs": [{"out": None if i % 3 == 0 else f"o{i}", "score": math.nan} for i in rows],
        "feedbacks": [{"ok": i % 2 == 0} if i % 4 else {} for i in rows],
        "tags": [{"user": f"u{i % 3}"} for i in rows],
        "timestamps": [START + pd.Timedelta(minutes=i) for i in rows],
        "join_keys": [f"key-{i}" for i in rows],
    }


def _stored(client: Client, application: str) -> pd.DataFrame:
    assert client.flush(60), client.stats()
    frame = client.query(application)
    frame = frame.drop(columns=[c for c in frame.columns if c in ("logged_at",)])
    return frame.sort_values("join_key").reset_index(drop=True)


def _log_one_by_one(client: Client, application: str, columns: dict) -> None:
    for i in range(len(columns["inputs"])):
        client.log_record(
            application,
            version=3,
            inputs=columns["inputs"][i],
            outputs=columns["outputs"][i],
            feedback=columns["feedbacks"][i] or None,
            tags=columns["tags"][i],
            join_key=columns["join_keys"][i],
            timestamp=columns["timestamps"][i],
        )


def test_bulk_stores_exactly_what_log_record_stores(client, monkeypatch):
    """Three ways in, one result: a log_records call; log_record calls in a
    row, which the worker groups into one bulk insert; and the same calls
    written one by one (grouping off)."""
    counts = _counting_paths(client)
    columns = _records(60)
    # The worker is held inside the bulk call's insert while the 60 calls are
    # logged, so it reads them as one run whatever the machine's load (else a
    # busy machine lets it read the first few alone, below a group's minimum).
    held, release = threading.Event(), threading.Event()
    counting_bulk = client.worker.writer.write_bulk

    def hold_once(entries):
        if not held.is_set():
            held.set()
            release.wait(60)
        return counting_bulk(entries)

    client.worker.writer.write_bulk = hold_once
    client.log_records(APP, version=3, **columns)
    assert held.wait(60)
    _log_one_by_one(client, "grouped", columns)
    release.set()
    bulk, grouped = _stored(client, APP), _stored(client, "grouped")
    assert counts == {"bulk": 120, "per record": 0}, "a bulk call or a group fell back"
    monkeypatch.setattr(record_groups, "MIN_GROUP", 10**9)
    _log_one_by_one(client, "per-record", columns)
    single = _stored(client, "per-record")
    assert counts == {"bulk": 120, "per record": 60}
    pd.testing.assert_frame_equal(bulk, single, check_like=True)
    pd.testing.assert_frame_equal(grouped, single, check_like=True)
    assert bulk.loc[0, "inputs.text"] == "é0\ufffd", "NUL became U+FFFD as documented"
    assert bulk["feedback.ok"].notna().sum() == 45
    assert client.stats()["rejected"] == 0


def test_a_bad_record_refuses_the_whole_call(client):
    columns = _records(50)
    columns["inputs"][17] = {"text": object()}
    with pytest.raises(TypeError, match="record 17"):
        client.log_records(APP, **columns)
    columns = _records(50)
    columns["timestamps"][30] = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    with pytest.raises(ValueError, match="record 30.*future"):
        client.log_records(APP, **columns)
    assert client.stats()["pending"] == 0
    assert client.list_applications() == []


def test_a_join_key_logged_twice_is_stored_once(client):
    counts = _counting_paths(client)
    first = _records(40)
    client.log_records(APP, **first)
    assert client.flush(60)
    again = _records(40, offset=20)  # 20 stored keys, 20 new ones
    again["join_keys"][-1] = again["join_keys"][-2]  # and one key twice in the call
    client.log_records(APP, **again)
    frame = _stored(client, APP)
    assert len(frame) == 59
    assert frame["join_key"].is_unique
    assert client.stats()["duplicates"] == 21
    assert counts == {"bulk": 80, "per record": 40}, "the second call fell back"


def test_feedback_stored_before_its_bulk_prediction_is_merged(client):
    for i in range(0, 30, 3):
        client.log_record(APP, feedback={"late": f"f{i}"}, join_key=f"key-{i}")
    assert client.flush(60)
    columns = _records(30)
    client.log_records(APP, **columns)
    frame = _stored(client, APP).set_index("join_key")
    frame = frame.astype(object).where(frame.notna(), None)
    for i in range(30):
        row = frame.loc[f"key-{i}"]
        assert row["feedback.late"] == (f"f{i}" if i % 3 == 0 else None)
        assert row["feedback.ok"] == (None if i % 4 == 0 else i % 2 == 0)


def test_sigkill_mid_bulk_delivery_loses_nothing(tmp_path, store_url):
    count = 5000
    blobs, spool = tmp_path / "blobs", tmp_path / "spool"
    run_and_kill(store_url, blobs, spool, count, mode="bulk")
    recovered = Client(store_url, blobs=blobs, spool_dir=spool)
    try:
        frame = _stored(recovered, "bulk-crash-app")
        assert sorted(frame["join_key"]) == sorted(f"key-{i}" for i in range(count))
        assert (frame["feedback.accepted"] == (frame["inputs.i"] % 2 == 0)).all()
        stats = recovered.stats()
        assert stats["rejected"] == 0 and 0 < stats["delivered"] < count, stats
    finally:
        recovered.close()


def _bulk_line(keys: list, **overrides) -> bytes:
    now = int(time.time() * 1e6)
    entry = {
        "bulk": 1,
        "id": "b" * 32,
        "application": APP,
        "version": None,
        "logged_at": now,
        "constants": {},
        "join_keys": keys,
        "timestamps": [now] * len(keys),
        "columns": {"inputs.text": [f"t{k}" for k in keys]},
        "events": None,
    } | overrides
    return json.dumps(entry).encode() + b"\n"


def test_a_damaged_bulk_line_costs_only_itself(tmp_path, store_url):
    """Spool lines are input: a bulk line of the wrong shape is rejected whole,
    a bad record inside a good line alone; every other record is delivered."""
    client = Client(store_url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    folder = client.spool.directory
    client.close()
    lines = [
        _bulk_line(["a1", "a2", "a3"]),
        _bulk_line(["b1", "b2"], columns={"inputs.text": "not a list"}),
        _bulk_line(["c1", "x" * 300, "c3"], id="c" * 32),
        _bulk_line(["d1", "d2"], id="d" * 32, columns={"elsewhere.x": [1, 2]}),
        _bulk_line(["e1", "e2"], id="e" * 32, columns={"inputs.text": [{"nested": 1}, "e"]}),
    ]
    (folder / "99999-deadbeef0000.log").write_bytes(b"".join(lines))
    recovered = Client(store_url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    try:
        frame = _stored(recovered, APP)
        assert sorted(frame["join_key"]) == ["a1", "a2", "a3", "c1", "c3", "e1", "e2"]
        assert recovered.stats()["rejected"] == 3
        reasons = [
            json.loads(line)["reason"]
            for line in Path(recovered.stats()["rejected_file"]).read_text().splitlines()
        ]
        assert any("join_key" in reason for reason in reasons)
        assert any("outside inputs/outputs/tags/feedback" in reason for reason in reasons)
    finally:
        recovered.close()


def test_a_value_the_database_refuses_costs_only_its_record(tmp_path, store_url):
    """A hand-written bulk line with NUL in a text (log_records cleans it):
    PostgreSQL refuses the bulk insert, the records go one by one and only
    that one is rejected; SQLite stores them all."""
    client = Client(store_url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    folder = client.spool.directory
    client.close()
    texts = ["fine", "bad\x00text", "fine too"]
    line = _bulk_line(["n1", "n2", "n3"], columns={"inputs.text": texts})
    (folder / "99999-deadbeef0001.log").write_bytes(line)
    recovered = Client(store_url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    try:
        frame = _stored(recovered, APP)
        refused = store_url.startswith("postgresql")
        assert list(frame["join_key"]) == (["n1", "n3"] if refused else ["n1", "n2", "n3"])
        assert recovered.stats()["rejected"] == int(refused)
    finally:
        recovered.close()


def test_feedback_without_its_event_in_a_bulk_line_goes_record_by_record(tmp_path, store_url):
    """A hand-written line whose feedback values and event flags disagree is
    written as log_record would (feedback kept only with an event), never as
    a row showing feedback its events lack."""
    client = Client(store_url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    folder = client.spool.directory
    client.close()
    columns = {"inputs.text": ["a", "b"], "feedback.ok": [True, False]}
    line = _bulk_line(["f1", "f2"], columns=columns, events=[True, False])
    (folder / "99999-deadbeef0002.log").write_bytes(line)
    recovered = Client(store_url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    try:
        frame = _stored(recovered, APP).set_index("join_key")
        assert frame.loc["f1", "feedback.ok"] == True  # noqa: E712 (a numpy bool)
        assert pd.isna(frame.loc["f2", "feedback.ok"])
    finally:
        recovered.close()
