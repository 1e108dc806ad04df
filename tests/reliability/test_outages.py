"""Outages under steady load: the S3 server and the PostgreSQL server are
stopped while a producer keeps logging, then brought back; every record sent
is stored exactly once (blobs included), and the counts are printed.

GANTRY_OUTAGE_SECONDS sets how long each server stays down (default 3; the
long variant is 30)."""

from __future__ import annotations

import os
import threading
import time
import uuid

from gantry_gradio import Client

APP = "outage-app"
OUTAGE_SECONDS = float(os.environ.get("GANTRY_OUTAGE_SECONDS", "3"))


class Producer:
    """Logs one record every 10 ms, with a small binary blob, until stopped."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.sent: dict[str, bytes] = {}
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            raw = f"blob {i}".encode()
            try:
                key = self.client.log_record(APP, inputs={"raw": raw, "i": i})
            except Exception as exc:  # noqa: BLE001 - a log call must never fail here
                self.errors.append(exc)
            else:
                self.sent[key] = raw
            i += 1
            time.sleep(0.01)

    def __enter__(self) -> Producer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def run_outage(client: Client, stop, start) -> Producer:
    with Producer(client) as producer:
        time.sleep(0.5)
        stop()
        time.sleep(OUTAGE_SECONDS)
        during = len(producer.sent)
        assert client.stats()["pending"] > 0, "records wait in the spool during the outage"
        start()
        time.sleep(0.5)
    assert len(producer.sent) > during, "logging went on after the recovery too"
    return producer


def assert_all_stored(client: Client, producer: Producer, what: str) -> None:
    assert producer.errors == []
    assert client.flush(180), client.stats()
    stored = client.query(APP, limit=None).set_index("join_key")
    assert len(stored) == len(producer.sent) and set(stored.index) == set(producer.sent)
    sample = list(producer.sent)[:: max(1, len(producer.sent) // 50)]
    for key in sample:
        assert client.read_blob(stored.loc[key, "inputs.raw"]) == producer.sent[key]
    assert client.stats()["rejected"] == 0
    print(
        f"\n{what} down {OUTAGE_SECONDS:.0f} s mid-load: sent {len(producer.sent)}, "
        f"stored {len(stored)}"
    )


def test_s3_down_mid_load_loses_nothing(s3_server, s3_bucket, tmp_path):
    client = Client(
        f"sqlite:///{tmp_path / 'r.db'}",
        f"s3://{s3_bucket}/outage",
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    try:
        try:
            producer = run_outage(client, s3_server.stop, s3_server.start)
        finally:
            if s3_server._server is None:
                s3_server.start()
        assert_all_stored(client, producer, "S3")
    finally:
        client.close()


def test_postgresql_down_mid_load_loses_nothing(own_postgres, tmp_path):
    store = own_postgres.create_database(f"outage_{uuid.uuid4().hex[:8]}")
    client = Client(store, tmp_path / "blobs", spool_dir=tmp_path / "spool")
    try:
        producer = run_outage(client, own_postgres.stop, own_postgres.start)
        assert_all_stored(client, producer, "PostgreSQL")
    finally:
        client.close()
