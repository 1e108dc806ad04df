"""The monitoring tab's refresh as a viewer waits for it (a launched Gradio
app's /monitoring_refresh, called with gradio_client) on 1,000,000 records,
this checkout against an earlier commit (a git worktree), on one store, in
one run: the two apps run side by side and are called alternately, so machine
noise hits both alike. Prints each median and the ratio now/before, per
scope (the whole month; the investigation's view) and engine (sql, lake).

    python bench/tab_vs_previous.py [--ref 17c807a] [--records 1000000] [--repeats 7]

The store is bench/lake.py's (seeded once, kept at --db)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from lake import APP, VIEW, is_prepared, prepare  # noqa: E402

from gantry_gradio import Client  # noqa: E402

ROOT = Path(__file__).parent.parent
TOKEN = "bench-monitoring-token-0123456789"
#: Serves a monitoring tab on the store (run with either checkout on its path)
#: and prints the port it listens on.
_SERVER = """
import socket, sys, time
import gradio as gr
from gantry_gradio import Client
from gantry_gradio.dashboard.tab import monitoring_tab
store, blobs, analytics, token = sys.argv[1:5]
client = Client(store, blobs=blobs, spool_dir=blobs + "-spool-" + str(time.time()),
                analytics=analytics)
with gr.Blocks() as demo:
    monitoring_tab("agg-app", client=client, accepted_field="feedback.correction_accepted",
                   access_token=token)
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
import gantry_gradio
print(port, gantry_gradio.__file__, file=sys.stderr, flush=True)
print(port, flush=True)
demo.block_thread()
"""


def worktree(ref: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="gantry-ref-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), ref],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return folder


def serve(code_root: Path, store: str, blobs: str, analytics: str) -> tuple[subprocess.Popen, int]:
    """A tab served by the checkout at `code_root` (first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, store, blobs, analytics, TOKEN],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=code_root,
    )
    port = int(server.stdout.readline())
    return server, port


def arguments(new: bool, view: str) -> list:
    """/monitoring_refresh's inputs: the earlier tab took them in a fixed
    order ending with the token; this one in the order it creates them."""
    if new:
        return [APP, TOKEN, "all", "day", view, "", "", "", "", None, None, 0, []]
    return [APP, "all", "day", view, "", "", "", None, None, 0, "", TOKEN]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="17c807a", help="the earlier commit")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gantry-dashboard.db"))
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from gradio_client import Client as GradioClient

    store, blobs = f"sqlite:///{args.db}", f"{args.db}.blobs"
    client = Client(store, blobs=blobs, spool_dir=f"{args.db}.spool")
    if not is_prepared(client):
        print(f"seeding {args.records:,} records (once)...", flush=True)
        prepare(client, args.records)
    client.export_lake(APP)
    client.close()
    before_root = worktree(args.ref)
    servers = []
    try:
        for analytics in ("sql", "lake"):
            now, now_port = serve(ROOT, store, blobs, analytics)
            before, before_port = serve(before_root, store, blobs, analytics)
            servers += [now, before]
            callers = {
                "now": GradioClient(f"http://127.0.0.1:{now_port}/", verbose=False),
                "before": GradioClient(f"http://127.0.0.1:{before_port}/", verbose=False),
            }
            for scope, view in (("whole month", ""), (f"view {VIEW}", VIEW)):
                times: dict[str, list[float]] = {"now": [], "before": []}
                for repeat in range(args.repeats + 1):
                    for name, caller in callers.items():
                        values = arguments(name == "now", view)
                        started = time.perf_counter()
                        caller.predict(*values, api_name="/monitoring_refresh")
                        if repeat:  # the first call of each warms caches
                            times[name].append(time.perf_counter() - started)
                medians = {name: statistics.median(spent) for name, spent in times.items()}
                print(
                    f"{analytics:4} {scope:18} now {medians['now'] * 1000:6.0f} ms, "
                    f"before ({args.ref}) {medians['before'] * 1000:6.0f} ms, "
                    f"ratio now/before {medians['now'] / medians['before']:.2f}",
                    flush=True,
                )
            for server in (now, before):
                server.terminate()
    finally:
        for server in servers:
            server.kill()
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(before_root)], cwd=ROOT, check=False
        )


if __name__ == "__main__":
    main()
