"""`python -m gantry_gradio evaluate` in a subprocess: prints the comparison,
stores the run, and its exit status says whether a requirement held."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from gantry_gradio import Client
from tests.test_evaluation import ROWS

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path):
    url, blobs = f"sqlite:///{tmp_path / 'r.db'}", str(tmp_path / "blobs")
    client = Client(url, blobs, spool_dir=tmp_path / "spool")
    client.create_dataset("gec_labels").push(ROWS, "four rows")
    client.create_dataset("big").push(pd.concat([ROWS] * 25, ignore_index=True), "100 rows")
    client.close()
    return url, blobs


def _evaluate(store, *options, dataset="gec_labels"):
    url, blobs = store
    command = [sys.executable, "-m", "gantry_gradio", "evaluate", "--store", url, "--blobs", blobs]
    return subprocess.run(
        [*command, "--dataset", dataset, *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_compares_and_requires(store, tmp_path):
    done = _evaluate(
        store,
        "--candidate", "v1=tests.test_evaluation:identity",
        "--candidate", "v2=tests.test_evaluation:fixer",
        "--metric", "exact_match",
        "--require", "v2>v1:exact_match",
        "--app", "gec",
    )  # fmt: skip
    assert "exact_match        v2 0.7500" in done.stdout, done.stdout + done.stderr
    # 4 rows: the interval of +0.5 still reaches 0, so the requirement fails.
    assert "requirement v2>v1:exact_match: no clear difference" in done.stdout
    assert done.returncode == 1
    clear = _evaluate(
        store,
        "--candidate", "v1=tests.test_evaluation:identity",
        "--candidate", "v2=tests.test_evaluation:fixer",
        "--require", "v2>v1:exact_match",
        "--require", "v2>v1:char_edit_distance",
        dataset="big",
    )  # fmt: skip
    assert "requirement v2>v1:exact_match: better" in clear.stdout, clear.stdout + clear.stderr
    assert "requirement v2>v1:char_edit_distance: better" in clear.stdout
    assert clear.returncode == 0
    client = Client(store[0], store[1], spool_dir=tmp_path / "spool2")
    try:
        assert list(client.list_evaluations("gec")["candidates"]) == [["v1", "v2"]]
    finally:
        client.close()


def test_cli_refuses_bad_input_with_status_2(store):
    bad_candidate = _evaluate(store, "--candidate", "v1")
    assert bad_candidate.returncode == 2 and "NAME=TARGET" in bad_candidate.stderr
    missing = _evaluate(store, "--candidate", "v1=tests.nothing_here:f")
    assert missing.returncode == 2 and "cannot import" in missing.stderr
    bad_metric = _evaluate(
        store, "--candidate", "v1=tests.test_evaluation:identity", "--metric", "bleurt"
    )
    assert bad_metric.returncode == 2 and "unknown metric" in bad_metric.stderr
