"""Alerts in a launched monitoring tab: firing alerts in the summary, the
rules table and the values plot with thresholds; the form checks a rule's
value, saves and deletes it, behind the tab's access check like every
other event."""

from __future__ import annotations

import gradio as gr
import httpx
import pandas as pd
import pytest

from gantry_gradio import monitoring_tab
from gantry_gradio.alerts import AlertRule, alert_history, create_alert
from gantry_gradio.alerts.overview import application_rules
from tests.gradio_apps import (
    TEST_TOKEN,
    connect,
    launched,
    monitoring_refresh,
    plotted,
    raw_event,
)

APP = "tab-alerts"
START = pd.Timestamp("2022-04-01", tz="UTC")


def form_events(url: str) -> dict[str, int]:
    """The alert form's four buttons: the only events with twelve inputs and one output,
    defined in the order check, save, pause, delete."""
    config = httpx.Client(timeout=30).get(f"{url}config").json()
    found = [
        d["id"]
        for d in config["dependencies"]
        if len(d["inputs"]) == 12 and len(d["outputs"]) == 1
    ]
    assert len(found) == 4
    return dict(zip(("check", "save", "pause", "delete"), found, strict=True))


def form(app: str, name: str, token: str, **fields) -> list:
    values = {
        "metric": "volume",
        "field": "",
        "side": "below",
        "threshold": "5",
        "window": "1D",
        "every": "1D",
        "minimum": "1",
        "filters": "",
        "view": "",
        **fields,
    }
    view = values.pop("view")
    # Gradio sends a set of inputs in the order the tab creates them.
    return [app, token, view, name, *values.values()]


@pytest.mark.slow
def test_the_tab_shows_alerts_and_its_form_checks_saves_and_deletes_rules(client):
    accepted = [9, 9, 2, 2]  # per day of ten: the last two days breach "below 50"
    client.log_records(
        APP,
        inputs=[{"n": i} for i in range(40)],
        feedbacks=[{"accepted": i % 10 < accepted[i // 10]} for i in range(40)],
        timestamps=[START + pd.Timedelta(days=i // 10, hours=i % 10) for i in range(40)],
    )
    assert client.flush(60)
    rule = AlertRule(
        "dip",
        APP,
        "acceptance_rate",
        field="feedback.accepted",
        below=50,
        window="1D",
        every="1D",
        severity="critical",
    )
    create_alert(client, rule, start_on=START, end_on=START + pd.Timedelta(days=4))
    with gr.Blocks() as demo:
        monitoring_tab(APP, client=client, access_token=TEST_TOKEN)
    with launched(demo) as url:
        out = monitoring_refresh(connect(url), APP, token=TEST_TOKEN)
        summary, rules, values = out[13], out[14], out[15]
        assert (
            "**Firing alerts**" in summary
            and "**dip** (critical) firing since 2022-04-04" in summary
        )
        assert "= 20 (below 50) over 10 records" in summary
        assert [row[0] for row in rules["data"]] == ["dip"]
        assert rules["data"][0][6] == "firing"
        assert set(plotted(values)["series"]) == {"dip", "dip threshold"}
        banner = plotted(out[20])  # firing: its chart above the headline too
        assert set(banner["series"]) == {"dip", "dip threshold"}

        events = form_events(url)
        refused = raw_event(url, events["save"], form(APP, "stolen", ""))
        assert not refused["success"] and "access token" in str(refused)
        other = raw_event(url, events["save"], form("other-app", "stolen", TEST_TOKEN))
        assert not other["success"] and f"shows only '{APP}'" in str(other)
        bad = raw_event(url, events["check"], form(APP, "watch", TEST_TOKEN, threshold="lots"))
        assert not bad["success"] and "must be numbers" in str(bad)
        for fields, message in (
            ({"metric": "mean", "field": "inputs.nope"}, "has no field 'inputs.nope'"),
            ({"filters": "tags.nope == 1"}, "has no field 'tags.nope'"),
            ({"metric": "quantile", "field": "inputs.n"}, "the form makes"),
            ({"every": "1ms"}, "every must be at least 1 minute"),
            ({"window": "1us"}, "window must be at least 1 minute"),
        ):
            refused = raw_event(url, events["save"], form(APP, "never", TEST_TOKEN, **fields))
            assert not refused["success"] and message in str(refused), (fields, refused)
        assert [r.name for r in application_rules(client, APP)] == ["dip"]  # none was saved
        checked = raw_event(url, events["check"], form(APP, "watch", TEST_TOKEN))
        assert "volume over the 1 days window ending at the newest record" in str(checked)
        assert "**10** from 10 records" in str(checked)
        assert [r.name for r in application_rules(client, APP)] == ["dip"]  # checking saves nothing
        saved = raw_event(url, events["save"], form(APP, "watch", TEST_TOKEN))
        assert saved["success"] and "Saved alert **watch**" in str(saved)
        assert [r.name for r in application_rules(client, APP)] == ["dip", "watch"]
        listed = monitoring_refresh(connect(url), APP, token=TEST_TOKEN)[14]
        assert [row[0] for row in listed["data"]] == ["dip", "watch"]
        paused = raw_event(url, events["pause"], form(APP, "watch", TEST_TOKEN))
        assert paused["success"] and "Paused alert **watch**" in str(paused)
        listed = monitoring_refresh(connect(url), APP, token=TEST_TOKEN)[14]
        assert listed["data"][1][6] == "not evaluated yet (paused)"
        resumed = raw_event(url, events["pause"], form(APP, "watch", TEST_TOKEN))
        assert "Resumed alert **watch**" in str(resumed)
        deleted = raw_event(url, events["delete"], form(APP, "watch", TEST_TOKEN))
        assert deleted["success"] and "Deleted alert **watch**" in str(deleted)
        missing = raw_event(url, events["delete"], form(APP, "watch", TEST_TOKEN))
        assert not missing["success"] and "No alert named watch" in str(missing)
    assert [r.name for r in application_rules(client, APP)] == ["dip"]
    assert len(alert_history(client, "dip")) == 4
    assert client.list_views(APP) == []
