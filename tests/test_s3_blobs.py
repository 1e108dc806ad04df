"""Blobs on an S3 API server (moto, server mode) over HTTP with boto3."""

import io
import threading
import time
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests
from PIL import Image

from gantry_gradio import BlobStoreError, Client

APP = "flag-demo"


@pytest.fixture
def s3_client(s3_server, s3_bucket, store_url, tmp_path):
    c = Client(
        store_url,
        blobs=f"s3://{s3_bucket}/monitoring",
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    yield c
    c.close()


def test_image_is_uploaded_private_and_readable_by_presigned_url(s3_client, s3_server, s3_bucket):
    image = Image.new("RGB", (8, 8), color=(0, 128, 255))
    key = s3_client.log_record(
        APP,
        inputs={"image": image, "text": "look"},
        outputs={"label": "sky"},
        feedback={"flag": "incorrect"},
    )
    assert s3_client.flush(30)
    uri = s3_client.query(APP).set_index("join_key").loc[key, "inputs.image"]
    assert uri.startswith(f"s3://{s3_bucket}/monitoring/") and uri.endswith(".png")

    s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
    object_key = uri.removeprefix(f"s3://{s3_bucket}/")
    head = s3.head_object(Bucket=s3_bucket, Key=object_key)
    assert head["ContentType"] == "image/png"
    grants = s3.get_object_acl(Bucket=s3_bucket, Key=object_key)["Grants"]
    assert all("URI" not in g["Grantee"] for g in grants), f"object must not be public: {grants}"
    assert (
        requests.get(f"{s3_server.endpoint_url}/{s3_bucket}/{object_key}", timeout=10).status_code
        == 403
    )

    stored = Image.open(io.BytesIO(s3_client.read_blob(uri)))
    assert stored.size == (8, 8) and stored.getpixel((0, 0)) == (0, 128, 255)
    link = s3_client.blob_url(uri, expires_in=60)
    assert requests.get(link, timeout=10).content == s3_client.read_blob(uri)


def test_presigned_links_are_signed_and_short_lived(s3_client):
    """moto checks neither signatures nor expiry, so this checks what we control:
    the link is SigV4-signed with the lifetime asked for (AWS and MinIO enforce it)."""
    s3_client.log_record(APP, inputs={"raw": b"secret bytes"})
    assert s3_client.flush(30)
    uri = s3_client.query(APP)["inputs.raw"].iloc[0]
    query = parse_qs(urlparse(s3_client.blob_url(uri, expires_in=90)).query)
    assert query["X-Amz-Expires"] == ["90"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Signature"][0]
    assert requests.get(s3_client.blob_url(uri), timeout=10).content == b"secret bytes"


def test_same_content_is_stored_once(s3_client, s3_server, s3_bucket):
    for _ in range(3):
        s3_client.log_record(APP, inputs={"raw": b"same"})
    assert s3_client.flush(30)
    s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
    listing = s3.list_objects_v2(Bucket=s3_bucket, Prefix="monitoring/")
    assert listing["KeyCount"] == 1
    assert len(set(s3_client.query(APP)["inputs.raw"])) == 1


@pytest.mark.slow
def test_missing_bucket_is_reported_and_delivery_resumes_once_created(s3_server, tmp_path):
    bucket = "gantry-not-yet-created"
    c = Client(
        f"sqlite:///{tmp_path / 'r.db'}",
        blobs=f"s3://{bucket}",
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    try:
        c.log_record(APP, inputs={"raw": b"payload"}, join_key="waiting")
        assert not c.flush(3)
        stats = c.stats()
        assert stats["pending"] == 1 and "does not exist" in stats["last_error"]
        boto3.client("s3", endpoint_url=s3_server.endpoint_url).create_bucket(Bucket=bucket)
        assert c.flush(60)
        assert c.read_blob(c.query(APP)["inputs.raw"].iloc[0]) == b"payload"
    finally:
        c.close()


@pytest.mark.slow
def test_s3_outage_mid_stream_delays_but_loses_nothing(s3_client, s3_server):
    keys: list[str] = []

    def produce():
        for i in range(150):
            keys.append(s3_client.log_record(APP, inputs={"raw": f"blob {i}".encode()}))
            time.sleep(0.01)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        time.sleep(0.4)
        s3_server.stop()
        time.sleep(1.5)
        assert s3_client.stats()["pending"] > 0, "records wait while S3 is down"
    finally:
        s3_server.start()
        producer.join()
    assert s3_client.flush(60)
    df = s3_client.query(APP).set_index("join_key")
    assert sorted(df.index) == sorted(keys) and len(keys) == 150
    assert {s3_client.read_blob(df.loc[k, "inputs.raw"]) for k in keys} == {
        f"blob {i}".encode() for i in range(150)
    }


def test_a_store_never_reads_or_signs_objects_beside_its_prefix(s3_client, s3_server, s3_bucket):
    """The store lives at s3://bucket/monitoring: monitoring-finance/ shares the
    letters but not the folder, and dot segments cannot climb out of it."""
    s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
    for key in ("monitoring-finance/salaries.csv", "monitoringx", "other/monitoring/a"):
        s3.put_object(Bucket=s3_bucket, Key=key, Body=b"not yours")
    s3_client.log_record(APP, inputs={"raw": b"ours"})
    assert s3_client.flush(30)
    ours = s3_client.query(APP)["inputs.raw"].iloc[0]
    assert s3_client.read_blob(ours) == b"ours"
    for uri in (
        f"s3://{s3_bucket}/monitoring-finance/salaries.csv",
        f"s3://{s3_bucket}/monitoringx",
        f"s3://{s3_bucket}/monitoring",
        f"s3://{s3_bucket}/monitoring/",
        f"s3://{s3_bucket}/monitoring/../monitoring-finance/salaries.csv",
        f"s3://{s3_bucket}/monitoring/./x",
        f"s3://{s3_bucket}/other/monitoring/a",
        f"s3://{s3_bucket}-finance/monitoring/x",
        f"s3://{s3_bucket}monitoring/x",
    ):
        with pytest.raises(BlobStoreError, match="not in this blob store"):
            s3_client.read_blob(uri)
        with pytest.raises(BlobStoreError, match="not in this blob store"):
            s3_client.blob_url(uri)


def test_a_local_store_never_reads_files_beside_its_folder(tmp_path):
    blobs = tmp_path / "blobs"
    beside = tmp_path / "blobs-finance"
    beside.mkdir()
    (beside / "salaries.csv").write_text("not yours")
    c = Client(f"sqlite:///{tmp_path / 'r.db'}", blobs=blobs, spool_dir=tmp_path / "spool")
    try:
        c.log_record(APP, inputs={"raw": b"ours"})
        assert c.flush(30)
        assert c.read_blob(c.query(APP)["inputs.raw"].iloc[0]) == b"ours"
        for uri in (
            (beside / "salaries.csv").as_uri(),
            f"{blobs.as_uri()}/../blobs-finance/salaries.csv",
            "/etc/passwd",
        ):
            with pytest.raises(BlobStoreError):
                c.read_blob(uri)
            with pytest.raises(BlobStoreError):
                c.blob_url(uri)
    finally:
        c.close()
