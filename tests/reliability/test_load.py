"""Load: 50 concurrent gradio_client users on a launched monitored app, each
predicting, accepting or rejecting, and sometimes flagging, for a bounded
time; afterwards every prediction, verdict and flag is in the store exactly
once and joined to the right prediction.

GANTRY_LOAD_SECONDS sets the duration (default 15; the long variant runs
minutes). Latency with vs without monitoring is measured in the same run and
printed, not asserted: timing thresholds fail on noisy machines
(bench/gradio_wrapper_latency.py is where the ratio is reported)."""

from __future__ import annotations

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import gradio as gr

from gantry_gradio import feedback_controls, monitor
from tests.gradio_apps import connect, launched

APP = "load-app"
USERS = 50
FLAG_OPTIONS = ["incorrect", "offensive", "other"]


def correct(text: str) -> str:
    return text.replace(" go ", " goes ")


def build(client) -> gr.Blocks:
    with gr.Blocks() as demo:
        text = gr.Textbox(label="text")
        output = gr.Textbox(label="inference")
        gr.Button("Submit").click(
            monitor(APP, correct, output_names=["inference"], client=client),
            text,
            output,
            api_name="predict",
            concurrency_limit=None,
        )
        gr.Button("Plain").click(correct, text, output, api_name="plain", concurrency_limit=None)
        feedback_controls(APP, client=client, flagging_options=FLAG_OPTIONS)
    return demo


def test_fifty_users_lose_nothing_and_every_verdict_joins_its_prediction(client):
    seconds = float(os.environ.get("GANTRY_LOAD_SECONDS", "15"))
    expected: dict[str, dict] = {}
    latencies: dict[str, list[float]] = {"monitored": [], "plain": []}
    lock = threading.Lock()
    demo = build(client)
    demo.queue(default_concurrency_limit=None)
    with launched(demo) as url:
        deadline = time.monotonic() + seconds

        def user(u: int) -> int:
            gradio_client = connect(url)
            n = 0
            while time.monotonic() < deadline:
                text = f"user {u} request {n} go home"
                started = time.perf_counter()
                assert gradio_client.predict(text, api_name="/predict") == correct(text)
                monitored = time.perf_counter() - started
                started = time.perf_counter()
                gradio_client.predict(text, api_name="/plain")
                plain = time.perf_counter() - started
                accepted = (u + n) % 3 != 0
                gradio_client.predict(api_name="/accept" if accepted else "/reject")
                flag = FLAG_OPTIONS[n % 3] if (u + n) % 7 == 0 else None
                if flag:
                    gradio_client.predict(flag, api_name="/flag")
                with lock:
                    expected[text] = {"accepted": accepted, "flag": flag}
                    latencies["monitored"].append(monitored)
                    latencies["plain"].append(plain)
                n += 1
            return n

        with ThreadPoolExecutor(USERS) as pool:
            per_user = list(pool.map(user, range(USERS)))

    assert client.flush(120), client.stats()
    stored = client.query(APP, limit=None)
    assert min(per_user) >= 1, "every user got through"
    assert len(stored) == len(expected) == sum(per_user), "each prediction stored exactly once"
    assert stored["join_key"].is_unique
    rows = stored.set_index("inputs.text")
    assert set(rows.index) == set(expected)
    wrong = [
        text
        for text, want in expected.items()
        if bool(rows.loc[text, "feedback.accepted"]) is not want["accepted"]
        or (rows.loc[text].get("feedback.flag") if want["flag"] else None) != want["flag"]
    ]
    assert not wrong, wrong[:5]
    flagged = sum(1 for want in expected.values() if want["flag"])
    assert stored["feedback.flag"].notna().sum() == flagged
    assert client.stats()["rejected"] == 0 and client.monitoring_errors == 0
    median = {name: statistics.median(values) * 1000 for name, values in latencies.items()}
    print(
        f"\n{len(expected)} predictions from {USERS} users in {seconds:.0f} s; median latency "
        f"monitored {median['monitored']:.1f} ms vs plain {median['plain']:.1f} ms "
        f"(ratio {median['monitored'] / median['plain']:.2f})"
    )
