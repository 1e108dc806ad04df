"""The demo closes the loop on its month: backfill labels April's rejected
young-account predictions through the review queue (three reviewers, two
labels per item, some disagreement and unsure verdicts); the labels show in
query, the lake, the tab and alerts; retrain fine-tunes v2 on them and
gantry.evaluate finds it better on the labels and not worse on learners."""

from __future__ import annotations

import gradio as gr
import pandas as pd
import pytest

import backfill
import gantry_gradio as gantry
from demo_app import retrain
from demo_app.__main__ import main as demo_main
from demo_app.app import APP
from demo_app.labels import DATASET, QUEUE, SAMPLE
from demo_app.pipeline import load_pipeline
from gantry_gradio import AlertRule, Client, alerts
from gantry_gradio.store import SqlRecordStore
from tests.gradio_apps import TEST_TOKEN, connect, launched, monitoring_refresh

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

WRONG = "feedback.label_verdict == wrong"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loop")
    options = ["--store", f"sqlite:///{folder / 'records.db'}", "--blobs", str(folder / "blobs")]
    assert backfill.main(["--load-data", "--create-views", "--projections", "", *options]) == 0
    client = Client(options[1], options[3], spool_dir=folder / "spool")
    yield client, options, folder
    client.close()


def test_the_month_has_review_labels(store):
    client, _, _ = store
    queue = client.get_review_queue(QUEUE)
    progress = queue.progress()
    assert progress["done"] == progress["total"] == SAMPLE
    assert sorted(progress["by_reviewer"]) == ["ana", "ben", "chen"]
    agreement = queue.agreement()
    assert agreement["items"] == SAMPLE and 0.5 < agreement["verdict_agreement"] < 1.0
    labels = queue.labels()
    assert set(labels["verdict"]) == {"right", "wrong", "unsure"}
    dataset = client.get_dataset(DATASET).get_pandas()
    assert len(dataset) == SAMPLE and set(dataset["split"]) == {"train", "validation", "test"}
    informal = dataset[dataset["input"].str.startswith("u r the best")]
    assert (informal["label"] == "You are the best app ever lol.").any()


def test_labels_reach_query_lake_tab_and_alerts(store):
    client, _, _ = store
    lake = client.query(APP, filters=[WRONG])  # the lake engine answers
    sql = SqlRecordStore(client.engine, client.catalog, client.views).rows(
        gantry.store.Selection(APP, filters=[WRONG])
    )
    assert len(lake) == len(sql) > 100
    assert set(lake["tags.account_age_days"]) <= set(range(8))
    assert (lake["feedback.correction_accepted"] == False).all()  # noqa: E712
    with gr.Blocks() as demo:
        tab = gantry.monitoring_tab(APP, client=client, access_token=TEST_TOKEN)
        tab.load_with(demo)
    with launched(demo) as url:
        out = monitoring_refresh(connect(url), APP, token=TEST_TOKEN, filters=WRONG)
    assert f"**Predictions:** {len(lake):,}" in out[3]
    rule = AlertRule(
        "wrong_labels", APP, "volume", above=10, filters=[WRONG], window="1D", every="1D"
    )
    alerts.create_alert(client, rule, start_on="2022-04-01", end_on="2022-05-01")
    history = alerts.alert_history(client, "wrong_labels")
    fired = history[history["transition"] == "fired"]
    assert len(fired) >= 1 and fired["window_end"].min() >= pd.Timestamp("2022-04-23", tz="UTC")


def test_retrain_makes_a_better_v2_and_the_demo_serves_it(store, tmp_path):
    client, options, _ = store
    out = tmp_path / "bundled_model_v2"
    assert retrain.main([*options, "--out", str(out), "--steps", "200"]) == 0
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    runs = client.list_evaluations(APP)
    assert list(runs["name"]) == [
        "v1 vs v2 on learner English",
        "v1 vs v2 on the review labels (test)",
    ]
    labels_run = client.get_evaluation("v1 vs v2 on the review labels (test)", APP)
    gleu = labels_run.differences.set_index("metric").loc["gleu"]
    assert gleu["verdict"] == "better" and gleu["low"] > 0
    assert load_pipeline(str(out)).source.endswith("+bundled_model_v2")


def test_the_demo_refuses_v2_before_retrain(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # v2 lives in ./gantry_data/models: none here yet
    with pytest.raises(SystemExit) as exit_:
        demo_main(["--model", "v2"])
    assert exit_.value.code == 2
