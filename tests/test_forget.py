"""delete_records: a user's records leave every tier (SQL rows, feedback
events, lake files, stored files, every process's DuckDB copy) whether they
were logged, moved out of SQL by retention or imported; an import never
brings them back; a file another record still uses stays."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from gantry_gradio import Client
from gantry_gradio.lake import LakeRecordStore
from gantry_gradio.store import SqlRecordStore, schema
from tests.test_lake import _lake_client, _s3_lake_client

APP = "forget-app"
APRIL = pd.Timestamp("2022-04-01", tz="UTC")


def _lake_keys(client: Client) -> set[str]:
    """Every join key in the lake's current files, read as any reader would."""
    parts = schema.lake_partitions
    with client.engine.connect() as conn:
        keys = list(conn.scalars(sa.select(parts.c.uri)))
    found: set[str] = set()
    for key in keys:
        path = client.blobs.root / key
        found |= set(pq.read_table(path, columns=["join_key"]).column("join_key").to_pylist())
    return found


def test_a_users_records_leave_every_tier(tmp_path, store_url):
    client = _lake_client(store_url, tmp_path)
    now = pd.Timestamp.now(tz="UTC").floor("s")
    try:
        old = []  # April: exported, then moved out of SQL by retention
        for i in range(12):
            user = "ana" if i % 3 == 0 else "ben"
            photo = b"shared" if i in (0, 1) else f"p{i}".encode()
            old.append(
                client.log_record(
                    APP,
                    inputs={"text": f"old {i}", "photo": photo},
                    outputs={"inference": f"out {i}"},
                    feedback={"accepted": i % 2 == 0},
                    tags={"username": user},
                    timestamp=APRIL + pd.Timedelta(hours=7 * i),
                )
            )
        recent = [
            client.log_record(
                APP,
                inputs={"text": f"new {i}"},
                tags={"username": "ana" if i < 2 else "ben"},
                timestamp=now - pd.Timedelta(minutes=i),
            )
            for i in range(4)
        ]
        assert client.flush(60)
        client.set_retention(APP, 30)
        report = client.export_lake(APP)[0]
        assert report.cold_days == ["2022-04-01", "2022-04-02", "2022-04-03", "2022-04-04"]
        history = pd.DataFrame(
            {
                "timestamp": [APRIL + pd.Timedelta(days=9, hours=i) for i in range(6)],
                "join_key": [f"imported-{i}" for i in range(6)],
                "inputs.text": [f"imported {i}" for i in range(6)],
                "tags.username": ["ana", "ben"] * 3,
            }
        )
        assert client.import_records(history, APP).imported == 6
        other = LakeRecordStore(
            SqlRecordStore(client.engine, client.catalog, client.views),
            client.blobs,
            tmp_path / "other-process",
            sync_seconds=0,
        )
        assert len(other.rows(_everything())) == 22
        ana_files = client.store.referenced_blobs(APP, old[3:4])[old[3]]

        deleted = client.delete_records(APP, tags={"username": "ana"})
        ana = {k for i, k in enumerate(old) if i % 3 == 0} | set(recent[:2])
        ana |= {f"imported-{i}" for i in (0, 2, 4)}
        assert deleted.records == len(ana) == 9
        assert deleted.days == ["2022-04-01", "2022-04-02", "2022-04-03", "2022-04-10"]
        assert deleted.files == 3, "ana's own photos; the one ben shares stays"

        stored = client.query(APP, limit=None)
        assert not ana & set(stored["join_key"]) and len(stored) == 13
        assert set(stored["tags.username"]) == {"ben"}
        assert not ana & _lake_keys(client)
        assert not ana & set(other.rows(_everything())["join_key"]), "the other copy dropped them"
        other.close()
        events = schema.feedback_events.c
        with client.engine.connect() as conn:
            left = set(conn.scalars(sa.select(events.join_key)))
        assert not ana & left and left, "their feedback went, ben's stayed"
        for key in ana_files:
            assert not (client.blobs.root / key).exists()
        shared = client.store.referenced_blobs(APP, old[1:2])[old[1]]
        assert all((client.blobs.root / key).exists() for key in shared)

        assert client.import_records(history, APP).imported == 0, "never brought back"
        assert client.delete_records(APP, [old[1], "no-such-key"]).records == 1
        assert old[1] not in set(client.query(APP, limit=None)["join_key"])
        assert client.export_lake(APP)[0].days == []
    finally:
        client.close()


def _everything():
    from gantry_gradio.store import Selection

    return Selection(APP)


def test_delete_records_needs_a_choice(tmp_path):
    client = _lake_client(None, tmp_path)
    try:
        client.log_record(APP, inputs={"x": 1})
        with pytest.raises(ValueError, match="join_keys or tags"):
            client.delete_records(APP)
        with pytest.raises(TypeError, match="list of join keys"):
            client.delete_records(APP, "one-key")
        assert client.flush(60) and len(client.query(APP)) == 1
    finally:
        client.close()


def test_import_retention_and_deletion_on_s3(s3_server, s3_bucket, tmp_path):
    """The same on a lake in an S3 bucket (moto's server over HTTP): an
    import, a retention move, late feedback for a cold record, a deletion."""
    import boto3

    client = _s3_lake_client(tmp_path, s3_server, s3_bucket)
    try:
        logged = [
            client.log_record(
                APP,
                inputs={"text": f"logged {i}"},
                feedback={"accepted": False},
                tags={"username": "ana" if i % 2 else "ben"},
                timestamp=APRIL + pd.Timedelta(hours=5 * i),
            )
            for i in range(10)
        ]
        assert client.flush(60)
        history = pd.DataFrame(
            {
                "timestamp": [APRIL + pd.Timedelta(days=5, hours=i) for i in range(4)],
                "inputs.text": [f"imported {i}" for i in range(4)],
                "tags.username": ["ana", "ben"] * 2,
            }
        )
        assert client.import_records(history, APP).imported == 4
        client.set_retention(APP, 30)
        assert client.export_lake(APP)[0].cold_days == ["2022-04-01", "2022-04-02"]
        client.log_record(APP, feedback={"accepted": True}, join_key=logged[2])
        assert client.flush(60)
        client.export_lake(APP)
        stored = client.query(APP, limit=None).set_index("join_key")
        assert len(stored) == 14 and stored.loc[logged[2], "feedback.accepted"]
        assert client.delete_records(APP, tags={"username": "ana"}).records == 7
        assert set(client.query(APP, limit=None)["tags.username"]) == {"ben"}
        s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
        listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="prefix/lake/")
        assert all(obj["Key"].startswith("prefix/lake/") for obj in listed["Contents"])
    finally:
        client.close()
