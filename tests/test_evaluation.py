"""gantry.evaluate against hand-computed numbers, intervals against known
cases, runs stored and read back, rows logged as records, bad input refused."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gantry_gradio import Client
from gantry_gradio.evaluation import CandidateError, EvaluationNotFound, MetricError
from gantry_gradio.evaluation.intervals import metric_interval, paired_difference
from gantry_gradio.evaluation.metrics import BUILT_IN
from gantry_gradio.evaluation.text import gleu
from tests.tiny_seq2seq import build

ROWS = pd.DataFrame(
    {
        "input": ["she go home", "they was happy", "I am here", "he like it"],
        "label": ["she goes home", "they were happy", "I am here", "he likes it"],
        "split": ["test"] * 4,
        "group": ["a", "a", "b", "b"],
    }
)
FIXES = {
    "she go home": "she goes home",
    "they was happy": "they is happy",
    "he like it": "he likes it",
}


def identity(batch):
    return list(batch)


def fixer(batch):
    return [FIXES.get(text, text) for text in batch]


@pytest.fixture
def client(tmp_path):
    c = Client(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "blobs", spool_dir=tmp_path / "spool")
    yield c
    c.close()


def _value(run, metric, candidate):
    table = run.table.set_index(["metric", "candidate"])
    return table.loc[(metric, candidate), "value"]


def test_numbers_match_a_hand_computed_example(client):
    run = client.evaluate(ROWS, {"v1": identity, "v2": fixer}, progress=False)
    # exact match: v1 gets only "I am here"; v2 also fixes rows 0 and 3.
    assert _value(run, "exact_match", "v1") == 0.25
    assert _value(run, "exact_match", "v2") == 0.75
    # Word edits v2: needed 3 (goes, were, likes); made 3 (goes, is, likes); right 2.
    # P = R = 2/3, so F0.5 = 2/3. v1 makes no edits: P = 1, R = 0, F0.5 = 0.
    assert _value(run, "edit_f05", "v2") == pytest.approx(2 / 3)
    assert _value(run, "edit_f05", "v1") == 0.0
    # Characters to the label: v1 go->goes 2, was->were 3, 0, like->likes 1: 6/4;
    # v2 only is->were, 4 (no letter in common): 4/4.
    assert _value(run, "char_edit_distance", "v1") == 1.5
    assert _value(run, "char_edit_distance", "v2") == 1.0
    hypotheses = fixer(list(ROWS["input"]))
    expected = gleu(list(ROWS["input"]), hypotheses, [[label] for label in ROWS["label"]])
    assert _value(run, "gleu", "v2") == pytest.approx(expected)
    diff = run.differences.set_index("metric")
    assert diff.loc["exact_match", "difference"] == pytest.approx(0.5)
    assert list(run.disagreements["row"]) == [0, 1, 3]
    assert run.disagreements.iloc[1]["output.v2"] == "they is happy"


def test_interval_of_a_proportion_matches_the_normal_approximation():
    rng = np.random.default_rng(1)
    hits = (rng.random(2000) < 0.7).astype(float)[:, None]
    value, low, high = metric_interval(BUILT_IN["exact_match"], hits)
    half = 1.96 * math.sqrt(value * (1 - value) / len(hits))
    assert low == pytest.approx(value - half, abs=0.004)
    assert high == pytest.approx(value + half, abs=0.004)


def test_paired_interval_uses_the_pairing():
    rng = np.random.default_rng(2)
    base = (rng.random(600) < 0.5).astype(float)[:, None]
    better = base.copy()
    better[rng.choice(np.flatnonzero(base[:, 0] == 0), 30, replace=False)] = 1.0
    difference, low, high = paired_difference(BUILT_IN["exact_match"], better, base)
    assert difference == pytest.approx(30 / 600)
    # Paired, only the 30 changed rows vary: the interval is tight and above 0
    # (unpaired, two 50% proportions of 600 rows would give about +-0.056).
    assert 0 < low < difference < high and high - low < 0.04
    assert paired_difference(BUILT_IN["exact_match"], base, base) == (0.0, 0.0, 0.0)


def test_run_is_stored_and_read_back(client):
    run = client.evaluate(
        ROWS, {"v1": identity, "v2": fixer}, application="gec", slices=["group"], progress=False
    )
    listed = client.list_evaluations("gec")
    assert list(listed["run_id"]) == [run.run_id] and listed.loc[0, "candidates"] == ["v1", "v2"]
    again = client.get_evaluation(run.run_id)
    pd.testing.assert_frame_equal(again.table, run.table, check_dtype=False)
    pd.testing.assert_frame_equal(again.differences, run.differences, check_dtype=False)
    assert set(again.slices["slice_value"]) == {"a", "b"}
    assert client.get_evaluation(run.name).run_id == run.run_id
    assert client.flush(30)
    rows = client.query("gec:evaluations", filters=[("tags.run", "==", run.run_id)])
    assert len(rows) == 8 and set(rows["version"]) == {"v1", "v2"}
    v2 = rows[rows["version"] == "v2"].sort_values("tags.row")
    assert list(v2["outputs.output"]) == fixer(list(ROWS["input"]))
    assert list(v2["feedback.exact_match"]) == [1.0, 0.0, 1.0, 1.0]
    with pytest.raises(EvaluationNotFound):
        client.get_evaluation("nope")


def test_slices_by_a_saved_view(client):
    keys = client.log_records(
        "gec",
        inputs=[{"text": t} for t in ROWS["input"]],
        outputs=[{"inference": t} for t in ROWS["input"]],
        tags=[{"age": age} for age in (1, 2, 30, 40)],
    )
    assert client.flush(30)
    client.create_view("gec", "young", filters=["tags.age <= 7"])
    data = ROWS.assign(join_key=keys)
    run = client.evaluate(
        data,
        {"v1": identity, "v2": fixer},
        application="gec",
        slices=["view:young"],
        progress=False,
    )
    slices = run.slices.set_index(["slice_value", "kind", "metric", "candidate"]).sort_index()
    young = slices.loc[("in view", "metric", "exact_match")]
    assert list(young["rows"]) == [2, 2]
    # Young rows are 0 and 1: v1 matches neither, v2 fixes row 0 only.
    assert list(young["value"]) == [0.0, 0.5]
    older = slices.loc[("outside", "difference", "exact_match", "v2")]
    assert older["difference"] == 0.5 and older["baseline"] == "v1"


def test_user_and_projection_metrics(client):
    def shorter(inp, out, label):
        return float(len(out) <= len(label))

    run = client.evaluate(
        ROWS,
        {"v2": fixer},
        metrics=[shorter, "projection:entropy.words"],
        split=None,
        progress=False,
    )
    assert _value(run, "shorter", "v2") == 1.0
    assert _value(run, "entropy.words", "v2") == 3.0
    assert run.differences.empty


def test_a_model_folder_is_a_candidate(client, tmp_path):
    folder = build(tmp_path / "tiny")
    run = client.evaluate(ROWS, {"tiny": str(folder)}, metrics=["exact_match"], progress=False)
    assert run.table.loc[0, "rows"] == 4 and 0.0 <= run.table.loc[0, "value"] <= 1.0


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda c: c.evaluate(ROWS, {"v1": lambda b: b[:1]}, progress=False),
            CandidateError,
            "one output per input",
        ),
        (lambda c: c.evaluate(ROWS, {}, progress=False), CandidateError, "dict of name"),
        (lambda c: c.evaluate(ROWS, {"v1": 3}, progress=False), CandidateError, "pass a function"),
        (
            lambda c: c.evaluate(ROWS, {"v1": identity}, ["bleurt"], progress=False),
            MetricError,
            "unknown metric",
        ),
        (
            lambda c: c.evaluate(ROWS, {"v1": identity}, split="train", progress=False),
            ValueError,
            "no rows",
        ),
        (
            lambda c: c.evaluate(ROWS, {"v1": identity}, label_column="gold", progress=False),
            ValueError,
            "no 'gold' column",
        ),
        (
            lambda c: c.evaluate(ROWS, {"v1": identity}, slices=["nope"], progress=False),
            ValueError,
            "no column 'nope'",
        ),
        (
            lambda c: c.evaluate("missing_ds", {"v1": identity}, progress=False),
            ValueError,
            "no dataset",
        ),
        (
            lambda c: c.evaluate(ROWS, {"v1": str(c.blobs)}, progress=False),
            CandidateError,
            "cannot load model",
        ),
        (
            lambda c: c.evaluate(ROWS, {"v1": lambda b: [None] * len(b)}, progress=False),
            CandidateError,
            "output is not text in 4 row",
        ),
        (
            lambda c: c.evaluate(
                ROWS.assign(label=[None, "x", "y", "z"]), {"v1": identity}, progress=False
            ),
            ValueError,
            "column 'label' is not text in 1 row",
        ),
        (
            lambda c: c.evaluate(ROWS, {"v1": identity}, application="a" * 195, progress=False),
            ValueError,
            "at most 200",
        ),
    ],
)
def test_bad_evaluations_are_refused_and_store_nothing(client, call, error, message):
    with pytest.raises(error, match=message):
        call(client)
    assert client.list_evaluations().empty


def test_a_run_is_stored_on_sqlite_and_postgresql(store_url, tmp_path):
    client = Client(store_url, tmp_path / "blobs", spool_dir=tmp_path / "spool")
    try:
        run = client.evaluate(
            ROWS, {"v1": identity, "v2": fixer}, application="gec", progress=False
        )
        again = client.get_evaluation(run.run_id, application="gec")
        pd.testing.assert_frame_equal(again.differences, run.differences, check_dtype=False)
        with pytest.raises(EvaluationNotFound):
            client.get_evaluation(run.run_id, application="another")
        assert client.flush(30)
        assert len(client.query("gec:evaluations")) == 8
    finally:
        client.close()


def test_a_dataset_without_versions_is_refused_by_name(client):
    client.create_dataset("empty")
    with pytest.raises(ValueError, match="'empty' has no versions yet"):
        client.evaluate("empty", {"v1": identity}, progress=False)
    assert client.list_evaluations().empty
