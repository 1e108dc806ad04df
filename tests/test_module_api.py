"""The module-level API over the default client, as the README's quickstart uses it."""

import re

import pytest

import gantry_gradio as gantry


def test_module_level_calls_use_the_client_made_by_init(tmp_path, monkeypatch):
    monkeypatch.setenv("GANTRY_STORE", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("GANTRY_BLOBS", str(tmp_path / "env-blobs"))
    monkeypatch.setenv("GANTRY_SPOOL", str(tmp_path / "env-spool"))
    first = gantry.init(environment="test")
    assert first.store_url.endswith("env.db"), "environment variables come second"
    keys = gantry.log_records(
        "mod-app", inputs=[{"n": 1}, {"n": 2}], feedbacks=[{"accepted": True}, {"accepted": False}]
    )
    gantry.log_record("mod-app", feedback={"flag": "offensive"}, join_key=keys[1])
    assert gantry.flush(30)
    assert gantry.list_applications() == ["mod-app"]
    assert len(gantry.query("mod-app")) == 2
    assert gantry.percent_true("mod-app")["percent_true"].tolist() == [0.5]
    assert gantry.value_counts("mod-app", "feedback.flag")["value"].tolist() == ["offensive"]
    assert gantry.histogram("mod-app", "inputs.n", bins=2)["count"].tolist() == [1, 1]
    gantry.create_view("mod-app", "accepted", filters=["feedback.accepted == true"])
    assert [v.name for v in gantry.list_views("mod-app")] == ["accepted"]
    assert gantry.get_view("mod-app", "accepted").filters[0].value is True
    assert len(gantry.query("mod-app", view="accepted")) == 1
    gantry.delete_view("mod-app", "accepted")
    assert gantry.stats()["delivered"] == 3

    second = gantry.init(f"sqlite:///{tmp_path / 'kw.db'}", tmp_path / "kw-blobs")
    assert second is gantry.get_client() and second is not first
    assert second.store_url.endswith("kw.db"), "keyword arguments win over the environment"
    assert not first.worker.is_alive(), "init() closes the previous client"
    second.close()


def test_a_closed_default_client_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("GANTRY_STORE", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("GANTRY_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("GANTRY_BLOBS", str(tmp_path / "b"))
    closed = gantry.init()
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        closed.log_record("mod-app", inputs={"before": "reopen"})
    gantry.log_record("mod-app", inputs={"after": "close"})
    assert gantry.flush(30)
    assert gantry.query("mod-app")["inputs.after"].tolist() == ["close"]
    gantry.get_client().close()


def test_every_public_function_documents_itself_and_matches_client():
    """help(gantry_gradio.<function>) says what it does, and each one that
    stands for a Client method takes exactly the method's parameters."""
    import inspect

    for name in gantry.__all__:
        if name[0].isupper():
            continue  # classes
        function = getattr(gantry, name)
        assert inspect.getdoc(function), f"gantry_gradio.{name} has no docstring"
        method = getattr(gantry.Client, name, None)
        if method is not None and name != "init":
            ours = inspect.signature(function)
            theirs = inspect.signature(method)
            assert list(ours.parameters.values()) == list(theirs.parameters.values())[1:], name
            assert ours.return_annotation == theirs.return_annotation, name
    assert gantry.__all__ == sorted(gantry.__all__)


_PARAMETER = re.compile(r"^\s*(\*|\.\.\.|\*\*?[a-z_]+|[a-z_]+(\s*=.*)?)\s*$", re.DOTALL)


def _documented_calls() -> list[tuple[str, list[str], bool]]:
    """(name, parameter names, elided) of each signature of a public function
    README.md and docs/ write in backticks outside code blocks (`name(a, *, b=1)` in
    the API tables and in prose, `gantry.` prefix or not). A call with values
    (`log_record("app", ...)`) is not a signature and is left out; "..."
    marks a signature that shows some parameters only."""
    from pathlib import Path

    root = Path(__file__).parent.parent
    documents = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    text = "\n".join(path.read_text(encoding="utf-8") for path in documents)
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    calls = []
    for match in re.finditer(r"`(?:gantry\.)?([A-Za-z_]+)\(([^`]*)\)(?: -> [^`]*)?`", prose):
        name, inside = match.groups()
        if name not in gantry.__all__:
            continue
        depth, part, parts = 0, "", []
        for char in inside:
            depth += char in "[({" and 1 or char in "])}" and -1 or 0
            if char == "," and depth == 0:
                parts.append(part)
                part = ""
            else:
                part += char
        parts.append(part)
        if not any(p.strip() for p in parts) or not all(
            _PARAMETER.match(p) for p in parts if p.strip()
        ):
            continue  # a call (`init()`, `query("app")`), not a signature
        names = [p.split("=")[0].strip() for p in parts]
        elided = "..." in names
        calls.append((name, [n for n in names if n not in ("*", "...", "")], elided))
    return calls


def test_the_readme_signatures_match_the_code():
    import inspect

    calls = _documented_calls()
    expected = {"init", "query", "log_record", "create_view", "monitor", "feedback_controls"}
    assert {name for name, _, _ in calls} >= expected | {"monitoring_tab"}
    for name, documented, elided in calls:
        actual = list(inspect.signature(getattr(gantry, name)).parameters)
        if not elided and documented[0] != actual[0]:
            continue  # a keyword call (`init(blobs="s3://...")`): signatures start at the start
        if elided:
            assert set(documented) <= set(actual), (name, documented, actual)
        else:
            assert documented == actual, (name, documented, actual)


def test_create_alert_takes_alert_rule_parameters_and_its_schedule():
    import dataclasses
    import inspect

    parameters = inspect.signature(gantry.create_alert).parameters
    rule = [f.name for f in dataclasses.fields(gantry.AlertRule)]
    assert list(parameters) == rule + ["start_on", "end_on"]
    assert [p.kind for p in parameters.values()][:4] == [
        inspect.Parameter.POSITIONAL_OR_KEYWORD
    ] * 3 + [inspect.Parameter.KEYWORD_ONLY]
    with pytest.raises(TypeError):
        gantry.create_alert("a", "app", "volume", below=1, no_such_setting=2)
