"""Labels become datasets: consensus per item, stable hash splits, pandas and
HuggingFace views, and the labels reach the lake's Parquet files."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from gantry_gradio import Client, ReviewError
from gantry_gradio.datasets.splits import split_of
from gantry_gradio.lake.layout import file_uri
from gantry_gradio.store.schema import lake_partitions

APP = "labels-app"


@pytest.fixture
def lake_client(tmp_path):
    c = Client(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "blobs", spool_dir=tmp_path / "spool")
    yield c
    c.close()


def _log(client, count):
    keys = client.log_records(
        APP,
        inputs=[{"text": f"she go {i}"} for i in range(count)],
        outputs=[{"inference": f"She go {i}."} for i in range(count)],
        tags=[{"age": i % 10} for i in range(count)],
        timestamps=[
            pd.Timestamp("2022-04-01", tz="UTC") + pd.Timedelta(minutes=i) for i in range(count)
        ],
    )
    assert client.flush(30)
    return keys


def test_split_depends_only_on_the_key():
    keys = [f"key-{i}" for i in range(20_000)]
    splits = pd.Series([split_of(k) for k in keys]).value_counts(normalize=True)
    assert abs(splits["train"] - 0.8) < 0.01 and abs(splits["test"] - 0.1) < 0.01
    assert [split_of(k) for k in keys[:50]] == [split_of(k) for k in keys[:50]]


def test_queue_labels_become_a_dataset_with_stable_splits(lake_client):
    keys = _log(lake_client, 30)
    queue = lake_client.create_review_queue("q", APP, order="oldest", labels_per_item=1)
    for i in range(10):
        item = queue.next_item("ana")
        queue.save("ana", item.position, f"She goes {i}.", "wrong" if i % 2 else "right")
    first = queue.to_dataset("gec_labels")
    frame = lake_client.get_dataset("gec_labels").get_pandas()
    assert first.row_count == 10 and list(frame["join_key"]) == keys[:10]
    assert list(frame.columns[:7]) == [
        "join_key",
        "timestamp",
        "version",
        "input",
        "output",
        "label",
        "verdict",
    ]
    assert frame.loc[3, "input"] == "she go 3" and frame.loc[3, "label"] == "She goes 3."
    assert frame.loc[3, "output"] == "She go 3." and frame.loc[3, "verdict"] == "wrong"
    assert "tags.age" in frame.columns
    before = dict(zip(frame["join_key"], frame["split"], strict=True))

    for i in range(10, 30):  # the dataset grows; nobody moves
        item = queue.next_item("ana")
        queue.save("ana", item.position, f"She goes {i}.", "wrong")
    queue.to_dataset("gec_labels")
    grown = lake_client.get_dataset("gec_labels").get_pandas()
    assert len(grown) == 30
    assert {
        k: s for k, s in zip(grown["join_key"], grown["split"], strict=True) if k in before
    } == before
    test = lake_client.get_dataset("gec_labels").get_pandas(split="test")
    assert set(test["split"]) <= {"test"} and len(test) == (grown["split"] == "test").sum()

    hf = lake_client.get_dataset("gec_labels").get_huggingface_dataset()
    assert list(hf) == ["train", "validation", "test"]
    assert sum(hf[name].num_rows for name in hf) == 30
    assert sorted(hf["test"]["join_key"]) == sorted(test["join_key"])


def test_consensus_of_several_reviewers(lake_client):
    _log(lake_client, 1)
    queue = lake_client.create_review_queue("q", APP, labels_per_item=3)
    for reviewer, label, verdict in (
        ("a", "X", "wrong"),
        ("b", "Y", "wrong"),
        ("c", "X", "unsure"),
    ):
        queue.save(reviewer, 0, label, verdict)
    queue.to_dataset("consensus")
    row = lake_client.get_dataset("consensus").get_pandas().iloc[0]
    assert (row["label"], row["verdict"], row["labels"]) == ("X", "wrong", 3)
    assert row["reviewers"] == "a,b,c" and not row["agreement"]


def test_an_empty_queue_makes_no_dataset(lake_client):
    _log(lake_client, 2)
    queue = lake_client.create_review_queue("q", APP)
    with pytest.raises(ReviewError, match="no labels yet"):
        queue.to_dataset("nothing")


def test_curated_records_split_by_join_key(lake_client):
    keys = _log(lake_client, 40)
    dataset = lake_client.create_dataset("curated")
    dataset.push(lake_client.query(APP), "all")
    hf = dataset.get_huggingface_dataset()
    split_by_key = {k: split_of(k) for k in keys}
    for name in hf:
        assert all(split_by_key[k] == name for k in hf[name]["join_key"])


def test_labels_reach_the_lake_files(lake_client):
    keys = _log(lake_client, 3)
    queue = lake_client.create_review_queue("q", APP, order="oldest")
    queue.save("ana", 0, "She goes 0.", "wrong")
    assert lake_client.flush(30)
    lake_client.export_lake(APP)
    with lake_client.engine.connect() as conn:
        uris = [file_uri(lake_client.blobs, r.uri) for r in conn.execute(lake_partitions.select())]
    files = pd.concat([pd.read_parquet(io.BytesIO(lake_client.read_blob(u))) for u in uris])
    labeled = files[files["join_key"] == keys[0]]
    label_columns = [c for c in files.columns if "label" in c]
    assert label_columns, files.columns
    assert "She goes 0." in set(labeled[label_columns].astype(str).values.ravel())


def test_a_curator_selects_labeled_records(lake_client):
    from gantry_gradio import UniformCurator

    keys = _log(lake_client, 30)
    queue = lake_client.create_review_queue("q", APP, order="oldest")
    for i in range(12):
        queue.save("ana", i, f"She goes {i}.", "wrong")
    assert lake_client.flush(30)
    UniformCurator(
        "labeled_sample", APP, "2022-04-01", "1D", 100, filters=["feedback.label is not null"]
    ).create(lake_client, now="2022-04-03")
    frame = lake_client.get_dataset("labeled_sample").get_pandas()
    assert sorted(frame["join_key"]) == sorted(keys[:12])
    assert list(frame.sort_values("timestamp")["feedback.label"]) == [
        f"She goes {i}." for i in range(12)
    ]
    test = lake_client.get_dataset("labeled_sample").get_pandas(split="test")
    assert all(split_of(k) == "test" for k in test["join_key"])
