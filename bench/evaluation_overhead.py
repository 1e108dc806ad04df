"""What gantry.evaluate adds per row beyond the candidates' own time:
scoring with the default text metrics (exact match, GLEU, word-edit F0.5,
character distance), bootstrap intervals and paired differences, one slice,
storing the run and logging every (row, candidate) record until it is in
SQLite. The goal: at most 1 ms a row.

Rows are the demo's month (input, the sentence it meant), two candidates:
the input unchanged and a cheap rule, so nearly all the time is the
evaluation's. The anchor, in the same run: the demo's whole corrector
(spelling, grammar rules, the bundled model) on a sample of the same rows.

    python bench/evaluation_overhead.py [--rows 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
from demo_app.history import generate  # noqa: E402
from demo_app.model import BUNDLED_MODEL  # noqa: E402
from demo_app.pipeline import load_pipeline  # noqa: E402
from gantry_gradio import Client  # noqa: E402


def copy(batch: list[str]) -> list[str]:
    return list(batch)


def capitalized(batch: list[str]) -> list[str]:
    return [text[:1].upper() + text[1:] for text in batch]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--model-rows", type=int, default=128)
    args = parser.parse_args()
    month = generate(with_meant=True).sample(args.rows, random_state=1)
    data = month.rename(columns={"text": "input", "meant": "label"})
    data["young"] = data["account_age_days"] <= 7
    work = Path(tempfile.mkdtemp(prefix="gantry-eval-bench-"))
    client = Client(f"sqlite:///{work / 'r.db'}", work / "blobs", spool_dir=work / "spool")
    started = time.perf_counter()
    run = client.evaluate(
        data, {"copy": copy, "capitalized": capitalized}, split=None, slices=["young"],
        application="bench", progress=False,
    )  # fmt: skip
    client.flush(300)
    wall = time.perf_counter() - started
    own = sum(run.seconds[c] for c in run.candidates)
    overhead_ms = (wall - own) / len(data) * 1000
    print(f"{len(data):,} rows, {len(run.candidates)} candidates, {len(run.metrics)} metrics")
    print(f"  candidates' own time {own:.2f} s; whole evaluation {wall:.2f} s")
    print(f"  overhead per row {overhead_ms:.3f} ms (goal 1 ms: {overhead_ms:.2f} of it)")
    pipeline = load_pipeline(str(BUNDLED_MODEL))
    texts = data["input"].tolist()[: args.model_rows]
    started = time.perf_counter()
    for at in range(0, len(texts), 32):
        pipeline.correct(texts[at : at + 32])
    model_ms = (time.perf_counter() - started) / len(texts) * 1000
    print(
        f"  ratio overhead / the demo corrector's own time per row ({model_ms:.1f} ms) "
        f"= {overhead_ms / model_ms:.3f}"
    )
    client.close()


if __name__ == "__main__":
    main()
