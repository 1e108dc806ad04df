"""backfill.py: the April 2022 story lands in a store, from a file, an HTTP
URL or S3, with its views, and a second run adds nothing."""

from __future__ import annotations

import functools
import http.server
import threading

import pandas as pd
import pytest

import backfill
from demo_app.history import SHIPPED, generate
from gantry_gradio import Client, StratifiedCurator
from gantry_gradio.alerts import alert_history
from tests.servers import free_port
from tests.tiny_detoxify import build as build_detoxify

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

APP = backfill.APP
ACCEPTED = backfill.ACCEPTED


def _rate(client: Client, **scope) -> float:
    frame = client.percent_true(APP, ACCEPTED, bucket="week", **scope)
    return frame["true"].sum() / frame["count"].sum()


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return backfill.read_source(str(SHIPPED))


def test_shipped_history_is_the_seeded_generators_output(shipped):
    generated = generate()
    assert len(shipped) == len(generated) > 30 * 900
    assert shipped["uuid"].tolist() == generated["uuid"].tolist()
    assert shipped["text"].tolist() == generated["text"].tolist()
    assert (shipped["timestamp"] == generated["timestamp"]).all()


def test_backfill_tells_the_story_and_runs_twice_without_duplicates(
    tmp_path, store_url, monkeypatch
):
    monkeypatch.setenv("GANTRY_SPOOL", str(tmp_path / "backfill-spool"))
    options = ["--store", store_url, "--blobs", str(tmp_path / "blobs")]
    assert backfill.main(["--load-data", "--create-views", "--projections", "edit", *options]) == 0
    client = Client(store_url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    try:
        stored = client.query(APP, limit=None)
        assert len(stored) == len(backfill.read_source(str(SHIPPED)))
        assert stored["projections.edit.words_changed"].notna().all()
        weeks_1_2 = _rate(client, start="2022-04-01", end="2022-04-15")
        week_3 = _rate(client, view="this-week")
        assert week_3 < weeks_1_2 - 0.1, (week_3, weeks_1_2)
        young = _rate(client, view="new-accounts")
        old = _rate(client, view="this-week", filters=["tags.account_age_days > 7"])
        assert young < 0.5 < 0.8 < old, (young, old)
        assert {v.name for v in client.list_views(APP)} >= {
            "this-week",
            "last-week",
            "new-accounts",
            "accepted",
            "rejected",
        }
        assert set(client.query(APP, view="rejected")[ACCEPTED]) == {False}
        # The first week is the baseline; the dip week's edits drift from it.
        first = client.compare_to_baseline(
            APP, "projections.edit.words_changed", start="2022-04-01", end="2022-04-08"
        )
        dip = client.compare_to_baseline(APP, "projections.edit.words_changed", view="this-week")
        assert first.baseline_count == first.production_count > 5000
        assert first.psi < 0.01 < dip.psi
        # The demo's alert rule, evaluated over April: it would have fired on
        # the 23rd, when young accounts' acceptance fell, and resolved on the 27th.
        history = alert_history(client, backfill.NEW_ACCOUNTS_ALERT)
        assert len(history) == 30
        changes = history[history["transition"].notna()]
        assert [(r.window_start.day, r.transition) for r in changes.itertuples()] == [
            (23, "fired"),
            (27, "resolved"),
        ]
        assert (stored["feedback.flag"].dropna().isin(["incorrect", "offensive", "other"])).all()
        assert stored["feedback.flag"].notna().sum() > 100

        assert backfill.main(["--load-data", "--projections", "", *options]) == 0
        assert len(client.query(APP, limit=None)) == len(stored)
        _readme_curator_example(client)
    finally:
        client.close()


def test_source_over_http_and_s3(s3_server, s3_bucket, shipped):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SHIPPED.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{SHIPPED.name}"
        over_http = backfill.read_source(url)
    finally:
        server.shutdown()
        server.server_close()
    assert over_http.equals(shipped)

    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
    s3.upload_file(str(SHIPPED), s3_bucket, "history/april.csv.gz")
    over_s3 = backfill.read_source(f"s3://{s3_bucket}/history/april.csv.gz", s3_server.endpoint_url)
    assert over_s3.equals(shipped)
    with pytest.raises(SystemExit, match="https:// URL"):
        backfill.read_source("ftp://example.com/x.csv")


def _readme_curator_example(client: Client) -> None:
    """README's "new accounts" curator over the backfilled month."""
    StratifiedCurator(
        "new_accounts",
        application=APP,
        start_on="2022-04-01",
        curation_interval="1D",
        end_on="2022-05-01",
        limit=20,
        stratify_by=ACCEPTED,
        filters=["tags.account_age_days <= 7"],
    ).create(client)
    dataset = client.get_dataset("new_accounts")
    versions = dataset.list_versions()
    assert len(versions) == 30 and versions[0]["row_count"] == 600
    frame = dataset.get_pandas()
    assert len(frame) == 600 and frame["join_key"].is_unique
    assert (frame["tags.account_age_days"] <= 7).all()
    april_23 = next(v for v in versions if "start time 2022-04-23" in v["message"])
    assert april_23["message"].endswith("20 records added from interval of size 337.")
    accepted = frame[ACCEPTED].map({True: "accepted", False: "rejected"}).fillna("none")
    assert accepted.value_counts().min() > 150  # balanced, not ~91% accepted


def test_detoxify_is_computed_by_default_when_its_weights_are_on_disk(
    tmp_path, shipped, monkeypatch
):
    checkpoint, config = build_detoxify(tmp_path / "detoxify")
    monkeypatch.setenv("GANTRY_DETOXIFY_CHECKPOINT", str(checkpoint))
    monkeypatch.setenv("GANTRY_DETOXIFY_CONFIG", str(config))
    monkeypatch.setenv("GANTRY_SPOOL", str(tmp_path / "spool"))
    source = tmp_path / "sample.csv"
    shipped.head(40).to_csv(source, index=False)
    store = f"sqlite:///{tmp_path / 'records.db'}"
    options = ["--store", store, "--blobs", str(tmp_path / "blobs"), "--source", str(source)]
    assert backfill.main(["--load-data", *options]) == 0
    client = Client(store, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool2")
    try:
        stored = client.query(APP)
    finally:
        client.close()
    assert len(stored) == 40
    toxicity = [c for c in stored.columns if c.startswith("projections.detoxify.toxic")]
    assert toxicity and stored[toxicity].notna().all().all()
    assert stored["projections.entropy.words"].notna().all()
