"""`python -m gantry_gradio dashboard` as a user runs it: a separate process
serving every application in a store, behind logins."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pandas as pd
import pytest
from gradio_client.exceptions import AuthenticationError

from gantry_gradio import Client
from tests.gradio_apps import connect, monitoring_refresh
from tests.servers import free_port


def _command(store: str, *options: str) -> list[str]:
    return [sys.executable, "-m", "gantry_gradio", "dashboard", "--store", store, *options]


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'records.db'}"
    client = Client(url, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool")
    for app, accepted in (("first-app", [True, True, False]), ("second-app", [False])):
        client.log_records(
            app,
            inputs=[{"text": f"in {i}"} for i in range(len(accepted))],
            outputs=[{"text": f"out {i}"} for i in range(len(accepted))],
            feedbacks=[{"accepted": a} for a in accepted],
            timestamps=[pd.Timestamp("2022-04-20", tz="UTC")] * len(accepted),
        )
    assert client.flush(30)
    client.close()
    return url


def test_refuses_to_serve_beyond_localhost_without_logins(store):
    done = subprocess.run(
        _command(store, "--host", "0.0.0.0"), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "refusing to serve" in done.stderr and "--user" in done.stderr


def test_serves_all_applications_behind_a_login(store):
    port = free_port()
    server = subprocess.Popen(
        _command(store, "--port", str(port), "--user", "admin:s3cret"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the dashboard never answered"
                time.sleep(0.5)
        with pytest.raises(AuthenticationError):
            connect(url)
        assert httpx.get(f"{url}gradio_api/info", timeout=10).status_code == 401
        admin = connect(url, auth=("admin", "s3cret"))
        first = monitoring_refresh(admin, "")
        assert sorted(c[0] for c in first[0]["choices"]) == ["first-app", "second-app"]
        assert "**Predictions:** 3" in first[3] and "66.7%" in first[3]
        second = monitoring_refresh(admin, "second-app")
        assert "**Predictions:** 1" in second[3] and "0.0%" in second[3]
    finally:
        server.terminate()
        server.wait(30)
