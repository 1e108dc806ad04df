"""Launch Gradio apps on 127.0.0.1 for the tests, and find their endpoints."""

from __future__ import annotations

import contextlib

import gradio as gr
from gradio_client import Client as GradioClient

from tests.servers import free_port


@contextlib.contextmanager
def launched(demo: gr.Blocks, **launch_options):
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_options,
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


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
        **controls,
    }
    return client.predict(application, *values.values(), token, api_name="/monitoring_refresh")


def monitoring_save_view(
    client: GradioClient, application: str, name: str, *, token: str = "", **controls
) -> str:
    """Call /monitoring_save_view with the refresh controls' defaults."""
    values = {"preset": "all", "bucket": "day", "view": "", "start": "", "end": "", "filters": ""}
    values.update(controls)
    return client.predict(
        application, *values.values(), name, token, api_name="/monitoring_save_view"
    )
