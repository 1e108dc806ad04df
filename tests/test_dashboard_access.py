"""Who the launched monitoring tab serves (issue 14, findings 2, 3, 4, 7a): a
credential by default even from 127.0.0.1, the loopback opt-out, a tab pinned
to its application, and no monitoring endpoint in Gradio's run history."""

from __future__ import annotations

import contextlib
import socket
import threading

import gradio as gr
import httpx
import pandas as pd
import pytest
from gradio_client.exceptions import AppError

from gantry_gradio import Client
from gantry_gradio.dashboard.access import TOKEN_ENV, MonitoringAccess
from gantry_gradio.dashboard.tab import monitoring_tab
from tests.gradio_apps import (
    TEST_TOKEN,
    click_row,
    connect,
    launched,
    logged_in,
    monitoring_events,
    monitoring_refresh,
    monitoring_save_view,
    raw_event,
    refresh_args,
)

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane

START = pd.Timestamp("2022-04-04", tz="UTC")
SECRET_B = "app-b private input"


@pytest.fixture
def two_apps(client):
    """app-a and app-b in one store; app-b's input is what must never leak."""
    for app, text in (("app-a", "app-a input"), ("app-b", SECRET_B)):
        client.log_records(
            app,
            inputs=[{"text": f"{text} {i}"} for i in range(3)],
            feedbacks=[{"accepted": i > 0} for i in range(3)],
            timestamps=[START + pd.Timedelta(hours=i) for i in range(3)],
        )
    assert client.flush(30)
    client.create_view("app-b", "b-view", START, START + pd.Timedelta(days=1))
    return client


@pytest.fixture
def local_client(tmp_path):
    c = Client(f"sqlite:///{tmp_path / 'r.db'}", blobs=tmp_path / "b", spool_dir=tmp_path / "s")
    c.log_record("app-a", inputs={"text": "hello"}, feedback={"accepted": True})
    assert c.flush(30)
    yield c
    c.close()


def _tab(client, application="app-a", **options) -> gr.Blocks:
    with gr.Blocks() as demo:
        tab = monitoring_tab(application, client=client, auto_refresh_seconds=3600, **options)
        tab.load_with(demo)
    return demo


# -- finding 2: a tab built for one application serves that one only -------------


def test_a_tab_built_for_one_application_serves_no_other(two_apps):
    demo = _tab(two_apps, allowed_users=["alice"])
    with launched(demo, auth=[("alice", "pw-a")]) as url:
        alice = connect(url, auth=("alice", "pw-a"))
        own = monitoring_refresh(alice, "app-a")
        assert [c[0] for c in own[0]["choices"]] == ["app-a"], "no other name is listed"
        assert "app-b" not in str(own) and SECRET_B not in str(own)
        for other in ("app-b", "no-such-app"):
            with pytest.raises(AppError, match="shows only 'app-a'"):
                monitoring_refresh(alice, other)
            with pytest.raises(AppError, match="shows only 'app-a'"):
                monitoring_save_view(alice, other, "stolen")
        with pytest.raises(AppError, match="shows only 'app-a'"):
            monitoring_refresh(alice, "app-b", view="b-view")
        # The hidden twins (page load, controls, token submit, timer) by index.
        http = logged_in(url, "alice", "pw-a")
        for index in monitoring_events(url, http):
            args = refresh_args("app-b")
            done = raw_event(url, index, args, http=http)
            assert SECRET_B not in str(done) and "b-view" not in str(done)
            assert "shows only 'app-a'" in str(done)
    assert [v.name for v in two_apps.list_views("app-b")] == ["b-view"]


def test_the_dashboard_for_every_application_lists_them(two_apps):
    demo = _tab(two_apps, application=None, access_token=TEST_TOKEN)
    with launched(demo) as url:
        out = monitoring_refresh(connect(url), "app-b", token=TEST_TOKEN)
    assert sorted(c[0] for c in out[0]["choices"]) == ["app-a", "app-b"]
    assert SECRET_B in str(out[12])


def test_a_pinned_tab_without_records_yet_names_no_other_application(two_apps):
    demo = _tab(two_apps, application="app-new", access_token=TEST_TOKEN)
    with launched(demo) as url:
        app = connect(url)
        out = monitoring_refresh(app, "", token=TEST_TOKEN)
        assert "No data yet for 'app-new'" in out[2]
        with pytest.raises(AppError) as refused:
            monitoring_save_view(app, "app-new", "v", token=TEST_TOKEN)
    assert "app-a" not in str(out) and "app-b" not in str(refused.value)


# -- finding 3: a credential by default, even from 127.0.0.1 ----------------------


@contextlib.contextmanager
def tcp_forwarder(target_port: int):
    """A plain TCP forwarder on 127.0.0.1 (socat, ssh -L, a container port
    map): what arrives looks exactly like a local browser, no header added."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                incoming, _ = listener.accept()
                outgoing = socket.create_connection(("127.0.0.1", target_port))
                for a, b in ((incoming, outgoing), (outgoing, incoming)):
                    threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        listener.close()


def test_without_its_token_the_tab_refuses_even_loopback(local_client):
    with launched(_tab(local_client, access_token=TEST_TOKEN)) as url:
        app = connect(url)
        with pytest.raises(AppError, match="needs its access token"):
            monitoring_refresh(app, "app-a")
        with pytest.raises(AppError, match="Wrong monitoring access token"):
            monitoring_refresh(app, "app-a", token=TEST_TOKEN[:-1] + "x")
        with pytest.raises(AppError, match="needs its access token"):
            monitoring_save_view(app, "app-a", "v")
        assert "**Predictions:** 1" in monitoring_refresh(app, "app-a", token=TEST_TOKEN)[3]
        # The hidden events too, and the token in the page's query string works.
        for index in monitoring_events(url):
            args = refresh_args("app-a")
            refused = raw_event(url, index, args)
            assert "hello" not in str(refused) and "access token" in str(refused)
            served = raw_event(url, index, args, query=f"monitoring_token={TEST_TOKEN}")
            assert served["success"] and "hello" in str(served["output"]["data"])
    assert local_client.list_views("app-a") == []


def test_a_forwarded_request_that_looks_local_needs_the_token_too(local_client):
    """Host 127.0.0.1, loopback peer, no X-Forwarded-For: the token decides."""
    with launched(_tab(local_client, access_token=TEST_TOKEN)) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        with tcp_forwarder(port) as forwarded:
            app = connect(forwarded)
            with pytest.raises(AppError, match="needs its access token"):
                monitoring_refresh(app, "app-a")
            assert "**Predictions:** 1" in monitoring_refresh(app, "app-a", token=TEST_TOKEN)[3]
        nginx_like = connect(url, headers={"Host": "127.0.0.1:80"})
        with pytest.raises(AppError, match="needs its access token"):
            monitoring_refresh(nginx_like, "app-a")


def test_the_token_comes_from_the_environment_or_is_generated_and_printed(
    local_client, monkeypatch, capfd
):
    monkeypatch.setenv(TOKEN_ENV, "from-the-environment-123")
    with launched(_tab(local_client)) as url:
        app = connect(url)
        assert (
            "Predictions" in monitoring_refresh(app, "app-a", token="from-the-environment-123")[3]
        )
        with pytest.raises(AppError, match="Wrong"):
            monitoring_refresh(app, "app-a", token=TEST_TOKEN)
    monkeypatch.delenv(TOKEN_ENV)
    capfd.readouterr()
    generated = MonitoringAccess.configure()
    generated.announce("app-a")
    printed = capfd.readouterr().err
    assert generated.token and f"/#monitoring_token={generated.token}" in printed
    assert generated.token != MonitoringAccess.configure().token


def test_the_loopback_opt_out_serves_this_machine_only(local_client):
    demo = _tab(local_client, access="loopback")
    with launched(demo, server_name="0.0.0.0") as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert "**Predictions:** 1" in monitoring_refresh(connect(url), "app-a")[3]
        proxied = connect(url, headers={"X-Forwarded-For": "203.0.113.9"})
        with pytest.raises(AppError, match="only on localhost"):
            monitoring_refresh(proxied, "app-a")
        outward = _outward_address()
        if outward is None:
            pytest.skip("no non-loopback address on this machine")
        remote = connect(f"http://{outward}:{port}/")
        with pytest.raises(AppError, match="only on localhost"):
            monitoring_refresh(remote, "app-a")


def _outward_address() -> str | None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 9))  # a UDP connect sends nothing
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


# -- finding 7a: access keywords are validated ------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"allowed_users": "alice"}, TypeError, "not a string"),
        ({"allowed_users": []}, ValueError, "nobody"),
        ({"allowed_users": ("",)}, TypeError, "non-empty login"),
        ({"allowed_users": [None]}, TypeError, "non-empty login"),
        ({"allowed_users": 3}, TypeError, "list of Gradio logins"),
        ({"allowed_users": ["a"], "access": "loopback"}, ValueError, "alternatives|already"),
        ({"allowed_users": ["a"], "access_token": TEST_TOKEN}, ValueError, "already"),
        ({"access": "loopback", "access_token": TEST_TOKEN}, ValueError, "without a token"),
        ({"access": "open"}, ValueError, "access must be one of"),
        ({"access_token": "short"}, ValueError, "at least 16"),
    ],
)
def test_access_keywords_are_validated(local_client, options, error, message):
    with gr.Blocks(), pytest.raises(error, match=message):
        monitoring_tab("app-a", client=local_client, **options)


# -- finding 4: no monitoring rows in Gradio's run history ------------------------


def test_no_monitoring_event_is_a_public_endpoint(local_client):
    """Gradio records a run (in the browser's localStorage, or a Hub bucket)
    only for events whose api_visibility is "public" (gradio/route_utils.py
    record_run_history; the client's run_history.ts)."""
    with gr.Blocks() as demo:
        gr.Button("model").click(lambda: "out", None, gr.Textbox(), api_name="predict")
        tab = monitoring_tab("app-a", client=local_client, access_token=TEST_TOKEN)
        tab.load_with(demo)
    with launched(demo) as url:
        config = httpx.get(f"{url}config", timeout=30).json()
    visibility = {d["id"]: d["api_visibility"] for d in config["dependencies"]}
    assert visibility.pop(0) == "public", "the app's own endpoint, as a control"
    assert visibility and set(visibility.values()) <= {"private", "undocumented"}


def test_a_row_click_needs_the_token_too(local_client):
    """The record detail is as closed as the refresh; the click names a row of
    the session's own page, never a record or a file."""
    with launched(_tab(local_client, access_token=TEST_TOKEN)) as url:
        def click(token: str) -> dict:
            return click_row(url, "app-a", 0, token, refresh_token=TEST_TOKEN)

        refused = click("")
        assert not refused["success"] and "access token" in str(refused)
        wrong = click(TEST_TOKEN[:-1] + "x")
        assert not wrong["success"]
        served = click(TEST_TOKEN)
        assert served["success"] and "<h4>Record" in served["output"]["data"][0]
