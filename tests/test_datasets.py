"""Versioned datasets: push / pull / rollback through the local folder and an
S3 API server (moto, over HTTP), pandas and HuggingFace views, names, and
concurrent pushes."""

import threading

import boto3
import datasets as hf_datasets
import pandas as pd
import pytest

import gantry_gradio as gantry
from gantry_gradio import Client, DatasetError


@pytest.fixture(params=["local", "s3"])
def blob_client(request, tmp_path):
    """A client on SQLite whose blobs are a folder or an S3 bucket."""
    if request.param == "local":
        blobs, endpoint = tmp_path / "blobs", None
    else:
        server = request.getfixturevalue("s3_server")
        bucket = request.getfixturevalue("s3_bucket")
        blobs, endpoint = f"s3://{bucket}/team", server.endpoint_url
    c = Client(
        f"sqlite:///{tmp_path / 'records.db'}",
        blobs,
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=endpoint,
    )
    yield c
    c.close()


def typed_frame(offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "count": pd.Series([1 + offset, 2 + offset, 3 + offset], dtype="int64"),
            "score": [0.5, float("nan"), 2.25],
            "accepted": [True, False, True],
            "text": ["ça va", "emoji 🙂", "three"],
            "timestamp": pd.to_datetime(
                ["2022-04-01T10:00", "2022-04-02T11:30", "2022-04-03T00:00"], utc=True
            ),
        }
    )


def test_push_pull_and_rollback_round_trip(blob_client, tmp_path):
    dataset = blob_client.create_dataset("reviewed")
    first = dataset.push(typed_frame(), "three reviewed rows")
    second = dataset.push(typed_frame(10).iloc[:2], "two rows as CSV", file_format="csv")

    versions = dataset.list_versions()
    assert [v["version_id"] for v in versions] == [second.version_id, first.version_id]
    assert [v["is_latest_version"] for v in versions] == [True, False]
    assert [v["row_count"] for v in versions] == [2, 3]
    assert versions[0]["message"] == "two rows as CSV" and versions[0]["dataset"] == "reviewed"
    assert set(versions[0]) >= {"version_id", "message", "created_at", "created_by"}

    pd.testing.assert_frame_equal(dataset.get_pandas(first.version_id), typed_frame())
    latest = dataset.get_pandas()
    assert list(latest["count"]) == [11, 12] and list(latest["text"]) == ["ça va", "emoji 🙂"]

    folder = dataset.pull(path=tmp_path / "pulled")
    assert folder == tmp_path / "pulled" / "reviewed" / second.version_id
    assert [p.name for p in folder.iterdir()] == ["data.csv"]
    assert pd.read_csv(folder / "data.csv")["count"].tolist() == [11, 12]

    back = dataset.rollback(first.version_id)
    assert back.version_id not in (first.version_id, second.version_id)
    assert dataset.list_versions()[0]["message"] == f"Rollback to version {first.version_id}"
    assert len(dataset.list_versions()) == 3
    pd.testing.assert_frame_equal(dataset.get_pandas(), typed_frame())
    # the old versions are untouched
    assert dataset.get_pandas(second.version_id)["count"].tolist() == [11, 12]


def test_dataset_objects_on_s3_are_private_and_under_the_prefix(s3_server, s3_bucket, tmp_path):
    c = Client(
        f"sqlite:///{tmp_path / 'records.db'}",
        f"s3://{s3_bucket}/team",
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    try:
        version = c.create_dataset("private").push(typed_frame(), "first")
    finally:
        c.close()
    s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys == [f"team/datasets/private/{version.version_id}/data.parquet"]
    grants = s3.get_object_acl(Bucket=s3_bucket, Key=keys[0])["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all("URI" not in g["Grantee"] for g in grants)  # no AllUsers / AuthenticatedUsers


def test_a_folder_is_pushed_and_pulled_file_for_file(blob_client, tmp_path):
    source = tmp_path / "export"
    (source / "images").mkdir(parents=True)
    (source / "images" / "a.png").write_bytes(bytes(range(256)))
    (source / "labels.csv").write_text("name,label\na.png,cat\nb.png,dog\n")
    dataset = blob_client.create_dataset("images_v1")
    version = dataset.push(source, "labelled images")
    assert version.row_count == 2  # rows of the tabular files

    pulled = dataset.pull(version.version_id, path=tmp_path / "out")
    assert sorted(p.relative_to(pulled).as_posix() for p in pulled.rglob("*") if p.is_file()) == [
        "images/a.png",
        "labels.csv",
    ]
    assert (pulled / "images" / "a.png").read_bytes() == bytes(range(256))
    assert dataset.get_pandas()["label"].tolist() == ["cat", "dog"]


def test_huggingface_dataset_keeps_columns_and_types(blob_client):
    dataset = blob_client.create_dataset("typed")
    dataset.push(typed_frame(), "typed columns")
    converted = dataset.get_huggingface_dataset()
    assert isinstance(converted, hf_datasets.DatasetDict) and list(converted) == ["train"]
    train = converted["train"]
    assert train.num_rows == 3
    dtypes = {name: str(feature.dtype) for name, feature in train.features.items()}
    assert dtypes.pop("text") in ("string", "large_string")  # pandas 3 strings are large
    assert dtypes == {
        "count": "int64",
        "score": "float64",
        "accepted": "bool",
        "timestamp": "timestamp[us, tz=UTC]",
    }
    assert train["text"][:] == ["ça va", "emoji 🙂", "three"]
    assert train["count"][:] == [1, 2, 3]


@pytest.mark.parametrize("name", ["has space", "../escape", "1starts_with_digit", "", "x" * 101, 7])
def test_invalid_dataset_names_are_refused_with_the_rule(client, name):
    with pytest.raises(DatasetError, match="letters, digits and underscores"):
        client.create_dataset(name)
    assert client.list_datasets() == []


def test_clear_errors_for_missing_things(client, tmp_path):
    with pytest.raises(DatasetError, match="create_dataset"):
        client.get_dataset("nothing_here")
    dataset = client.create_dataset("empty")
    with pytest.raises(DatasetError, match="exists already"):
        client.create_dataset("empty")
    assert client.create_dataset("empty", exist_ok=True).name == "empty"
    with pytest.raises(DatasetError, match="no versions yet"):
        dataset.get_pandas()
    with pytest.raises(DatasetError, match="message"):
        dataset.push(typed_frame(), "  ")
    with pytest.raises(DatasetError, match="neither"):
        dataset.push(tmp_path / "missing", "nothing")
    with pytest.raises(DatasetError, match="file_format"):
        dataset.push(typed_frame(), "xlsx?", file_format="xlsx")
    dataset.push(typed_frame(), "real")
    with pytest.raises(DatasetError, match="no version 'abc'"):
        dataset.rollback("abc")
    assert client.list_datasets() == ["empty"]


def test_concurrent_pushes_never_overwrite_each_other(store_url, tmp_path):
    """Two processes' clients, four threads each, pushing at once."""
    clients = [
        Client(store_url, tmp_path / "blobs", spool_dir=tmp_path / f"spool{i}") for i in range(2)
    ]
    clients[0].create_dataset("shared")
    pushed: dict[str, int] = {}
    lock = threading.Lock()

    def push_many(c: Client, worker: int) -> None:
        dataset = c.get_dataset("shared")
        for n in range(5):
            marker = worker * 100 + n
            version = dataset.push(pd.DataFrame({"marker": [marker]}), f"push {marker}")
            with lock:
                pushed[version.version_id] = marker

    threads = [threading.Thread(target=push_many, args=(clients[w % 2], w)) for w in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        dataset = clients[1].get_dataset("shared")
        versions = dataset.list_versions()
        assert len(pushed) == 40 and len(versions) == 40
        assert {v["version_id"] for v in versions} == set(pushed)
        assert sum(v["is_latest_version"] for v in versions) == 1
        for version_id, marker in pushed.items():
            assert dataset.get_pandas(version_id)["marker"].tolist() == [marker]
    finally:
        for c in clients:
            c.close()


def test_module_level_dataset_calls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gantry.init(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "blobs", spool_dir=tmp_path / "s")
    try:
        gantry.create_dataset("notes").push(pd.DataFrame({"a": [1]}), "one row")
        assert gantry.list_datasets() == ["notes"]
        assert gantry.get_dataset("notes").get_pandas()["a"].tolist() == [1]
    finally:
        gantry.get_client().close()
