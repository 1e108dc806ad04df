"""client.import_records: history written straight into the lake's days,
checked as logging checks, read back exactly as logged records are, and
idempotent: running an import again adds nothing. A live record landing on
an imported day later keeps the imported ones (the day's export merges)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from gantry_gradio import Client
from gantry_gradio.store.schema import lake_partitions
from tests.test_lake import _lake_client

APP = "imported-app"
APRIL = pd.Timestamp("2022-04-01", tz="UTC")


def _history(count: int, start: int = 0) -> pd.DataFrame:
    rows = range(start, start + count)
    return pd.DataFrame(
        {
            "timestamp": [APRIL + pd.Timedelta(minutes=41 * i) for i in rows],
            "join_key": [f"k{i}" for i in rows],
            "inputs.text": [f"she go {i}" if i % 9 else "nul\x00here" for i in rows],
            "outputs.inference": [f"she goes {i}" for i in rows],
            "tags.account_age_days": [float(i % 50) if i % 7 else None for i in rows],
            "feedback.correction_accepted": [i % 3 != 0 for i in rows],
        }
    )


def _logged_like(client: Client, frame: pd.DataFrame, application: str) -> None:
    """The same records through log_records, the ordinary path."""
    def section(prefix):
        columns = [c for c in frame.columns if c.startswith(prefix + ".")]
        return [
            {c.split(".", 1)[1]: v for c, v in zip(columns, row, strict=True) if not pd.isna(v)}
            for row in frame[columns].itertuples(index=False)
        ]

    client.log_records(
        application,
        inputs=section("inputs"),
        outputs=section("outputs"),
        feedbacks=section("feedback"),
        tags=section("tags"),
        join_keys=list(frame["join_key"]),
        timestamps=list(frame["timestamp"]),
    )
    assert client.flush(60)


def _stored(client: Client, application: str) -> pd.DataFrame:
    frame = client.query(application, limit=None)
    return frame.sort_values("join_key").reset_index(drop=True)


def _partition_files(client: Client, application: str) -> dict[int, str]:
    app_id = client.catalog.application_id(application)
    t = lake_partitions
    with client.engine.connect() as conn:
        stmt = sa.select(t.c.day_us, t.c.uri).where(t.c.application_id == app_id)
        return {day: uri for day, uri in conn.execute(stmt)}


def test_imported_history_reads_as_logged_history_and_again_adds_nothing(tmp_path):
    client = _lake_client(None, tmp_path)
    try:
        history = _history(300)  # ~8.5 days
        report = client.import_records(history, APP, version="v1")
        assert report.imported == 300 and report.skipped == 0
        assert report.days[0] == "2022-04-01" and len(report.days) == 9

        _logged_like(client, history, "logged-app")
        client.export_lake("logged-app")
        imported, logged = _stored(client, APP), _stored(client, "logged-app")
        logged["version"] = "v1"
        pd.testing.assert_frame_equal(imported, logged, check_like=True)
        assert imported.loc[imported["join_key"] == "k0", "inputs.text"].item() == "nul\ufffdhere"
        assert client.percent_true(APP, "feedback.correction_accepted").equals(
            client.percent_true("logged-app", "feedback.correction_accepted")
        )

        files = _partition_files(client, APP)
        again = client.import_records(history, APP, version="v1")
        assert (again.imported, again.skipped, again.days) == (0, 300, [])
        assert _partition_files(client, APP) == files, "nothing rewritten"
        more = client.import_records(_history(40, start=290), APP, version="v1")
        assert (more.imported, more.skipped) == (30, 10)
        assert len(client.query(APP, limit=None)) == 330
    finally:
        client.close()


def test_parquet_and_arrow_inputs_and_derived_keys_are_stable(tmp_path):
    client = _lake_client(None, tmp_path)
    try:
        history = _history(50).drop(columns=["join_key"])
        path = tmp_path / "history.parquet"
        pq.write_table(pa.Table.from_pandas(history, preserve_index=False), path)
        first = client.import_records(path, APP)
        assert first.imported == 50
        keys = set(client.query(APP, limit=None)["join_key"])
        assert len(keys) == 50 and all(k.startswith("imp-") for k in keys)
        table = pa.Table.from_pandas(history, preserve_index=False)
        assert client.import_records(table, APP).imported == 0, "same rows, same keys"
    finally:
        client.close()


@pytest.mark.parametrize(
    "change, error",
    [
        (lambda f: f.rename(columns={"inputs.text": "text"}), "column 'text' is not"),
        (lambda f: f.assign(**{"inputs.list": [[1]] * len(f)}), "column 'inputs.list' is list"),
        (lambda f: f.drop(columns=["timestamp"]), "needs a 'timestamp' column"),
        (
            lambda f: f.assign(timestamp=pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=2)),
            "in the future",
        ),
        (lambda f: f.assign(join_key="same"), "has a key twice"),
        (lambda f: f.assign(join_key="x" * 300), "over 256 characters"),
        (lambda f: f.assign(**{"tags.big": 2**60}), "beyond 2\\*\\*53"),
        (lambda f: f.assign(**{"outputs.inference": 1.5}), "stored as text"),
        (lambda f: f.assign(**{"inputs.huge": "x" * 1_000_001}), "over 1,000,000 characters"),
        (lambda f: f.assign(version="v\x00"), "NUL"),
        (lambda f: f.assign(version=""), "empty or longer"),
        (lambda f: pd.concat([f, f[["inputs.text"]]], axis=1), "Duplicate column names"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(tmp_path, change, error):
    client = _lake_client(None, tmp_path)
    try:
        client.import_records(_history(10, start=100), APP)
        before = _partition_files(client, APP)
        with pytest.raises((ValueError, TypeError), match=error):
            client.import_records(change(_history(20)), APP)
        assert _partition_files(client, APP) == before
        assert len(client.query(APP, limit=None)) == 10
    finally:
        client.close()


def test_a_live_day_is_refused_and_a_later_live_record_keeps_the_imported_ones(tmp_path):
    client = _lake_client(None, tmp_path)
    try:
        client.log_record(APP, inputs={"text": "live"}, timestamp=APRIL + pd.Timedelta(days=20))
        assert client.flush(60)
        with pytest.raises(ValueError, match="2022-04-21 has records in the SQL store"):
            client.import_records(_history(2).assign(timestamp=APRIL + pd.Timedelta(days=20)), APP)

        client.import_records(_history(30), APP)  # April 1 and 2
        late = client.log_record(
            APP, inputs={"text": "late live"}, timestamp=APRIL + pd.Timedelta(hours=3)
        )
        assert client.flush(60)
        client.export_lake(APP)  # April 1 now has a SQL row: its file is merged
        stored = client.query(APP, limit=None)
        assert len(stored) == 32 and late in set(stored["join_key"])
        assert set(_history(30)["join_key"]) <= set(stored["join_key"])
        with pytest.raises(ValueError, match="2022-04-01 has records in the SQL store"):
            client.import_records(_history(30), APP)
    finally:
        client.close()


def test_import_needs_the_lake_engine(tmp_path):
    client = Client(
        f"sqlite:///{tmp_path / 'r.db'}", blobs=tmp_path / "b", spool_dir=tmp_path / "s",
        analytics="sql",
    )
    try:
        with pytest.raises(ValueError, match='analytics="lake"'):
            client.import_records(_history(3), APP)
    finally:
        client.close()
