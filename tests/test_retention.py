"""Hot and cold (lake/retention.py, lake/late_feedback.py): with
`retention_days` set, days past it leave the SQL store once their lake file
is verified to hold them, and every read answers as before: the same
history with and without retention gives the same answers to every read of
the contract, through late feedback for a cold record, a restart, and a
process killed while a day goes cold."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from gantry_gradio import Client
from gantry_gradio.lake import LakeRecordStore
from gantry_gradio.store import Selection
from tests.test_lake import (
    _assert_stores_agree,
    _fixed_records,
    _lake_client,
    _local_path,
    _log,
    _partitions,
    _sql,
)

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

APP = "retained-app"
HERE = Path(__file__).parent


@pytest.fixture(params=["sqlite", "postgresql"])
def two_stores(request, tmp_path) -> list[str]:
    """Two empty stores of one kind: SQLite files, or databases on a real
    PostgreSQL server."""
    if request.param == "sqlite":
        return [f"sqlite:///{tmp_path / name}.db" for name in ("cold", "warm")]
    server = request.getfixturevalue("postgres")
    return [server.create_database(f"t_{uuid.uuid4().hex[:12]}") for _ in range(2)]


def _sql_rows(client: Client, application: str) -> int:
    table = client.catalog.table(client.catalog.application_id(application))
    with client.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def _log_keyed(client: Client, application: str, records: list[dict]) -> list[str]:
    """test_lake's history, with join keys of its own (the twins must match)."""
    keys = client.log_records(
        application,
        inputs=[{"i": i} for i in range(len(records))],
        outputs=[r["outputs"] for r in records],
        feedbacks=[r["feedback"] for r in records],
        tags=[r["tags"] for r in records],
        timestamps=[r["timestamp"] for r in records],
        join_keys=[f"key-{i:03d}" for i in range(len(records))],
    )
    assert client.flush(60)
    return keys


def _twins(tmp_path: Path, stores: list[str]) -> tuple[Client, Client, list[str]]:
    """Two stores with one history: `cold` will keep 30 days in SQL, `warm`
    everything."""
    records = _fixed_records(range(5), 9)
    cold = _lake_client(stores[0], tmp_path / "cold")
    warm = _lake_client(stores[1], tmp_path / "warm")
    for client in (cold, warm):
        keys = _log_keyed(client, APP, records)
        client.create_view(APP, "young", "2022-04-02", "2022-04-05", ["tags.num < 10"])
        client.export_lake(APP)
    return cold, warm, keys


def test_every_read_answers_alike_before_and_after_days_go_cold(tmp_path, two_stores):
    cold, warm, keys = _twins(tmp_path, two_stores)
    try:
        assert _assert_stores_agree(cold.store, warm.store, APP, "young") >= 80
        cold.set_retention(APP, 30)
        assert cold.get_retention(APP) == 30 and warm.get_retention(APP) is None
        report = cold.export_lake(APP)[0]
        assert report.cold_days == [f"2022-04-0{d}" for d in range(1, 6)]
        assert _sql_rows(cold, APP) == 0 and _sql_rows(warm, APP) == 45
        _assert_stores_agree(cold.store, warm.store, APP, "young")
        assert cold.stored_join_keys(APP, keys[:5] + ["nope"]) == set(keys[:5])
        chosen = cold.store.rows_for_keys(Selection(APP), keys[10:13])
        assert list(chosen["join_key"]) == keys[10:13]

        # Late feedback for a record only the lake holds: the day is rewritten with it.
        days = {}
        for client in (cold, warm):
            client.log_record(APP, feedback={"ok": True, "note": "late"}, join_key=keys[3])
            client.log_record(APP, feedback={"ok": False, "mixed": [1]}, join_key=keys[12])
            assert client.flush(60)
            days[client] = client.export_lake(APP)[0].days
        assert days[cold] == days[warm] == ["2022-04-01", "2022-04-02"]
        rewritten = cold.export_lake(APP)[0]
        assert rewritten.days == [] and _sql_rows(cold, APP) == 0
        note = cold.query(APP, filters=[("feedback.note", "==", "late")])
        assert list(note["join_key"]) == [keys[3]]
        _assert_stores_agree(cold.store, warm.store, APP, "young")

        # A new process (its own DuckDB copy) answers alike too.
        fresh = LakeRecordStore(_sql(cold), cold.blobs, tmp_path / "fresh", sync_seconds=0)
        _assert_stores_agree(fresh, warm.store, APP, "young")
        fresh.close()

        # A prediction logged late onto a cold day joins it; the day goes cold again.
        for client in (cold, warm):
            client.log_record(
                APP,
                outputs={"score": 1.5},
                tags={"num": 3, "txt": "a"},
                join_key="late-prediction",
                timestamp=pd.Timestamp("2022-04-02T10:00:00Z"),
            )
            assert client.flush(60)
        _assert_stores_agree(cold.store, warm.store, APP, "young")
        assert cold.export_lake(APP)[0].cold_days == ["2022-04-02"]
        _assert_stores_agree(cold.store, warm.store, APP, "young")
    finally:
        cold.close()
        warm.close()


def test_a_day_whose_file_is_not_the_exported_one_stays_hot(tmp_path):
    client = _lake_client(None, tmp_path)
    try:
        _log(client, APP, _fixed_records(range(3), 6))
        client.export_lake(APP)
        victim = _local_path(_partitions(client, APP)["2022-04-02"])
        table = pq.read_table(victim)
        pq.write_table(table.slice(1), victim)  # a record short
        client.set_retention(APP, 30)
        report = client.export_lake(APP)[0]
        assert report.cold_days == ["2022-04-01", "2022-04-03"]
        assert _sql_rows(client, APP) == 6, "April 2 stays in SQL"
        assert len(client.query(APP, limit=None)) == 18
    finally:
        client.close()


@pytest.mark.parametrize("days", [0, -3, 1.5, True, "7"])
def test_a_retention_that_is_not_whole_days_is_refused(tmp_path, days):
    client = _lake_client(None, tmp_path)
    try:
        _log(client, APP, _fixed_records(range(1), 2))
        with pytest.raises(ValueError, match="whole number"):
            client.set_retention(APP, days)
        assert client.get_retention(APP) is None
    finally:
        client.close()


def test_retention_needs_the_lake_engine(tmp_path):
    client = Client(
        f"sqlite:///{tmp_path / 'r.db'}", blobs=tmp_path / "b", spool_dir=tmp_path / "s",
        analytics="sql",
    )
    try:
        client.log_record(APP, inputs={"x": 1})
        assert client.flush(60)
        with pytest.raises(ValueError, match='analytics="lake"'):
            client.set_retention(APP, 7)
    finally:
        client.close()


MOVER = """
import sys, time
from gantry_gradio import Client
from gantry_gradio.lake import retention


client = Client(sys.argv[1], blobs=sys.argv[2], spool_dir=sys.argv[3], analytics="lake",
                lake_export_seconds=3600)
take_lock = retention.lock_state

def lock_then_stall(conn, app_id):
    take_lock(conn, app_id)
    conn.execute(retention.sa.text("SELECT 1"))
    print("inside", flush=True)
    time.sleep(600)

retention.lock_state = lock_then_stall
client.set_retention(sys.argv[4], 30)
client.export_lake(sys.argv[4])
"""


def test_a_process_killed_while_a_day_goes_cold_loses_nothing(tmp_path):
    client = _lake_client(None, tmp_path)
    _log(client, APP, _fixed_records(range(3), 6))
    client.export_lake(APP)
    before = client.query(APP, limit=None)
    client.close()
    mover = subprocess.Popen(
        [sys.executable, "-c", MOVER, f"sqlite:///{tmp_path / 'records.db'}",
         str(tmp_path / "blobs"), str(tmp_path / "spool-mover"), APP],
        stdout=subprocess.PIPE, text=True, cwd=HERE.parent,
    )
    try:
        assert mover.stdout.readline().strip() == "inside"
    finally:
        mover.send_signal(signal.SIGKILL)
        mover.wait(30)
    client = _lake_client(None, tmp_path)
    try:
        after = client.query(APP, limit=None)
        pd.testing.assert_frame_equal(after, before)
        assert _sql_rows(client, APP) == 18, "the killed move left the day in SQL"
        assert client.export_lake(APP)[0].cold_days == ["2022-04-01", "2022-04-02", "2022-04-03"]
        pd.testing.assert_frame_equal(client.query(APP, limit=None), before)
        assert _sql_rows(client, APP) == 0
    finally:
        client.close()
