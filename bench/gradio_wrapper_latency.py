"""Latency of a trivial Gradio function through gradio_client, with vs without
the monitor wrapper (and the flagging callback on the app), same run.

One app serves both endpoints; calls alternate so machine noise and Gradio's
queue jitter hit both alike. The wrapper's cost is the spool append on the event thread; delivery
to SQLite runs on the background worker during the measurement.

    python bench/gradio_wrapper_latency.py [--calls 600]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gradio as gr
from gradio_client import Client as GradioClient

sys.path.insert(0, str(Path(__file__).parent))
from _timing import describe  # noqa: E402

from gantry_gradio import Client, GantryFlaggingCallback, monitor  # noqa: E402


def echo(text: str) -> str:
    return text.upper()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--port", type=int, default=7931)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gantry-bench-"))
    client = Client(f"sqlite:///{work / 'r.db'}", blobs=work / "blobs", spool_dir=work / "spool")
    callback = GantryFlaggingCallback("bench-gradio", client=client)
    with gr.Blocks() as demo:
        text, out = gr.Textbox(label="text"), gr.Textbox(label="output")
        gr.Button("plain").click(echo, text, out, api_name="plain")
        gr.Button("monitored").click(
            monitor("bench-gradio", echo, client=client), text, out, api_name="monitored"
        )
        callback.setup([text, out], None, output_components=[out])
    demo.launch(
        server_name="127.0.0.1", server_port=args.port, prevent_thread_lock=True, quiet=True
    )
    try:
        gradio_client = GradioClient(f"http://127.0.0.1:{args.port}/", verbose=False)
        for endpoint in ("/plain", "/monitored"):  # warm up both paths
            for _ in range(20):
                gradio_client.predict("warm", api_name=endpoint)
        timings: dict[str, list[float]] = {"/plain": [], "/monitored": []}
        for i in range(args.calls):
            # Alternate call by call: Gradio's queue adds tens of ms of jitter
            # (its polling), which must hit both endpoints alike.
            order = ("/plain", "/monitored") if i % 2 == 0 else ("/monitored", "/plain")
            for endpoint in order:
                t0 = time.perf_counter()
                gradio_client.predict(f"sentence {i}", api_name=endpoint)
                timings[endpoint].append(time.perf_counter() - t0)
        direct = _direct_cost(monitor("bench-direct", echo, client=client))
        client.flush(60)
        stored = len(client.query("bench-gradio"))
    finally:
        demo.close()
        client.close()

    plain = statistics.median(timings["/plain"])
    wrapped_us, plain_us = direct
    monitored = statistics.median(timings["/monitored"])
    print(f"{args.calls} calls per endpoint through gradio_client, alternating")
    print(describe("without monitoring", timings["/plain"]))
    print(describe("with monitor wrapper", timings["/monitored"]))
    print(
        f"median added: {(monitored - plain) * 1000:+.3f} ms  "
        f"ratio {monitored / plain:.3f}  (goal: <= +2% or <= +0.2 ms, whichever is larger)"
    )
    print(
        f"mean: {statistics.mean(timings['/plain']) * 1000:.2f} ms without, "
        f"{statistics.mean(timings['/monitored']) * 1000:.2f} ms with"
    )
    print(
        f"the wrapper itself, called in process: {wrapped_us:.1f} us vs {plain_us:.2f} us "
        f"unwrapped (+{wrapped_us - plain_us:.1f} us a call)"
    )
    print(f"records stored: {stored} (20 warm-up + {args.calls} measured)")


def _direct_cost(wrapped, calls: int = 5000) -> tuple[float, float]:
    """Median microseconds of one call, wrapped vs bare, outside Gradio."""
    results = {}
    for name, fn in (("wrapped", wrapped), ("plain", echo)):
        times = []
        for i in range(calls):
            t0 = time.perf_counter()
            fn(f"sentence {i}")
            times.append(time.perf_counter() - t0)
        results[name] = statistics.median(times) * 1e6
    return results["wrapped"], results["plain"]


if __name__ == "__main__":
    main()
