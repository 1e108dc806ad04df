"""Run every benchmark script, one after the other, and print one table of
their headline figures (the lines that state a ratio or a goal), for README.

    python bench/report.py            # the sizes README quotes (1M-record stores: long)
    python bench/report.py --quick    # a tenth of the work (~100 s here); noisier
    python bench/report.py --records 10000000   # ingest.py and dashboard_refresh.py at
                                                # 10M records, the rest at their defaults
    python bench/report.py --records 10000000 --only ingest.py --only dashboard_refresh.py

Each script runs in its own process, so one's caches and threads do not
colour the next; a script that fails is reported in the table, and the
report exits 1."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
#: script -> arguments for --quick (full runs use each script's defaults)
QUICK = {
    "log_record_latency.py": ["--calls", "1000"],
    "ingest.py": ["--records", "10000"],
    "aggregate.py": ["--records", "100000", "--repeats", "3"],
    "dashboard_refresh.py": ["--records", "100000", "--backend", "sqlite", "--repeats", "3"],
    "gradio_wrapper_latency.py": ["--calls", "100"],
    "projections.py": ["--texts", "128", "--seconds", "5"],
    "alerts.py": ["--records", "100000", "--cycles", "3"],
    "review_queue.py": ["--records", "100000", "--calls", "50"],
    "evaluation_overhead.py": ["--rows", "1000", "--model-rows", "32"],
    "import_history.py": ["--records", "100000"],
}
#: Scripts whose store size --records sets.
SIZED = ("ingest.py", "dashboard_refresh.py", "alerts.py", "review_queue.py", "import_history.py")
_HEADLINE = re.compile(
    r"ratio|goal|records/s|\blag\b|median|whole tab|speed-?up|\bRSS\b|seeded|late feedback"
    r"|import|equals",
    re.IGNORECASE,
)


def run(script: str, arguments: list[str]) -> tuple[int, float, list[str]]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(HERE / script), *arguments],
        capture_output=True,
        text=True,
        cwd=HERE.parent,
    )
    seconds = time.monotonic() - started
    lines = [line.strip() for line in done.stdout.splitlines() if _HEADLINE.search(line)]
    if done.returncode != 0:
        lines.append(f"FAILED (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return done.returncode, seconds, lines


def _without_records(arguments: list[str]) -> list[str]:
    if "--records" not in arguments:
        return arguments
    at = arguments.index("--records")
    return arguments[:at] + arguments[at + 2 :]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--only", action="append", help="run just this script (repeatable)")
    parser.add_argument("--records", type=int, help=f"store size for {', '.join(SIZED)}")
    args = parser.parse_args()
    failures = 0
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for script, quick in QUICK.items():
            if args.only and script not in args.only:
                continue
            arguments = list(quick) if args.quick else []
            if args.records and script in SIZED:
                arguments = _without_records(arguments) + ["--records", str(args.records)]
            if script in ("aggregate.py", "dashboard_refresh.py", "alerts.py"):
                arguments += ["--db", str(Path(scratch) / f"{script}.db")]
            print(f"running {script} {' '.join(arguments)}", file=sys.stderr, flush=True)
            code, seconds, lines = run(script, arguments)
            failures += code != 0
            rows.append((script, seconds, lines))
    print(f"| benchmark | figures {'(--quick)' if args.quick else ''} | run time |")
    print("|---|---|---|")
    for script, seconds, lines in rows:
        print(f"| `bench/{script}` | {'<br>'.join(lines) or '(no figures)'} | {seconds:.0f} s |")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
