"""What the launched monitoring tab does with a viewer's mistakes and with
partial data (issue 14, findings 13, 14, 15), on SQLite and PostgreSQL: every
mistake shows its message, missing data is an empty panel with a note, no
window breaks the tab; bins and view names are bounded in the API."""

from __future__ import annotations

import gradio as gr
import pandas as pd
import pytest
from gradio_client.exceptions import AppError

from gantry_gradio import ViewError
from gantry_gradio.dashboard import panels
from gantry_gradio.dashboard.panels import Scope
from gantry_gradio.dashboard.tab import monitoring_tab
from tests.gradio_apps import (
    TEST_TOKEN,
    connect,
    launched,
    monitoring_refresh,
    monitoring_save_view,
    plotted,
    shown,
)

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

APP = "inputs-app"
START = pd.Timestamp("2022-04-04", tz="UTC")


@pytest.fixture
def seeded(client):
    client.log_records(
        APP,
        inputs=[{"text": f"<b>row</b> {i}"} for i in range(6)],
        feedbacks=[{"accepted": i % 2 == 0} for i in range(6)],
        tags=[{"account_age_days": i} for i in range(6)],
        timestamps=[START + pd.Timedelta(days=i) for i in range(6)],
    )
    assert client.flush(30)
    return client


@pytest.fixture
def tab_url(seeded):
    with gr.Blocks() as demo:
        monitoring_tab(APP, client=seeded, access_token=TEST_TOKEN)
    with launched(demo) as url:
        yield url


def _refresh(url: str, application: str = APP, **controls) -> tuple:
    return monitoring_refresh(connect(url), application, token=TEST_TOKEN, **controls)


MISTAKES = [
    ({"filters": "tags.account_age_days ~ 3"}, "cannot read filter"),
    ({"filters": "tags.account_age_dayz < 3"}, "unknown field 'tags.account_age_dayz'"),
    ({"filters": "tags.account_age_days < young"}, "holds number values"),
    ({"filters": "feedback.accepted > true"}, "compare it with == or !="),
    ({"filters": "tags.account_age_days in 3"}, "needs a list value"),
    ({"filters": "timestamp < 1e400"}, "not a date/time"),
    ({"filters": "timestamp < 99999999999999"}, "after 2262"),
    ({"view": "no-such-view"}, "no view 'no-such-view'"),
    ({"view": "bad\x00name"}, "control character"),
    ({"start": "2022-13-45"}, "start '2022-13-45' is not a date/time"),
    ({"start": "1960-01-01"}, "before 1970"),
    ({"end": "9999-01-01"}, "not a date/time|after 2262"),
    ({"start": "2022-05-01", "end": "2022-04-01"}, None),
    ({"preset": "last century"}, "not in the list of choices|time range must be one of"),
    ({"bucket": "fortnight"}, "not in the list of choices|bucket must be one of"),
]


@pytest.mark.parametrize(("controls", "message"), MISTAKES)
def test_a_viewers_mistake_shows_its_message(tab_url, controls, message):
    """Never Gradio's bare "Error"; an empty window is no mistake at all."""
    if message is None:
        out = _refresh(tab_url, **controls)
        assert "**Predictions:** 0" in out[3] and "No predictions in this window" in out[2]
        return
    with pytest.raises(AppError, match=message):
        _refresh(tab_url, **controls)


def test_a_message_quoting_html_is_escaped(tab_url):
    with pytest.raises(AppError) as shown:
        _refresh(tab_url, filters="<img src=x onerror=alert(1)> < 3")
    assert "<img" not in str(shown.value) and "&lt;img" in str(shown.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [("", None), ("a\x00b", "control character"), ("x" * 201, "at most 200"), ("a\nb", "control")],
)
def test_saving_a_view_with_a_bad_name_says_why(tab_url, seeded, name, message):
    app = connect(tab_url)
    if message is None:
        assert monitoring_save_view(app, APP, name, token=TEST_TOKEN) == "Name the view first."
        return
    with pytest.raises(AppError, match=message):
        monitoring_save_view(app, APP, name, token=TEST_TOKEN)
    assert seeded.list_views(APP) == []


# -- finding 13: partial data ---------------------------------------------------


def test_a_fresh_app_shows_empty_panels_with_notes(client):
    """Predictions with a latency tag (what monitor() logs), no feedback yet."""
    client.log_records(
        "fresh-app",
        inputs=[{"text": f"t{i}"} for i in range(3)],
        outputs=[{"text": f"o{i}"} for i in range(3)],
        tags=[{"latency_ms": 10.5 + i} for i in range(3)],
    )
    client.log_records("odd-feedback", inputs=[{"x": 1}], feedbacks=[{"accepted": "yes"}])
    assert client.flush(30)
    with gr.Blocks() as demo:
        monitoring_tab(None, client=client, access_token=TEST_TOKEN)
    with launched(demo) as url:
        fresh = _refresh(url, "fresh-app")
        odd = _refresh(url, "odd-feedback")
        renamed = _refresh(url, "fresh-app", filters="tags.latency_ms > 11")
    assert "**Predictions:** 3" in fresh[3] and "**Acceptance rate:** –" in fresh[3]
    assert "No feedback field `feedback.accepted` yet" in fresh[2]
    assert "No flags yet" in fresh[2] and "No projections yet" in fresh[2]
    assert "No true/false feedback" in str(plotted(fresh[4])["text"].tolist())
    bars = plotted(fresh[7])  # the latency distribution needs no feedback
    assert set(bars["accepted"]) == {"all records"} and bars["count"].sum() == 3
    assert len(shown(fresh[12])["data"]) == 3
    assert "`feedback.accepted` holds text values" in odd[2]
    assert "**Acceptance rate:** –" in odd[3], "a text field gives no rate, never 0%"
    assert "**Predictions:** 2" in renamed[3]


def test_the_demo_store_without_its_accepted_field_is_explained(client):
    client.log_records(
        "gec-demo-app",
        inputs=[{"text": "a"}] * 2,
        feedbacks=[{"correction_accepted": True}, {"correction_accepted": False}],
        tags=[{"account_age_days": 3}, {"account_age_days": 300}],
    )
    assert client.flush(30)
    with gr.Blocks() as demo:
        monitoring_tab("gec-demo-app", client=client, access_token=TEST_TOKEN)
    with launched(demo) as url:
        out = _refresh(url, "gec-demo-app")
    assert "No feedback field `feedback.accepted` yet" in out[2] and "--accepted-field" in out[2]
    assert "**Predictions:** 2" in out[3]


# -- finding 15: windows, bins, view names ---------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [("1975-01-01", ""), ("2000-01-01", "2030-01-01"), ("1970-01-01", "2262-01-01")],
)
def test_a_previous_period_before_1970_is_clipped(tab_url, seeded, start, end):
    out = _refresh(tab_url, start=start, end=end)
    assert "**Predictions:** 6" in out[3] and "in the previous period" in out[3]
    numbers = panels.headline(
        seeded, Scope(APP, start=start, end=end or None), "feedback.accepted", "feedback.flag"
    )
    assert numbers["previous"]["predictions"] == 0


def test_histogram_bins_are_bounded(seeded):
    field = "tags.account_age_days"
    assert len(seeded.histogram(APP, field, bins=1000)) == 1000
    assert len(seeded.histogram(APP, field, bins=1)) == 1
    for bins in (0, -1, 1001, 10**9, True, 2.5, "20", None):
        with pytest.raises(ValueError, match="from 1 to 1,000"):
            seeded.histogram(APP, field, bins=bins)


@pytest.mark.parametrize(
    "name", ["a\x00b", "\x00", "tab\there", "line\nbreak", "\ud800", "x" * 201, " ", ""]
)
def test_view_names_are_validated_before_the_database(seeded, name):
    with pytest.raises(ViewError):
        seeded.create_view(APP, name)
    with pytest.raises(ViewError):
        seeded.get_view(APP, name)
    with pytest.raises(ViewError):
        seeded.delete_view(APP, name)
    with pytest.raises(ViewError):
        seeded.query(APP, view=name)
    seeded.create_view(APP, "ünïcode view ✓")
    assert [v.name for v in seeded.list_views(APP)] == ["ünïcode view ✓"]
