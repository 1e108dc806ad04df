"""The demo app: the corrector's loading path on a tiny local model, the
fallback when the hub is unreachable, and the launched app driven by
gradio_client with predictions, feedback and flags landing in the store."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from gradio_client.exceptions import AppError

from demo_app import model as model_module
from demo_app.app import PLACEHOLDER, build_demo
from demo_app.diff import word_diff
from demo_app.model import Corrector, load_corrector
from demo_app.pipeline import load_pipeline
from tests.gradio_apps import TEST_TOKEN, connect, launched, monitoring_refresh
from tests.tiny_seq2seq import build

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build(tmp_path_factory.mktemp("tiny-t5"))


def test_a_local_folder_loads_and_corrects_in_batches(tiny_model):
    corrector = Corrector(str(tiny_model), num_beams=2, max_length=16)
    texts = ["She go to school every days.", "They was happy.", ""]
    batched = corrector.correct(texts)
    assert len(batched) == 3 and all(isinstance(t, str) for t in batched)
    assert batched[:2] == [corrector.correct([t])[0] for t in texts[:2]]
    assert corrector.correct([]) == []


def test_unreachable_hub_model_falls_back_to_the_bundled_one(
    tiny_model, monkeypatch, caplog, tmp_path
):
    monkeypatch.setattr(model_module, "BUNDLED_MODEL", tiny_model)
    with caplog.at_level(logging.WARNING, logger="demo_app.model"):
        corrector = load_corrector("no-such-user/no-such-model", num_beams=1)
    assert corrector.source == str(tiny_model)
    assert "using the bundled corrector" in caplog.text
    monkeypatch.setattr(model_module, "BUNDLED_MODEL", tmp_path / "missing")
    with pytest.raises(RuntimeError, match="cannot load the corrector"):
        load_corrector("no-such-user/no-such-model")


def test_word_diff_marks_what_changed():
    assert word_diff("She go to school", "She goes to the school") == [
        ("She", None),
        ("go", "-"),
        ("goes", "+"),
        ("to", None),
        ("the", "+"),
        ("school", None),
    ]
    assert word_diff("", "") == []


def test_launched_demo_logs_predictions_feedback_and_flags(tiny_model, client):
    corrector = Corrector(str(tiny_model), num_beams=1, max_length=16)
    with launched(build_demo(corrector, client=client, monitoring_token=TEST_TOKEN)) as url:
        app = connect(url)
        first = app.predict("She go to school every days.", "alice", 3, api_name="/correct")
        assert first == corrector.correct(["She go to school every days."])[0]
        app.predict(api_name="/reject")
        app.predict("offensive", api_name="/flag")
        other = connect(url)
        other.predict("They was happy.", "bob", 400, api_name="/correct")
        other.predict(api_name="/accept")
        assert client.flush(30)
        refreshed = monitoring_refresh(app, "gec-demo-app", token=TEST_TOKEN)
        assert "**Predictions:** 2" in refreshed[3] and "50.0%" in refreshed[3]
    rows = client.query("gec-demo-app").set_index("tags.username")
    assert rows.loc["alice", "inputs.text"] == "She go to school every days."
    assert rows.loc["alice", "tags.account_age_days"] == 3
    assert rows.loc["alice", "tags.env"] == "prod"
    assert not bool(rows.loc["alice", "feedback.correction_accepted"])
    assert rows.loc["alice", "feedback.flag"] == "offensive"
    assert bool(rows.loc["bob", "feedback.correction_accepted"])
    assert "inputs.username" not in rows.columns


BUNDLED_FIXES = {
    "he thinked about the problem all night.": "He thought about the problem all night.",
    "She goed home early.": "She went home early.",
    "He buyed a new car last year.": "He bought a new car last year.",
    "i think it will rain tomorrow.": "I think it will rain tomorrow.",
    "She have a cat.": "She has a cat.",
    "I seen him yesterday.": "I saw him yesterday.",
    "They was late.": "They were late.",
}
BUNDLED_LEAVES_ALONE = [
    "We arrived at the station in time.",
    "The children are playing in the garden.",
    "She brought her dog with her.",
    "He contented himself with one glass for beer per day.",
    # The model proposes "He ran to catch the business." here, but prefers it
    # to the input by only ~0.04 nats a token, under the confidence margin.
    "He runned to catch the bus.",
]


def test_the_bundled_corrector_loads_offline_and_corrects_fixed_examples(monkeypatch, caplog):
    """The shipped model, not a test double: the hub is unreachable, so the
    loader falls back to it; it fixes these and leaves correct ones alone."""
    monkeypatch.setattr(model_module, "_hub_reachable", lambda timeout=3.0: False)
    with caplog.at_level(logging.WARNING, logger="demo_app.model"):
        corrector = load_corrector("no-such-user/no-such-model")
    assert corrector.source == str(model_module.BUNDLED_MODEL)
    assert "using the bundled corrector" in caplog.text
    weights = model_module.BUNDLED_MODEL / "model.safetensors"
    assert weights.stat().st_size <= 60 * 10**6
    sources = [*BUNDLED_FIXES, *BUNDLED_LEAVES_ALONE]
    expected = [*BUNDLED_FIXES.values(), *BUNDLED_LEAVES_ALONE]
    assert corrector.correct(sources) == expected
    assert [corrector.correct([s])[0] for s in sources] == expected  # batched == single


def test_the_demo_runs_spelling_grammar_then_the_model_and_logs_the_stages_as_version(
    monkeypatch, client
):
    """`python -m demo_app`'s corrector: the spelling stage and the grammar
    rules before the model (here the bundled one, the hub being
    unreachable), in the launched app; the version names the stages, not
    this machine's path to the model."""
    monkeypatch.setattr(model_module, "_hub_reachable", lambda timeout=3.0: False)
    pipeline = load_pipeline("no-such-user/no-such-model")
    assert pipeline.source == "spelling+grammar+bundled_model"
    text = "I recieve alot of emails becuase i am a teacher and she have two cats."
    # The first sentence a visitor sees comes back fully fixed.
    assert pipeline.correct([PLACEHOLDER]) == ["She goes to school every day."]
    with launched(build_demo(pipeline, client=client, monitoring_token=TEST_TOKEN)) as url:
        app = connect(url)
        corrected = app.predict(text, "alice", 3, api_name="/correct")
        for empty in ("", "   \n"):
            with pytest.raises(AppError, match="Type a sentence"):
                app.predict(empty, "alice", 3, api_name="/correct")
    assert corrected == pipeline.correct([text])[0]
    assert "receive" in corrected and "because" in corrected and "she has" in corrected
    assert client.flush(30)
    assert len(client.query("gec-demo-app")) == 1, "an empty box is no prediction"
    row = client.query("gec-demo-app").iloc[0]
    assert row["version"] == "spelling+grammar+bundled_model"
    assert row["outputs.inference"] == corrected
    assert (
        load_pipeline("no-such-user/no-such-model", spelling=False, grammar=False).source
        == "bundled_model"
    )


def test_python_m_demo_app_honours_gradios_port_variable(tmp_path):
    """GRADIO_SERVER_PORT decides the port when --port is not given (the
    demo's printed link says it), as for any Gradio app."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GANTRY_MONITORING_TOKEN": TEST_TOKEN,
        "PYTHONPATH": str(Path(__file__).parent.parent),  # as `python -m demo_app` from the repo
    }
    command = [
        sys.executable, "-m", "demo_app", "--model", str(model_module.BUNDLED_MODEL),
        "--store", f"sqlite:///{tmp_path / 'r.db'}", "--blobs", str(tmp_path / "b"),
    ]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=tmp_path,
    )
    try:
        printed = []
        for line in server.stdout:
            printed.append(line)
            if line.startswith("Monitoring tab"):
                break
        assert f"http://127.0.0.1:{port}/#monitoring_token=" in "".join(printed), printed
    finally:
        server.terminate()
        server.wait(30)
