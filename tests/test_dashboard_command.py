"""`python -m gantry_gradio dashboard` as a user runs it: a separate process
serving every application in a store, behind logins."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest
from gradio_client.exceptions import AppError, AuthenticationError

from gantry_gradio import Client
from tests.gradio_apps import connect, monitoring_refresh, monitoring_save_view
from tests.servers import free_port

pytestmark = pytest.mark.slow  # docs/testing.md: not in the fast lane


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


@contextmanager
def serving(command: list[str], **popen):
    """Run the dashboard; yield its base URL and the line it printed at start."""
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen
    )
    printed = []
    try:
        deadline = time.monotonic() + 120
        for line in server.stdout:
            printed.append(line)
            if line.startswith("Monitoring dashboard:"):
                url = re.search(r"http://[^/]+/", line).group(0)
                yield url, line.strip()
                break
            assert time.monotonic() < deadline, "the dashboard never started"
        else:
            raise AssertionError(f"the dashboard exited ({server.wait()}): {''.join(printed)}")
    finally:
        server.terminate()
        server.wait(30)


def test_serves_all_applications_behind_a_login(store):
    port = free_port()
    with serving(_command(store, "--port", str(port), "--user", "admin:s3cret")) as (url, _):
        with pytest.raises(AuthenticationError):
            connect(url)
        assert httpx.get(f"{url}gradio_api/info", timeout=10).status_code == 401
        admin = connect(url, auth=("admin", "s3cret"))
        first = monitoring_refresh(admin, "")
        assert sorted(c[0] for c in first[0]["choices"]) == ["first-app", "second-app"]
        assert "**Predictions:** 3" in first[3] and "66.7%" in first[3]
        second = monitoring_refresh(admin, "second-app")
        assert "**Predictions:** 1" in second[3] and "0.0%" in second[3]


def test_without_logins_it_prints_a_token_link_and_needs_it(store):
    env = {k: v for k, v in os.environ.items() if k != "GANTRY_MONITORING_TOKEN"}
    with serving(_command(store, "--port", str(free_port())), env=env) as (url, line):
        token = re.search(r"/#monitoring_token=([\w-]+)", line).group(1)
        app = connect(url)
        with pytest.raises(AppError, match="needs its access token"):
            monitoring_refresh(app, "first-app")
        assert "**Predictions:** 3" in monitoring_refresh(app, "first-app", token=token)[3]
    with serving(_command(store, "--port", str(free_port()), "--access", "loopback")) as (
        url,
        line,
    ):
        assert "monitoring_token" not in line
        assert "**Predictions:** 3" in monitoring_refresh(connect(url), "first-app")[3]
    refused = subprocess.run(
        _command(store, "--access", "loopback", "--user", "a:b"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "alternatives" in refused.stderr


# -- a read-only store (finding 15) -------------------------------------------------

CAPSH = shutil.which("capsh")
#: Root ignores file modes; without these capabilities it obeys them, as any
#: other user does, so chmod 444 and a read-only folder really refuse writes.
_AS_AN_ORDINARY_USER = "--drop=cap_dac_override,cap_dac_read_search,cap_fowner"


def _read_only_command(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if CAPSH is None:
        pytest.skip("apt-get install libcap2-bin (capsh) to drop root's file-mode override")
    return [CAPSH, _AS_AN_ORDINARY_USER, "--", "-c", 'exec "$@"', "sh", *command]


@pytest.mark.parametrize("how", ["file", "folder", "uri"])
def test_reads_a_read_only_store(store, tmp_path, how):
    """chmod 444 on the file; the folder read-only too (no -wal/-shm can be
    made); or the user asks for it with SQLite's URI mode=ro."""
    path = Path(store.removeprefix("sqlite:///"))
    url = store
    if how == "uri":
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        path.chmod(0o444)
        if how == "folder":
            path.parent.chmod(0o555)
    work = tmp_path / "work"
    work.mkdir()
    command = _command(url, "--port", str(free_port()), "--token", "read-only-token-0123")
    try:
        with serving(_read_only_command(command), cwd=work) as (address, _):
            app = connect(address)
            out = monitoring_refresh(app, "first-app", token="read-only-token-0123")
            assert "**Predictions:** 3" in out[3] and "66.7%" in out[3]
            with pytest.raises(AppError, match="read-only"):
                monitoring_save_view(app, "first-app", "v", token="read-only-token-0123")
    finally:
        path.parent.chmod(0o755)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    after = Client(store, blobs=tmp_path / "blobs", spool_dir=tmp_path / "spool2")
    try:
        assert after.list_views("first-app") == []
    finally:
        after.close()
