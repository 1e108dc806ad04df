"""Alert notifications through a real HTTP receiver on 127.0.0.1: one
message on firing and one on resolution, signed, in JSON or Slack's shape;
kept and retried while the receiver is down; delivered once by another
process when the evaluating one is SIGKILLed before delivery."""

from __future__ import annotations

import http.server
import json
import signal
import subprocess
import sys
import threading

import pandas as pd
import pytest

from gantry_gradio import AutomationScheduler, Client
from gantry_gradio.alerts import (
    AlertRule,
    create_alert,
    deliver_pending,
    notifications,
    outbox,
    signature,
)
from tests.servers import free_port

APP = "paged-app"
SECRET = "s3cr3t-for-tests"


class Receiver:
    """Records every POST; answers `status` (set it to 503 to be "down")."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status == 200:
                    receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch):
    # Webhooks reach public addresses only, unless the operator allows more.
    monkeypatch.setenv("GANTRY_WEBHOOK_ALLOW", "127.0.0.1")
    server = Receiver()
    yield server
    server.stop()


def live_start() -> pd.Timestamp:
    """Ten minutes ago, on a minute boundary: windows that count as live."""
    return pd.Timestamp.now(tz="UTC").floor("min") - pd.Timedelta(minutes=10)


def log_minutes(c: Client, start: pd.Timestamp, accepted: list[bool]) -> None:
    """Three records a minute, accepted or not per minute."""
    c.log_records(
        APP,
        inputs=[{"minute": m} for m in range(len(accepted)) for _ in range(3)],
        feedbacks=[{"accepted": ok} for ok in accepted for _ in range(3)],
        timestamps=[
            start + pd.Timedelta(minutes=m, seconds=10 * k)
            for m in range(len(accepted))
            for k in range(3)
        ],
    )
    assert c.flush(60)


def minute_rule(notify: list, **options) -> AlertRule:
    settings = {"field": "feedback.accepted", "below": 50, "window": "1min", "every": "1min"}
    return AlertRule("dip", APP, "acceptance_rate", notify=notify, **{**settings, **options})


def test_firing_and_resolution_each_post_once_signed_to_every_webhook(
    client, receiver, monkeypatch
):
    monkeypatch.setenv("TEST_ALERT_SECRET", SECRET)
    monkeypatch.setenv("TEST_SLACK_URL", receiver.url("/slack"))
    start = live_start()
    # ok for 3 minutes, bad for 4, ok again for 3: fires once, resolves once
    log_minutes(client, start, [True] * 3 + [False] * 4 + [True] * 3)
    notify = [
        {"url": receiver.url("/json"), "secret_env": "TEST_ALERT_SECRET"},
        {"url_env": "TEST_SLACK_URL", "format": "slack"},
    ]
    rule = minute_rule(notify, link="http://127.0.0.1:7860/?view=new-accounts")
    create_alert(client, rule, start_on=start)
    assert not receiver.requests  # evaluating never posts: the scheduler's pass does
    AutomationScheduler(client).run_once()
    AutomationScheduler(client).run_once()  # a second pass sends nothing again
    signed = [(h, b) for h, b in receiver.requests if "X-Gantry-Signature" in h]
    slack = [json.loads(b) for h, b in receiver.requests if "X-Gantry-Signature" not in h]
    assert len(signed) == 2 and len(slack) == 2
    payloads = [json.loads(b) for _, b in signed]
    assert [p["transition"] for p in payloads] == ["fired", "resolved"]
    assert payloads[0]["value"] == 0.0 and payloads[0]["condition"] == "below 50"
    assert payloads[0]["window_end"] == (start + pd.Timedelta(minutes=4)).isoformat()
    for headers, body in signed:
        expected = signature(SECRET, int(headers["X-Gantry-Timestamp"]), body)
        assert headers["X-Gantry-Signature"] == f"v1={expected}"
    assert "FIRING" in slack[0]["text"] and "resolved" in slack[1]["text"]
    assert "<http://127.0.0.1:7860/?view=new-accounts|open the monitoring tab>" in slack[0]["text"]
    assert {n["status"] for n in notifications(client, "dip")} == {"sent"}


def test_history_is_evaluated_but_not_notified(client, receiver):
    start = pd.Timestamp("2022-04-01", tz="UTC")
    log_minutes(client, start, [True, False, True])
    create_alert(client, minute_rule([receiver.url()]), start_on=start, end_on="2022-04-01T00:03")
    assert deliver_pending(client).sent == 0
    assert notifications(client) == [] and not receiver.requests


def test_a_receiver_that_is_down_gets_the_notification_when_it_is_back(
    client, receiver, monkeypatch
):
    monkeypatch.setattr(outbox, "FIRST_RETRY_US", 0)  # retry at once, for the test
    start = live_start()
    log_minutes(client, start, [True, False])
    receiver.status = 503
    create_alert(client, minute_rule([receiver.url()]), start_on=start)
    for attempt in (1, 2):
        report = deliver_pending(client)
        assert (report.sent, report.retrying) == (0, 1)
        [queued] = notifications(client)
        assert queued["attempts"] == attempt and "HTTP 503" in queued["last_error"]
    receiver.status = 200
    assert deliver_pending(client).sent == 1
    assert deliver_pending(client).sent == 0
    assert len(receiver.requests) == 1
    [sent] = notifications(client)
    assert sent["status"] == "sent" and sent["attempts"] == 3


def test_nothing_listening_is_a_retry_not_a_crash(client, monkeypatch):
    monkeypatch.setenv("GANTRY_WEBHOOK_ALLOW", "127.0.0.1")
    start = live_start()
    log_minutes(client, start, [True, False])
    create_alert(client, minute_rule([f"http://127.0.0.1:{free_port()}/gone"]), start_on=start)
    scheduler = AutomationScheduler(client)
    scheduler.run_once()
    assert scheduler.failures == 0
    [queued] = notifications(client)
    assert queued["status"] == "pending"
    assert queued["last_error"] == "ConnectionError posting to http://127.0.0.1"


CHILD = """
import os, signal, sys
import pandas as pd
from gantry_gradio import Client
from gantry_gradio.alerts import AlertRule, create_alert
c = Client(sys.argv[1], sys.argv[2], spool_dir=sys.argv[3])
rule = AlertRule("dip", "paged-app", "acceptance_rate", field="feedback.accepted", below=50,
                 window="1min", every="1min", notify=[sys.argv[4]])
create_alert(c, rule, start_on=pd.Timestamp(sys.argv[5]))
print("evaluated", flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # before any scheduler pass could deliver
"""


def test_a_process_killed_after_evaluating_still_gets_one_notification_out(
    store_url, tmp_path, receiver
):
    client = Client(store_url, tmp_path / "blobs", spool_dir=tmp_path / "spool")
    try:
        start = live_start()
        log_minutes(client, start, [True, False, False])
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                CHILD,
                store_url,
                str(tmp_path / "blobs"),
                str(tmp_path / "child-spool"),
                receiver.url(),
                start.isoformat(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert child.returncode == -signal.SIGKILL and "evaluated" in child.stdout, child.stderr
        assert not receiver.requests
        # Another process (here: this one) runs the schedulers' pass.
        AutomationScheduler(client).run_once()
        AutomationScheduler(client).run_once()
        assert [json.loads(b)["transition"] for _, b in receiver.requests] == ["fired"]
    finally:
        client.close()


def test_schedulers_racing_for_the_outbox_post_each_notification_once(
    store_url, tmp_path, receiver
):
    """Four clients (as four processes would) deliver at the same moment:
    the compare-and-set claim hands each notification to one of them."""
    clients = [
        Client(store_url, tmp_path / "blobs", spool_dir=tmp_path / f"spool{i}") for i in range(4)
    ]
    try:
        start = live_start()
        log_minutes(clients[0], start, [True, False, True, False, True, False])
        create_alert(clients[0], minute_rule([receiver.url(), receiver.url("/b")]), start_on=start)
        queued = len(notifications(clients[0]))
        assert queued >= 4  # three firings and resolutions to two hooks each, at least
        barrier = threading.Barrier(len(clients))
        reports = []

        def deliver(c: Client) -> None:
            barrier.wait()
            reports.append(deliver_pending(c))

        threads = [threading.Thread(target=deliver, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sum(r.sent for r in reports) == queued
        ids = [h["X-Gantry-Notification-Id"] for h, _ in receiver.requests]
        assert len(ids) == len(set(ids)) == queued
    finally:
        for c in clients:
            c.close()
