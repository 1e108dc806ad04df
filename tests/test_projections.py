"""Projections: built-ins on known values, the projector on both stores, baselines."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from gantry_gradio import Client, ProjectionError, register_projection
from gantry_gradio.projections.baseline import compare_values
from gantry_gradio.projections.models import DETOXIFY_LABELS, DetoxifyScorer, profanity_scores
from gantry_gradio.projections.text import edit_values, entropy_values
from tests.tiny_detoxify import build

APP = "gec"


def test_entropy_against_hand_computed_values():
    values = entropy_values("aab")
    assert values["char_entropy"] == pytest.approx(
        -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))
    )
    assert values["chars"] == 3 and values["words"] == 1 and values["word_entropy"] == 0
    repetitive = entropy_values("the the the the")
    assert repetitive["word_entropy"] == 0, "degenerate output has no word entropy"
    assert entropy_values("one two three four")["word_entropy"] == pytest.approx(2.0)
    assert entropy_values("") == {
        "char_entropy": 0.0,
        "word_entropy": 0.0,
        "chars": 0.0,
        "words": 0.0,
    }
    assert entropy_values(None) == {} and entropy_values(42) == {}
    assert entropy_values("日本語 😀😀")["chars"] == 6


def test_edit_against_hand_computed_values():
    values = edit_values(("She go to school.", "She goes to school."))
    assert values == {"char_distance": 2.0, "words_changed": 0.25}
    assert edit_values(("same", "same")) == {"char_distance": 0.0, "words_changed": 0.0}
    assert edit_values(("a b c d", "x y"))["words_changed"] == 1.0
    assert edit_values(("text", None)) == {}


def test_profanity_is_offline_and_ranks_offensive_text_higher():
    clean, rude, empty, number = profanity_scores(
        ["have a nice day", "you are a fucking idiot", "", 3]
    )
    assert 0 <= clean["probability"] < 0.5 < rude["probability"] <= 1
    assert empty == {} and number == {}


def test_distances_have_the_known_extremes():
    rng = np.random.default_rng(0)
    sample = rng.normal(size=2000)
    same = compare_values("x", sample, sample.copy())
    assert same.psi == pytest.approx(0, abs=1e-9) and same.js == pytest.approx(0, abs=1e-9)
    assert same.ks == 0 and same.ks_pvalue == pytest.approx(1)
    apart = compare_values("x", sample, sample + 100)
    assert apart.js == pytest.approx(1) and apart.ks == 1 and apart.ks_pvalue < 1e-10
    assert apart.psi > 10
    assert apart.histogram["production"].sum() == apart.histogram["baseline"].sum() == 2000
    shifted = compare_values("x", sample, sample + 0.5)
    assert 0 < shifted.js < apart.js and 0 < shifted.psi < apart.psi
    exact = ks_2samp(sample, sample + 0.5)
    assert shifted.ks == pytest.approx(exact.statistic, abs=0.02), "within one fine bin"
    assert shifted.ks_pvalue < 1e-10 and exact.pvalue < 1e-10


@pytest.fixture(scope="session")
def tiny_detoxify(tmp_path_factory):
    return build(tmp_path_factory.mktemp("detoxify"))


def test_detoxify_checkpoint_loads_offline_and_batches_like_single_calls(tiny_detoxify):
    checkpoint, config = tiny_detoxify
    scorer = DetoxifyScorer(checkpoint=str(checkpoint), config_path=str(config))
    texts = ["you are an idiot", "she goes to school", "i love this", "", None, "😀 日本語"]
    batched = scorer(texts)
    assert batched[3] == {} and batched[4] == {}, "empty and missing texts are skipped"
    for scores in (batched[0], batched[1], batched[2], batched[5]):
        assert set(scores) == set(DETOXIFY_LABELS)
        assert all(0 <= v <= 1 for v in scores.values())
    for text, scores in zip(texts, batched, strict=True):
        single = scorer([text])[0]
        assert single.keys() == scores.keys()
        for label in single:
            assert single[label] == pytest.approx(scores[label], abs=1e-5)
    long_text = "idiot " * 500
    assert set(scorer([long_text])[0]) == set(DETOXIFY_LABELS)
    assert scorer.truncated == 1, "texts past the model's length are truncated, and counted"


def test_detoxify_without_weights_says_so_and_stays_off(tmp_path, caplog):
    scorer = DetoxifyScorer(checkpoint=str(tmp_path / "missing.ckpt"))
    assert scorer(["hello"]) == [{}]
    assert scorer(["again"]) == [{}]
    assert "detoxify projection is off" in caplog.text
    assert caplog.text.count("detoxify projection is off") == 1, "said once, clearly"
    assert scorer.unavailable


def _log_examples(client: Client) -> dict[str, str]:
    examples = {
        "plain": ("She go to school.", "She goes to school."),
        "empty": ("", ""),
        "emoji": ("日本語 😀", "日本語 😀!"),
        "long": ("word " * 3000, "word " * 3000),
        "number": (7, 8),
    }
    for key, (text, output) in examples.items():
        client.log_record(APP, inputs={"text": text}, outputs={"inference": output}, join_key=key)
    client.log_record(APP, inputs={"other": "no inference field"}, join_key="missing")
    assert client.flush(30)
    return examples


def test_compute_projections_on_both_stores_and_resume(client, tiny_detoxify):
    checkpoint, config = tiny_detoxify
    _log_examples(client)
    specs = [
        "entropy",
        "edit",
        "profanity",
        {"name": "detoxify", "checkpoint": str(checkpoint), "config_path": str(config)},
    ]
    done = client.compute_projections(APP, projections=specs, progress=False)
    assert done == 6 * 4
    df = client.query(APP).set_index("join_key")
    assert df.loc["plain", "projections.edit.char_distance"] == 2
    assert df.loc["plain", "projections.entropy.words"] == 4
    assert 0 <= df.loc["plain", "projections.detoxify.obscene"] <= 1
    assert df.loc["number", "projections.entropy.status"] == "skipped: no text to project"
    assert df.loc["missing", "projections.entropy.status"] == "skipped: no text to project"
    assert df.loc["empty", "projections.detoxify.status"] == "skipped: no text to project"
    assert df.loc["long", "projections.entropy.chars"] == 15000
    assert df.loc["emoji", "projections.profanity.status"] == "ok"
    # Nothing waits any more; a recompute of a window redoes only that window.
    assert client.compute_projections(APP, projections=specs, progress=False) == 0
    assert (
        client.compute_projections(APP, projections=["entropy"], recompute=True, progress=False)
        == 6
    )
    values = client.histogram(APP, "projections.entropy.chars", bins=2)
    assert values["count"].sum() == 4, "projection values aggregate like any field"


def test_background_projector_and_a_failing_custom_projection(store_url, tmp_path):
    @register_projection("shouting", "outputs.inference", ["upper_share"], replace=True)
    def shouting(batch):
        return [
            {"upper_share": sum(c.isupper() for c in t) / max(len(t), 1)}
            if isinstance(t, str)
            else {}
            for t in batch
        ]

    def broken(batch):
        raise RuntimeError("model exploded")

    register_projection("broken", "outputs.inference", ["x"], broken, replace=True)
    with pytest.raises(ProjectionError, match="registered already"):
        register_projection("broken", "outputs.inference", ["x"], broken)
    with pytest.raises(ProjectionError, match="identifier"):
        register_projection("no spaces", "outputs.inference", ["x"], broken)

    client = Client(
        store_url,
        blobs=tmp_path / "b",
        spool_dir=tmp_path / "s",
        projections=["shouting", "broken", "entropy"],
    )
    try:
        client.log_record(
            APP, inputs={"text": "hi"}, outputs={"inference": "HI there"}, join_key="k"
        )
        assert client.flush(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            df = client.query(APP)
            if (
                "projections.entropy.status" in df
                and df["projections.entropy.status"].notna().all()
            ):
                break
            time.sleep(0.2)
        row = df.iloc[0]
        assert row["projections.shouting.upper_share"] == pytest.approx(2 / 8)
        assert row["projections.broken.status"].startswith("error: RuntimeError: model exploded")
        assert row["projections.entropy.status"] == "ok", "one broken projection stalls no other"
    finally:
        client.close()


def test_baseline_comparison_through_the_client(client, tmp_path):
    rng = np.random.default_rng(1)
    words = ["alpha", "beta", "gamma", "delta", "eps"]
    for i in range(60):
        n = int(rng.integers(1, 4))  # production: short outputs
        client.log_record(
            APP, inputs={"text": "x"}, outputs={"inference": " ".join(words[:n])}, join_key=f"p{i}"
        )
    assert client.flush(30)
    client.compute_projections(APP, projections=["entropy"], progress=False)
    reference = pd.DataFrame({"answer": [" ".join(words[: 3 + i % 3]) for i in range(60)]})
    stored = client.register_baseline(
        APP, reference, projections=["entropy"], columns={"outputs.inference": "answer"}
    )
    assert stored["projections.entropy.words"] == 60
    csv = tmp_path / "reference.csv"
    reference.rename(columns={"answer": "outputs.inference"}).to_csv(csv, index=False)
    from_csv = client.register_baseline(APP, csv, name="from-csv", projections=["entropy"])
    assert from_csv == stored, "a CSV whose columns are the fields works the same"
    result = client.compare_to_baseline(APP, "projections.entropy.words", bins=5)
    in_memory = compare_values(
        "projections.entropy.words",
        client.query(APP)["projections.entropy.words"].to_numpy(dtype=float),
        reference["answer"].str.split().str.len().to_numpy(dtype=float),
        bins=5,
    )
    assert result.histogram.equals(in_memory.histogram), "SQL counts = numpy counts"
    assert (result.psi, result.ks) == pytest.approx((in_memory.psi, in_memory.ks))
    assert result.production_count == 60 and result.baseline_count == 60
    assert result.ks > 0.5 and result.ks_pvalue < 0.01, "production outputs are shorter"
    assert result.histogram[["production", "baseline"]].sum().tolist() == [60, 60]
    same = client.compare_to_baseline(
        APP, "projections.entropy.words", bins=5, filters=["projections.entropy.words >= 3"]
    )
    assert same.production_count < 60
    with pytest.raises(LookupError, match="no values"):
        client.compare_to_baseline(APP, "projections.entropy.chars", baseline="other")
    with pytest.raises(ValueError, match="no projection could read"):
        client.register_baseline(APP, pd.DataFrame({"nothing": [1]}), projections=["entropy"])


@pytest.mark.slow
def test_command_line_computes_projections(tmp_path):
    import os
    import subprocess
    import sys

    store = f"sqlite:///{tmp_path / 'r.db'}"
    env = {
        **os.environ,
        "GANTRY_SPOOL": str(tmp_path / "spool"),
        "GANTRY_BLOBS": str(tmp_path / "blobs"),
    }
    seed = Client(store)
    try:
        seed.log_records(
            APP,
            inputs=[{"text": "a b"}, {"text": "c"}],
            outputs=[{"inference": "a b"}, {"inference": "c"}],
        )
        assert seed.flush(30)
    finally:
        seed.close()
    command = [
        sys.executable,
        "-m",
        "gantry_gradio",
        "projections",
        "--store",
        store,
        "--app",
        APP,
        "--projection",
        "entropy",
        "--projection",
        "edit",
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert "computed 4 record-projections" in out.stdout
    again = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert "computed 0 record-projections" in again.stdout, "a second run resumes: nothing left"
    check = Client(store, spool_dir=tmp_path / "spool", blobs=tmp_path / "blobs")
    try:
        assert sorted(check.query(APP)["projections.entropy.words"]) == [1, 2]
    finally:
        check.close()
