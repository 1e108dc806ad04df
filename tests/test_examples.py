"""The README's runnable examples work as documented."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gantry_gradio as gantry
from tests.gradio_apps import TEST_TOKEN, connect, flag_index, launched, monitoring_refresh

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_quickstart_runs_on_the_embedded_defaults(tmp_path):
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "percent_true" in out and "incorrect" in out and "She goes to school." in out
    assert (tmp_path / "gantry_data" / "records.db").exists()


def test_the_readme_quickstart_runs_as_written(tmp_path):
    """The README's quickstart block, pasted into a fresh folder."""
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Quickstart.*?```python\n(.*?)```", readme, re.DOTALL).group(1)
    code += (
        "\nprint(df['feedback.correction_accepted'].tolist())"
        "\nprint(gantry.value_counts('quickstart-gec', 'feedback.flag').to_dict('records'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "[True, False]" in out.stdout and "'value': 'incorrect', 'count': 1" in out.stdout


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_example_apps_log_predictions_feedback_and_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("GANTRY_STORE", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("GANTRY_BLOBS", str(tmp_path / "blobs"))
    monkeypatch.setenv("GANTRY_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("GANTRY_MONITORING_TOKEN", TEST_TOKEN)
    client = gantry.init()
    try:
        blocks = _load("gradio_blocks")
        with launched(blocks.demo) as url:
            app = connect(url)
            assert app.predict("they go out", api_name="/predict") == "they goes out"
            app.predict(api_name="/reject")
            assert client.flush(30)
            refreshed = monitoring_refresh(app, blocks.APP, token=TEST_TOKEN)
            assert "**Predictions:** 1" in refreshed[3] and "0.0%" in refreshed[3]
        interface = _load("gradio_interface")
        with launched(interface.demo) as url:
            app = connect(url)
            output = app.predict("we go", api_name="/correct")
            app.predict("we go", output, fn_index=flag_index(app, 2))
        assert client.flush(30)
        assert bool(client.query(blocks.APP)["feedback.accepted"].iloc[0]) is False
        assert client.query(interface.APP)["feedback.flag"].tolist() == ["other"]
    finally:
        client.close()
