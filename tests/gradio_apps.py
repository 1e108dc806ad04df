"""Launch Gradio apps for the tests (on 127.0.0.1 unless told), and find their endpoints."""

from __future__ import annotations

import json

import httpx
import pandas as pd
from gradio_client import Client as GradioClient

from demo_app.browser import launched  # noqa: F401  (the tests' way to serve an app)


def connect(url: str, **options) -> GradioClient:
    return GradioClient(url, verbose=False, **options)


def flag_index(client: GradioClient, option_number: int) -> int:
    """gr.Interface's Flag buttons are undocumented endpoints named Flag, Flag_1…"""
    name = "Flag" if option_number == 0 else f"Flag_{option_number}"
    for index, dependency in enumerate(client.config["dependencies"]):
        if dependency.get("api_name") == name:
            return index
    raise LookupError(f"no flag endpoint {name}")


def trigger_event(url: str, session_hash: str, fn_index: int, event_data: dict) -> None:
    """Send an event the way the browser does (gradio_client cannot attach
    event data such as a like), in the given session, and wait for it."""
    import httpx

    joined = httpx.post(
        f"{url}gradio_api/queue/join",
        json={
            "data": [],
            "event_data": event_data,
            "fn_index": fn_index,
            "session_hash": session_hash,
            "trigger_id": None,
        },
        timeout=30,
    )
    joined.raise_for_status()
    with httpx.stream(
        "GET", f"{url}gradio_api/queue/data?session_hash={session_hash}", timeout=30
    ) as stream:
        for line in stream.iter_lines():
            if "process_completed" in line:
                assert '"success":true' in line.replace(" ", ""), line
                return
    raise AssertionError("the event never completed")


def event_index(client: GradioClient, event: str) -> int:
    for index, dependency in enumerate(client.config["dependencies"]):
        if any(trigger[1] == event for trigger in dependency.get("targets", [])):
            return index
    raise LookupError(f"no {event} event")


#: A monitoring tab's access token for tests: pass it as
#: `monitoring_tab(..., access_token=TEST_TOKEN)` and to `monitoring_refresh`.
TEST_TOKEN = "test-monitoring-token-0123456789"


def monitoring_refresh(
    client: GradioClient, application: str, *, token: str = "", **controls
) -> tuple:
    """Call a monitoring tab's /monitoring_refresh with its controls' defaults
    (all time, daily buckets, no view, filters, tag, projection; page 0) and
    `token` in its Access token field (empty for tabs that use logins)."""
    values = {
        "preset": "all",
        "bucket": "day",
        "view": "",
        "start": "",
        "end": "",
        "filters": "",
        "tag": None,
        "projection": None,
        "page": 0,
        "split": "",
        "columns": [],
        **controls,
    }
    # The API takes the controls in the order the tab creates them.
    ordered = [
        application, token, values["preset"], values["bucket"], values["view"], values["start"],
        values["end"], values["filters"], values["split"], values["tag"], values["projection"],
        values["page"], values["columns"],
    ]
    return client.predict(*ordered, api_name="/monitoring_refresh")


def chart_spec(output) -> dict:
    """The Vega-Lite spec a chart output holds (gr.Plot's value, plain or in gr.update)."""
    value = shown(output)
    return json.loads(value["plot"])


def plotted(output) -> pd.DataFrame:
    """The rows a chart output draws (its spec's data values)."""
    return pd.DataFrame(chart_spec(output)["data"]["values"])


def shown(output):
    """A component's value in an event's API output, whether the handler
    returned it plain or inside gr.update (to change the chart's props too)."""
    if isinstance(output, dict) and output.get("__type__") == "update":
        return output.get("value")
    return output


def monitoring_save_view(
    client: GradioClient, application: str, name: str, *, token: str = "", **controls
) -> str:
    """Call /monitoring_save_view with the refresh controls' defaults."""
    values = {"preset": "all", "bucket": "day", "view": "", "start": "", "end": "", "filters": ""}
    values.update(controls)
    ordered = [
        application, token, values["preset"], values["bucket"], values["view"], values["start"],
        values["end"], values["filters"], "", name, None, None, 0, [],
    ]
    return client.predict(*ordered, api_name="/monitoring_save_view")


def raw_event(
    url: str,
    fn_index: int,
    data: list,
    *,
    query: str = "",
    http: httpx.Client | None = None,
    event_data: dict | None = None,
    session_hash: str | None = None,
) -> dict:
    """Run any event (hidden ones included) by index over raw HTTP, as a script
    or the browser would, with `query` on the join URL as a page's own query
    string is, and `event_data` as a click sends it (a selected cell, a like);
    return Gradio's process_completed message."""
    import uuid

    http = http or httpx.Client(timeout=30)
    session_hash = session_hash or uuid.uuid4().hex[:10]
    joined = http.post(
        f"{url}gradio_api/queue/join{'?' + query if query else ''}",
        json={
            "data": data,
            "event_data": event_data,
            "fn_index": fn_index,
            "session_hash": session_hash,
            "trigger_id": None,
        },
    )
    joined.raise_for_status()
    with http.stream("GET", f"{url}gradio_api/queue/data?session_hash={session_hash}") as stream:
        for line in stream.iter_lines():
            if "process_completed" in line:
                return json.loads(line.removeprefix("data:"))
    raise AssertionError("the event never completed")


def logged_in(url: str, user: str, password: str) -> httpx.Client:
    """An HTTP client holding a Gradio login cookie."""
    http = httpx.Client(timeout=30)
    http.post(f"{url}login", data={"username": user, "password": password}).raise_for_status()
    return http


def refresh_args(application: str, token: str = "") -> list:
    """A refresh's inputs with their defaults, in the order the tab creates
    them: what the hidden events are sent in tests that call them by index."""
    return [application, token, "all", "auto", "", "", "", "", "", None, None, 0, []]


def monitoring_events(url: str, http: httpx.Client | None = None) -> list[int]:
    """Indexes of every event that runs a monitoring tab's refresh: the public
    click and its hidden twins (page load, controls' inputs, token submit, timer),
    recognised by their thirteen inputs and many outputs (the alert form's
    buttons have twelve inputs and one output)."""
    config = (http or httpx.Client(timeout=30)).get(f"{url}config").json()
    return [
        d["id"]
        for d in config["dependencies"]
        if len(d["inputs"]) == 13 and len(d["outputs"]) > 1
    ]


def dependency(url: str, *, trigger: str | None = None, api_name: str | None = None) -> int:
    """The index of the one event with this trigger (e.g. "select") or API name."""
    config = httpx.get(f"{url}config", timeout=30).json()
    (found,) = [
        d["id"]
        for d in config["dependencies"]
        if (api_name and d.get("api_name") == api_name)
        or (trigger and any(t[1] == trigger for t in d.get("targets", [])))
    ]
    return found


def click_row(url: str, application: str, row: int, token: str, *, refresh_token: str) -> dict:
    """In one session, as the page does: a refresh (with `refresh_token`),
    then a click on `row` of the rows table (with `token`); the click's
    process_completed message. The click names a row only: the record comes
    from the page of rows the server keeps for this session."""
    import uuid

    session = uuid.uuid4().hex[:10]
    controls = refresh_args(application, refresh_token)
    raw_event(url, dependency(url, api_name="monitoring_refresh"), controls, session_hash=session)
    cell = {"index": [row, 1], "value": "anything the browser sends", "selected": True}
    return raw_event(
        url,
        dependency(url, trigger="select"),
        [application, None, token],
        event_data=cell,
        session_hash=session,
    )
