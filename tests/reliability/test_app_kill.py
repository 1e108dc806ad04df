"""The app process SIGKILLed under load and started again on the same spool:
every prediction a user got an answer for is stored exactly once (the new
process adopts the dead one's spool segment)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from gantry_gradio import Client
from tests.gradio_apps import connect
from tests.servers import free_port

HERE = Path(__file__).parent
APP = "killed-app"


def start_app(store: str, tmp_path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "monitored_app.py"),
            store,
            str(tmp_path / "blobs"),
            str(tmp_path / "spool"),
            str(port),
        ],
        cwd=HERE.parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the app did not start")


def test_sigkilled_app_loses_no_answered_prediction(tmp_path):
    store = f"sqlite:///{tmp_path / 'records.db'}"
    port = free_port()
    app = start_app(store, tmp_path, port)
    answered: list[str] = []
    attempted: list[str] = []
    stop = threading.Event()

    def user(u: int) -> None:
        gradio_client = connect(f"http://127.0.0.1:{port}/")
        n = 0
        while not stop.is_set():
            text = f"user {u} request {n} go home"
            attempted.append(text)
            try:
                gradio_client.predict(text, api_name="/predict")
            except Exception:  # noqa: BLE001 - the server died under this call
                return
            answered.append(text)
            n += 1

    users = [threading.Thread(target=user, args=(u,)) for u in range(5)]
    try:
        for t in users:
            t.start()
        time.sleep(4)
        app.send_signal(signal.SIGKILL)
        app.wait(30)
        stop.set()
        for t in users:
            t.join(60)
        assert answered, "users got answers before the kill"
        app = start_app(store, tmp_path, port)  # same spool: adopts the dead segment
        after = connect(f"http://127.0.0.1:{port}/")
        assert after.predict("after the restart go home", api_name="/predict")
        answered.append("after the restart go home")
        attempted.append("after the restart go home")

        reader = Client(store, tmp_path / "blobs", spool_dir=tmp_path / "reader-spool")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                stored = reader.query(APP, limit=None)
                if set(answered) <= set(stored["inputs.text"]):
                    break
                time.sleep(0.5)
        finally:
            reader.close()
    finally:
        stop.set()
        app.kill()
        app.wait(30)
    assert set(answered) <= set(stored["inputs.text"]), "every answered prediction stored"
    assert stored["join_key"].is_unique and stored["inputs.text"].is_unique, "and only once"
    assert set(stored["inputs.text"]) <= set(attempted)
    print(
        f"\nSIGKILL under load: {len(answered)} answered, {len(stored)} stored "
        f"(of {len(attempted)} attempted)"
    )
