from __future__ import annotations

import os
import uuid

import boto3
import pytest

from gantry_gradio import Client
from tests.servers import PostgresServer, S3Server

#: The lanes a test can be in besides `fast` (pyproject.toml describes them).
LANES = ("browser", "postgres", "spark", "slow")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the real parts it starts, so a lane can be picked
    with `-m` (docs/testing.md): PostgreSQL (a fixture, or the postgresql
    half of a store-parametrised test), Spark, Chromium (the *_browser.py
    files). `slow` is the reliability suite, and marked by hand where a test
    takes seconds on its own.
    What is in none of these lanes is `fast`: the developer's loop."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"postgres", "own_postgres"} or "postgresql" in item.nodeid:
            item.add_marker(pytest.mark.postgres)
        if "spark" in fixtures:
            item.add_marker(pytest.mark.spark)
        if item.path.name.endswith("_browser.py"):
            item.add_marker(pytest.mark.browser)
        if item.path.parent.name == "reliability":  # whole-system runs: load, outages, kills
            item.add_marker(pytest.mark.slow)
        if not any(item.get_closest_marker(lane) for lane in LANES):
            item.add_marker(pytest.mark.fast)
    # Files holding long tests go first, so the two workers do not end with
    # one of them alone on a two-minute test; each such file stays on one
    # worker (`--dist loadgroup`), so its module fixtures (a backfilled month,
    # a launched app) are made once, not once per worker.
    heavy = {item.path for item in items if not item.get_closest_marker("fast")}
    items.sort(key=lambda item: item.path not in heavy)
    for item in items:
        if item.path in heavy:
            item.add_marker(pytest.mark.xdist_group(item.path.name))


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def own_postgres():
    """A server of this test's own, so stopping it disturbs no other test."""
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """Every test that takes this runs on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.db'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def client(store_url, tmp_path):
    c = Client(store_url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    yield c
    c.close()


@pytest.fixture(scope="session")
def s3_server():
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    name = f"gantry-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_server.endpoint_url).create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session for every Spark test (starting one takes ~10 s)."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("gantry-lake-test")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")  # `timestamp` shown and cast in UTC
        .config("spark.local.dir", str(scratch / "local"))
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
