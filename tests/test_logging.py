"""log_record / log_records / query round trips, on SQLite and PostgreSQL."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gantry_gradio import File, UnknownApplicationError

APP = "gec-demo-app"


def test_prediction_round_trip_with_flattened_columns(client):
    key = client.log_record(
        APP,
        version="v1",
        inputs={"text": "She go to school.", "account_age_days": 3},
        outputs={"inference": "She goes to school."},
        tags={"env": "prod", "username": "alice", "meta": {"browser": "firefox"}},
        timestamp=dt.datetime(2022, 4, 10, 12, 30, tzinfo=dt.timezone.utc),
    )
    assert client.flush(30)
    df = client.query(APP)
    assert len(df) == 1
    row = df.iloc[0]
    assert row["join_key"] == key
    assert row["version"] == "v1"
    assert row["inputs.text"] == "She go to school."
    assert row["inputs.account_age_days"] == 3
    assert row["outputs.inference"] == "She goes to school."
    assert row["tags.username"] == "alice"
    assert row["tags.meta.browser"] == "firefox"
    assert row["timestamp"] == pd.Timestamp("2022-04-10T12:30:00Z")


def test_a_first_record_with_only_empty_values_is_stored_not_rejected(client):
    """Its application's fields were never read in this process and it brings
    none: the writer once looked them up in an empty cache and rejected it."""
    key = client.log_record("empty-first", inputs={"k": None})
    assert client.flush(30)
    assert client.stats()["rejected"] == 0, client.stats()
    assert list(client.query("empty-first")["join_key"]) == [key]


def test_feedback_before_and_after_prediction_is_merged(client):
    early = client.log_record(APP, feedback={"accepted": False}, join_key="k-early")
    assert early == "k-early"
    client.log_record(APP, inputs={"text": "a"}, outputs={"inference": "A"}, join_key="k-early")
    late = client.log_record(APP, inputs={"text": "b"}, outputs={"inference": "B"})
    assert client.flush(30)
    client.log_record(APP, feedback={"accepted": True}, join_key=late)
    assert client.flush(30)
    df = client.query(APP).set_index("join_key")
    assert bool(df.loc["k-early", "feedback.accepted"]) is False
    assert bool(df.loc[late, "feedback.accepted"]) is True
    assert len(df) == 2, "feedback must not create prediction rows"


def test_latest_feedback_per_field_wins_by_timestamp_not_arrival(client):
    key = client.log_record(
        APP, inputs={"text": "x"}, outputs={"inference": "y"}, timestamp="2022-04-10T00:00:00Z"
    )
    client.log_record(
        APP,
        feedback={"accepted": True, "flag": "other"},
        join_key=key,
        timestamp="2022-04-12T00:00:00Z",
    )
    client.log_record(
        APP, feedback={"accepted": False}, join_key=key, timestamp="2022-04-11T00:00:00Z"
    )  # older, arrives last
    assert client.flush(30)
    row = client.query(APP).iloc[0]
    assert bool(row["feedback.accepted"]) is True
    assert row["feedback.flag"] == "other"


def test_same_join_key_twice_stores_one_prediction(client):
    for _ in range(3):
        client.log_record(APP, inputs={"text": "same"}, outputs={"inference": "s"}, join_key="dup")
    assert client.flush(30)
    assert len(client.query(APP)) == 1
    assert client.stats()["duplicates"] == 2


def test_log_records_batch_with_shared_tags(client):
    n = 250
    keys = client.log_records(
        APP,
        version="2",
        inputs=[{"text": f"t{i}", "i": i} for i in range(n)],
        outputs=[{"inference": f"T{i}"} for i in range(n)],
        feedbacks=[{"accepted": i % 3 == 0} for i in range(n)],
        tags={"env": "backfill"},
        timestamps=[
            pd.Timestamp("2022-04-01", tz="UTC") + pd.Timedelta(minutes=i) for i in range(n)
        ],
    )
    assert len(set(keys)) == n
    assert client.flush(60)
    df = client.query(APP)
    assert len(df) == n
    assert df["feedback.accepted"].sum() == len(range(0, n, 3))
    assert (df["tags.env"] == "backfill").all()
    assert list(df["inputs.i"]) == list(range(n)), "rows come back in timestamp order"


def test_log_records_refuses_mismatched_lengths_before_spooling(client):
    with pytest.raises(ValueError, match="differ in length"):
        client.log_records(APP, inputs=[{"a": 1}], outputs=[{"b": 1}, {"b": 2}])
    with pytest.raises(TypeError, match="record 1"):
        client.log_records(APP, inputs=[{"a": 1}, {"a": object()}])
    assert client.stats()["pending"] == 0


def test_query_window_limit_and_order(client):
    base = pd.Timestamp("2022-04-01", tz="UTC")
    client.log_records(
        APP,
        inputs=[{"n": i} for i in range(10)],
        timestamps=[base + pd.Timedelta(days=i) for i in range(10)],
    )
    assert client.flush(30)
    df = client.query(APP, "2022-04-03", "2022-04-06")
    assert list(df["inputs.n"]) == [2, 3, 4]
    newest = client.query(APP, limit=2, newest_first=True)
    assert list(newest["inputs.n"]) == [9, 8]


def test_documented_conversions(client, tmp_path):
    source = tmp_path / "upload.txt"
    source.write_text("file body")
    image = Image.new("RGB", (4, 3), color=(255, 0, 0))
    key = client.log_record(
        APP,
        inputs={
            "nan": float("nan"),
            "inf": math.inf,
            "nul": "a\x00b",
            "surrogate": "x\ud800y",
            "big_int": 2**70,
            "np_scalar": np.float32(1.5),
            "when": dt.date(2022, 4, 1),
            "list": [1, "two", None],
            "file": File(source),
            "path": source,
            "image": image,
            "array": np.arange(6).reshape(2, 3),
            "raw": b"\x00\x01",
        },
        outputs={"inference": "ok"},
    )
    source.unlink()  # the caller's temp file may vanish right after logging
    assert client.flush(30)
    row = client.query(APP).set_index("join_key").loc[key]
    assert pd.isna(row.get("inputs.nan")) and pd.isna(row.get("inputs.inf")), "NaN/inf become null"
    assert row["inputs.nul"] == "a\ufffdb"
    assert row["inputs.surrogate"] == "x\ufffdy"
    assert row["inputs.big_int"] == str(2**70)
    assert row["inputs.np_scalar"] == 1.5
    assert row["inputs.when"] == "2022-04-01"
    assert row["inputs.list"] == [1, "two", None]
    assert client.read_blob(row["inputs.file"]) == b"file body"
    assert row["inputs.path"] == row["inputs.file"], "same content, same content-addressed key"
    png = client.read_blob(row["inputs.image"])
    assert png.startswith(b"\x89PNG")
    restored = np.load(__import__("io").BytesIO(client.read_blob(row["inputs.array"])))
    assert restored.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert client.read_blob(row["inputs.raw"]) == b"\x00\x01"
    assert "upload" not in row["inputs.file"], "blob keys never come from user file names"


def test_huge_text_moves_to_blob_store_instead_of_being_truncated(client):
    text = "word " * 2_100_000  # ~10 MB
    key = client.log_record(APP, inputs={"text": text}, outputs={"inference": "short"})
    assert client.flush(60)
    uri = client.query(APP).set_index("join_key").loc[key, "inputs.text"]
    assert uri.startswith("file://")
    assert client.read_blob(uri).decode() == text


def test_kind_clash_is_kept_not_dropped(client):
    client.log_record(APP, inputs={"age": 5}, join_key="num")
    assert client.flush(30)
    client.log_record(APP, inputs={"age": "five"}, join_key="txt")
    assert client.flush(30)
    df = client.query(APP).set_index("join_key")
    assert df.loc["num", "inputs.age"] == 5
    assert df.loc["txt", "inputs.age"] == "five"
    assert client.stats()["rejected"] == 0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"inputs": "text"}, TypeError, "inputs must be a dict"),
        ({"inputs": {"x": object()}}, TypeError, "inputs.x is a builtins.object"),
        ({"inputs": {1: "x"}}, TypeError, "keys must be str"),
        ({"feedback": {"accepted": True}}, ValueError, "feedback without join_key"),
        ({}, ValueError, "needs inputs/outputs"),
        ({"inputs": {"a": 1}, "timestamp": "2999-01-01"}, ValueError, "in the future"),
        ({"inputs": {"a": 1}, "timestamp": "not a date"}, ValueError, "not a date"),
        ({"inputs": {"a": 1}, "join_key": 42}, TypeError, "join_key must be a str"),
        ({"inputs": {"a": 1}, "join_key": "x" * 300}, ValueError, "join_key must be 1 to 256"),
        ({"inputs": {"f": File("/no/such/file")}}, FileNotFoundError, "does not exist"),
    ],
)
def test_bad_input_gets_a_clear_error(client, kwargs, error, message):
    with pytest.raises(error, match=message):
        client.log_record(APP, **kwargs)


def test_deeply_nested_input_is_refused(client):
    nested = current = {}
    for _ in range(40):
        current["a"] = {}
        current = current["a"]
    with pytest.raises(ValueError, match="nested deeper"):
        client.log_record(APP, inputs=nested)


def test_bad_application_names(client):
    for bad in ("", None, "x" * 201):
        with pytest.raises(ValueError, match="application"):
            client.log_record(bad, inputs={"a": 1})
    with pytest.raises(UnknownApplicationError, match="no records"):
        client.query("never-logged")


def test_environment_becomes_env_tag(store_url, tmp_path):
    from gantry_gradio import Client

    c = Client(store_url, blobs=tmp_path / "b", spool_dir=tmp_path / "s", environment="staging")
    try:
        c.log_record(APP, inputs={"a": 1})
        c.log_record(APP, inputs={"a": 2}, tags={"env": "prod"})
        assert c.flush(30)
        assert sorted(c.query(APP)["tags.env"]) == ["prod", "staging"]
    finally:
        c.close()


def test_fields_past_the_column_cap_are_kept(client, monkeypatch):
    from gantry_gradio.store import catalog

    monkeypatch.setitem(catalog.SECTION_FIELD_BUDGETS, "inputs", 3)
    values = {f"f{i}": i for i in range(5)}
    key = client.log_record(APP, inputs=values)
    assert client.flush(30)
    row = client.query(APP).set_index("join_key").loc[key]
    assert {f"inputs.f{i}": row[f"inputs.f{i}"] for i in range(5)} == {
        f"inputs.f{i}": i for i in range(5)
    }
    assert client.stats()["rejected"] == 0


@pytest.mark.parametrize(
    "store, message",
    [
        ("not a url", "is not a SQLAlchemy URL"),
        ("nosuchdb://user:hunter2@host/db", "needs a database driver"),
        ("postgresql+nosuchdriver://user:hunter2@host/db", "needs a database driver"),
    ],
)
def test_bad_store_urls_are_clear_and_hide_passwords(tmp_path, store, message):
    from gantry_gradio import Client, StoreConfigError

    with pytest.raises(StoreConfigError, match=message) as info:
        Client(store, blobs=tmp_path / "b", spool_dir=tmp_path / "s")
    assert "hunter2" not in str(info.value)


def test_bad_blob_locations_are_clear(tmp_path):
    from gantry_gradio import Client

    for location, message in (("s3://", "names no bucket"), ("ftp://host/x", "neither a folder")):
        with pytest.raises(ValueError, match=message):
            Client(f"sqlite:///{tmp_path / 'r.db'}", blobs=location, spool_dir=tmp_path / "s")


def test_one_wide_record_cannot_take_the_columns_feedback_needs(client):
    """A 1,000-class label output and an anonymous 1,000-key JSON input (each
    beyond PostgreSQL's 8 kB row) are stored whole; feedback, tags and
    projections arriving later still get columns and aggregate."""
    classes = {f"class_{i}": i / 1000 for i in range(1000)}
    blob = {f"key_{i}": i for i in range(1000)}
    wide = client.log_record(APP, inputs={"json": blob}, outputs={"label": classes})
    assert client.flush(60), client.stats()
    for round_ in range(12):  # more new input fields than the inputs' budget
        client.log_record(APP, inputs={f"round{round_}_{i}": i for i in range(64)})
    client.log_record(APP, feedback={"accepted": True}, join_key=wide)
    late = client.log_record(APP, inputs={"text": "late"}, tags={"brand_new_tag": 3})
    client.log_record(APP, feedback={"accepted": False, "flag": "other"}, join_key=late)
    assert client.flush(60), client.stats()
    assert client.stats()["rejected"] == 0
    rows = client.query(APP).set_index("join_key")
    assert {k: rows.loc[wide, f"outputs.label.{k}"] for k in classes} == classes
    assert {k: rows.loc[wide, f"inputs.json.{k}"] for k in blob} == blob
    assert rows.loc[late, "tags.brand_new_tag"] == 3
    rate = client.percent_true(APP, "feedback.accepted")
    assert (int(rate["count"].sum()), int(rate["true"].sum())) == (2, 1)
    assert client.value_counts(APP, "feedback.flag")["count"].tolist() == [1]


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({"a.b": 1, "a": {"b": 2}}, "both named 'inputs.a.b'"),
        ({"x": {"a.b": {"c": 1}, "a": {"b.c": 2}}}, "both named 'inputs.x.a.b.c'"),
        ({"a\x00": 1, "a\ufffd": 2}, "two keys both stored as"),
        ({"k" * 3000: 1}, "a field name"),
    ],
)
def test_keys_that_cannot_be_distinct_field_names_are_refused(client, inputs, message):
    with pytest.raises(ValueError, match=message):
        client.log_record(APP, inputs=inputs)
    # dotted keys that do not collide, and long keys inside lists, are fine
    client.log_record(APP, inputs={"a.b": 1, "a": {"c": 2}, "rows": [{"k" * 3000: 1}]})
    assert client.flush(30)
    row = client.query(APP).iloc[0]
    assert (row["inputs.a.b"], row["inputs.a.c"]) == (1, 2)


def test_feedback_stored_by_another_client_lands_in_its_column(client, store_url, tmp_path):
    """The writer of a prediction may not know the feedback's field yet (another
    process stored the feedback and made its column): the merged value must
    still go to that column, where the acceptance rate counts it."""
    client.log_record(APP, inputs={"text": "warms this client's field cache"})
    assert client.flush(30)
    from gantry_gradio import Client

    other = Client(store_url, blobs=tmp_path / "b2", spool_dir=tmp_path / "s2")
    try:
        other.log_record(APP, feedback={"accepted": True}, join_key="later-prediction")
        assert other.flush(30)
    finally:
        other.close()
    client.log_record(APP, inputs={"text": "now"}, join_key="later-prediction")
    assert client.flush(30)
    rate = client.percent_true(APP, "feedback.accepted")
    assert (int(rate["count"].sum()), int(rate["true"].sum())) == (1, 1)
