"""Webhooks typed by a hostile user: no internal destination (loopback,
private, link-local metadata) unless the operator allows it, no redirect
followed, a total deadline per post however slowly the receiver answers, and
no URL, secret or response body in the database or the log."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
import time

import pandas as pd
import pytest

from gantry_gradio.alerts import AlertRule, create_alert, deliver_pending, notifications
from gantry_gradio.alerts.destinations import DestinationError, post
from tests.servers import free_port

APP = "hooked"
SECRET_PATH = "T0SECRET/B0SECRET/xoxb-not-to-be-stored"


class Answering:
    """An HTTP server on 127.0.0.1 answering every POST with `status`,
    `headers` and `body`; counts the posts it got."""

    def __init__(self, status: int = 200, headers: dict | None = None, body: bytes = b""):
        self.posts = 0
        answering = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answering.posts += 1
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def answering():
    servers: list[Answering] = []

    def make(*args, **kwargs) -> Answering:
        servers.append(Answering(*args, **kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


def _fire(client, notify) -> dict:
    """A rule that fires on a live window, its notification posted once."""
    start = pd.Timestamp.now(tz="UTC").floor("min") - pd.Timedelta(minutes=10)
    client.log_record(APP, inputs={"x": 1}, feedback={"accepted": False}, timestamp=start)
    assert client.flush(30)
    rule = AlertRule(
        "dip",
        APP,
        "acceptance_rate",
        field="feedback.accepted",
        below=50,
        window="1min",
        every="1min",
        notify=notify,
    )
    create_alert(client, rule, start_on=start)
    deliver_pending(client)
    [queued] = notifications(client, "dip")
    return queued


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "169.254.169.254",
        "10.0.0.7",
        "192.168.1.1",
        "0.0.0.0",
        "localhost",
        "[::ffff:127.0.0.1]",
    ],
)
def test_internal_destinations_are_refused_by_default(host, monkeypatch):
    monkeypatch.delenv("GANTRY_WEBHOOK_ALLOW", raising=False)
    with pytest.raises(DestinationError, match="non-public address") as refused:
        post(f"http://{host}:{free_port()}/{SECRET_PATH}", b"{}", {})
    assert SECRET_PATH not in str(refused.value)


def test_the_allow_list_opens_named_hosts_and_networks_only(answering, monkeypatch):
    server = answering()
    monkeypatch.setenv("GANTRY_WEBHOOK_ALLOW", "hooks.internal, 127.0.0.0/8")
    assert post(server.url + "/hook", b"{}", {}) == 200 and server.posts == 1
    monkeypatch.setenv("GANTRY_WEBHOOK_ALLOW", "10.0.0.0/8")
    with pytest.raises(DestinationError, match="non-public"):
        post(server.url + "/hook", b"{}", {})
    assert server.posts == 1


def test_a_redirect_is_not_followed(answering, monkeypatch):
    monkeypatch.setenv("GANTRY_WEBHOOK_ALLOW", "127.0.0.1")
    internal = answering()
    bouncer = answering(307, {"Location": internal.url + "/admin"})
    with pytest.raises(DestinationError, match="HTTP 307 .*not followed"):
        post(bouncer.url + "/hook", b"{}", {})
    assert bouncer.posts == 1 and internal.posts == 0


def test_a_dripping_receiver_is_cut_at_the_deadline(monkeypatch):
    """One byte of the status line every second would take a minute."""
    monkeypatch.setenv("GANTRY_WEBHOOK_ALLOW", "127.0.0.1")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            for byte in b"HTTP/1.1 200 OK\r\n" + b"X" * 60:
                if stop.wait(1):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(DestinationError, match="deadline passed"):
            post(f"http://127.0.0.1:{port}/hook", b"{}", {}, deadline=2)
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 30  # cut, not waited out (a minute)


def test_no_url_secret_or_body_is_stored_or_logged(client, answering, monkeypatch, caplog):
    monkeypatch.setenv("GANTRY_WEBHOOK_ALLOW", "127.0.0.1")
    failing = answering(500, body=b"stack trace with DB_PASSWORD=hunter2")
    monkeypatch.setenv("HOOK_URL", failing.url + "/" + SECRET_PATH)
    with caplog.at_level(logging.WARNING, logger="gantry_gradio.alerts"):
        queued = _fire(client, [{"url_env": "HOOK_URL"}])
    assert failing.posts == 1
    assert queued["last_error"] == "HTTP 500 from http://127.0.0.1"
    for text in (queued["last_error"], caplog.text, str(queued["webhook"])):
        assert SECRET_PATH not in text and "hunter2" not in text


def test_an_environment_value_that_is_not_a_url_is_not_echoed(client, monkeypatch, caplog):
    monkeypatch.setenv("HOOK_URL", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    with caplog.at_level(logging.WARNING, logger="gantry_gradio.alerts"):
        queued = _fire(client, [{"url_env": "HOOK_URL"}])
    assert queued["last_error"] == "environment variable HOOK_URL is not an http(s) URL with a host"
    assert "wJalr" not in caplog.text
