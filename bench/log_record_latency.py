"""Caller-side cost of gantry_gradio.log_record vs Gradio's CSVLogger.flag.

Both log the same text record (input text, output text, flag option, username)
in the same run, interleaved in blocks so machine noise hits both alike; each
block gets a fresh CSV file, since CSVLogger re-reads its file per flag and
slows as it grows (at 3,000 rows it took ~3.5 ms a flag here). What
is timed is the caller's wait: for log_record that is validation, JSON and one
append to the spool; delivery to SQLite happens on the worker thread meanwhile.

    python bench/log_record_latency.py [--calls 4000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gradio as gr
from gradio.flagging import CSVLogger

sys.path.insert(0, str(Path(__file__).parent))
from _timing import describe  # noqa: E402

from gantry_gradio import Client  # noqa: E402

TEXT = "I has went to the store yesterday and buyed three apple."
FIXED = "I went to the store yesterday and bought three apples."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--block", type=int, default=100)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gantry-bench-"))
    client = Client(
        f"sqlite:///{work / 'records.db'}", blobs=work / "blobs", spool_dir=work / "spool"
    )
    components = [gr.Textbox(label="text"), gr.Textbox(label="inference")]
    csv_logger = CSVLogger(verbose=False)

    def ours(i: int) -> None:
        client.log_record(
            "bench-app",
            inputs={"text": TEXT},
            outputs={"inference": FIXED},
            feedback={"flag": "incorrect"},
            tags={"username": f"user{i % 50}"},
        )

    def theirs(i: int) -> None:
        csv_logger.flag([TEXT, FIXED], flag_option="incorrect", username=f"user{i % 50}")

    timings: dict[str, list[float]] = {"gantry log_record": [], "gradio CSVLogger.flag": []}
    for start in range(0, args.calls, args.block):
        # CSVLogger re-reads its whole file on every flag; a fresh file per block
        # keeps it at its best (a few hundred rows), as in a young app.
        csv_logger.setup(components, work / "flagged" / str(start))
        for name, fn in (("gantry log_record", ours), ("gradio CSVLogger.flag", theirs)):
            for i in range(start, start + args.block):
                t0 = time.perf_counter()
                fn(i)
                timings[name].append(time.perf_counter() - t0)
    client.flush(120)
    stored = len(client.query("bench-app"))
    client.close()

    print(f"{args.calls} calls each, interleaved in blocks of {args.block}")
    for name, values in timings.items():
        print(describe(name, values))
    ratio = statistics.median(timings["gantry log_record"]) / statistics.median(
        timings["gradio CSVLogger.flag"]
    )
    print(f"ratio of medians (gantry / CSVLogger): {ratio:.3f}  (goal <= 0.25)")
    print(f"records stored after flush: {stored} of {args.calls}")


if __name__ == "__main__":
    main()
