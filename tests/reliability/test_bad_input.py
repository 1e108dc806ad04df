"""Bad input, property-based: whatever a caller passes through the public API,
each call either returns or raises a clear TypeError / ValueError at the call;
every accepted record is stored exactly once with its text intact (or
converted as README "What gets stored" documents); the delivery worker never
dies; hostile filters are compared as values, never executed."""

from __future__ import annotations

import math
import string

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gantry_gradio import Client, DatasetError, FilterError

APP = "hostile"
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any code point, lone surrogates and NUL included; RTL marks and emoji come with it.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
)
# What an HTTP client can send: UTF-8 has no lone surrogates (httpx refuses to
# encode them), so those are covered through the API above, not through the app.
http_text = st.text(st.characters(codec="utf-8"), max_size=40)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


def expected_text(text: str) -> str:
    """The documented conversion: NUL and lone surrogates become U+FFFD."""
    text = text.replace("\x00", "\ufffd")
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_client(request, tmp_path_factory):
    """One store per module and engine: hypothesis runs many examples against it."""
    folder = tmp_path_factory.mktemp("hostile")
    if request.param == "sqlite":
        store = f"sqlite:///{folder / 'r.db'}"
    else:
        store = request.getfixturevalue("postgres").create_database("hostile")
    c = Client(store, folder / "blobs", spool_dir=folder / "spool")
    yield c
    c.close()


@SETTINGS
@given(text=any_text)
def test_any_unicode_text_is_stored_as_documented(shared_client, text):
    key = shared_client.log_record(APP, inputs={"text": text}, outputs={"n": len(text)})
    assert shared_client.flush(30)
    row = shared_client.query(APP, filters=[("join_key", "==", key)])
    assert len(row) == 1
    assert row["inputs.text"][0] == expected_text(text)


@SETTINGS
@given(value=json_like, key=any_text)
def test_arbitrary_json_like_values_never_crash_the_worker(shared_client, value, key):
    before = shared_client.stats()
    try:
        join_key = shared_client.log_record(APP, inputs={key or "k": value})
    except (TypeError, ValueError) as exc:
        assert str(exc)  # a clear message, raised at the call
        return
    assert shared_client.flush(30), shared_client.stats()
    after = shared_client.stats()
    assert after["rejected"] == before["rejected"], after
    assert len(shared_client.query(APP, filters=[("join_key", "==", join_key)])) == 1


@SETTINGS
@given(feedback=scalars | st.lists(scalars, max_size=3), field=any_text)
def test_any_feedback_value_for_an_unknown_or_known_key_is_kept_or_refused(
    shared_client, feedback, field
):
    key = shared_client.log_record(APP, inputs={"text": "base"})
    try:
        shared_client.log_record(APP, feedback={field or "f": feedback}, join_key=key)
    except (TypeError, ValueError) as exc:
        assert str(exc)
        return
    assert shared_client.flush(30)
    assert len(shared_client.query(APP, filters=[("join_key", "==", key)])) == 1


@SETTINGS
@given(join_key=any_text)
def test_hostile_join_keys_are_refused_or_stored_verbatim(shared_client, join_key):
    try:
        shared_client.log_record(APP, feedback={"accepted": True}, join_key=join_key)
    except (TypeError, ValueError) as exc:
        assert str(exc)
        return
    assert shared_client.flush(30)


SQLISH = st.sampled_from(
    [
        "x'; DROP TABLE gantry_applications; --",
        "1 OR 1=1",
        "') OR ('1'='1",
        '"; DELETE FROM gantry_views; --',
        "%",
        "_",
        "\\",
    ]
)


@SETTINGS
@given(value=SQLISH | any_text, op=st.sampled_from(["==", "!=", "contains", "<", ">="]))
def test_hostile_filter_values_are_compared_never_executed(shared_client, value, op):
    shared_client.log_record(APP, inputs={"text": "the only row with this text"})
    assert shared_client.flush(30)
    total = len(shared_client.query(APP))
    try:
        matched = shared_client.query(APP, filters=[("inputs.text", op, value)])
    except FilterError as exc:
        assert str(exc)
        return
    assert len(matched) <= total
    if op == "contains" and value not in "the only row with this text":
        assert "the only row with this text" not in set(matched["inputs.text"])
    assert APP in shared_client.list_applications()  # nothing dropped


@SETTINGS
@given(spec=any_text | SQLISH)
def test_hostile_filter_strings_and_view_names(shared_client, spec):
    try:
        shared_client.create_view(APP, spec or "v", filters=[spec], replace=True)
    except (FilterError, ValueError) as exc:
        assert str(exc)
    assert APP in shared_client.list_applications()


@SETTINGS
@given(name=any_text | st.sampled_from(["../../etc/passwd", "a/b", "..", "/abs"]))
def test_hostile_dataset_names_never_reach_the_blob_store(shared_client, name):
    allowed = set(string.ascii_letters + string.digits + "_")
    valid = bool(name) and len(name) <= 100 and set(name) <= allowed and not name[0].isdigit()
    if valid:
        return
    with pytest.raises(DatasetError):
        shared_client.create_dataset(name)


def test_nan_and_infinity_are_stored_as_documented(shared_client):
    key = shared_client.log_record(
        APP, inputs={"nan": math.nan, "inf": math.inf, "ninf": -math.inf}
    )
    assert shared_client.flush(30)
    row = shared_client.query(APP, filters=[("join_key", "==", key)]).iloc[0]
    # README "What gets stored": NaN and infinities are stored as null
    assert all(pd.isna(row.get(f"inputs.{name}")) for name in ("nan", "inf", "ninf"))


@pytest.fixture(scope="module")
def echo_app(shared_client):
    """A launched app whose monitored function echoes its text's length."""
    import gradio as gr

    from gantry_gradio import monitor
    from tests.gradio_apps import connect, launched

    def measure(text: str) -> str:
        return str(len(text))

    demo = gr.Interface(
        monitor("hostile-app", measure, output_names=["length"], client=shared_client),
        gr.Textbox(),
        gr.Textbox(),
        flagging_mode="never",
    )
    with launched(demo) as url:
        yield connect(url)


@settings(SETTINGS, max_examples=25)
@given(text=http_text | st.sampled_from(["x" * 200_000, "\u202eevil\u202c", "🙂" * 1000]))
def test_any_text_through_the_launched_app_is_answered_and_stored(shared_client, echo_app, text):
    answer = echo_app.predict(text, api_name="/measure")
    assert answer == str(len(text))
    assert shared_client.flush(30)
    stored = shared_client.query("hostile-app", filters=[("outputs.length", "==", answer)])
    assert expected_text(text) in set(stored["inputs.text"])
    assert shared_client.monitoring_errors == 0
