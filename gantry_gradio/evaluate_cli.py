"""`python -m gantry_gradio evaluate`: the same run as `gantry.evaluate`,
for scripts and CI. `--require v2>v1:gleu` makes the exit status say
whether v2 beat v1 (the paired interval above zero in the metric's good
direction), so a pipeline can refuse to ship a model that did not."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from typing import Any

from .datasets import DatasetError
from .evaluation import CandidateError, Evaluation, MetricError

_REQUIREMENT = re.compile(r"^(?P<better>[^>]+)>(?P<baseline>[^:]+):(?P<metric>.+)$")


def add_parser(commands: Any) -> None:
    run = commands.add_parser(
        "evaluate", help="evaluate model versions on the same dataset rows and compare them"
    )
    run.add_argument("--store", help="SQLAlchemy URL (default: GANTRY_STORE or ./gantry_data)")
    run.add_argument("--blobs", help="blob folder or s3://bucket/prefix (where datasets are)")
    run.add_argument("--dataset", required=True, help="NAME or NAME@VERSION_ID")
    run.add_argument(
        "--candidate",
        action="append",
        required=True,
        metavar="NAME=TARGET",
        help="TARGET is module:function (a function on a list of inputs) or a seq2seq "
        "model folder / hub id; repeatable, the first is the baseline",
    )
    run.add_argument("--metric", action="append", help="repeatable (default: the text metrics)")
    run.add_argument("--split", default="test", help="train, validation, test, or all")
    run.add_argument("--input-column", default="input")
    run.add_argument("--label-column", default="label")
    run.add_argument("--slice", action="append", default=[], help="a column or view:NAME")
    run.add_argument("--app", help="the application the run is about (its tab lists it)")
    run.add_argument("--name", help="the run's name (default: the candidates and dataset)")
    run.add_argument("--batch-size", type=int, default=32)
    run.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="BETTER>BASELINE:METRIC",
        help="exit 1 unless BETTER beats BASELINE on METRIC (paired interval excludes 0)",
    )


def main(args: argparse.Namespace) -> int:
    from .client import Client

    try:
        candidates = dict(_candidate(spec) for spec in args.candidate)
        requirements = [_requirement(spec) for spec in args.require]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    client = Client(args.store, args.blobs)
    try:
        run = client.evaluate(
            args.dataset,
            candidates,
            args.metric,
            split=None if args.split == "all" else args.split,
            input_column=args.input_column,
            label_column=args.label_column,
            slices=args.slice,
            application=args.app,
            batch_size=args.batch_size,
            name=args.name,
        )
    except (CandidateError, MetricError, DatasetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        client.close()
    print(run)
    return 0 if all(_met(run, *r) for r in requirements) else 1


def _candidate(spec: str) -> tuple[str, Any]:
    name, sep, target = spec.partition("=")
    if not sep or not name or not target:
        raise ValueError(f"--candidate takes NAME=TARGET, not {spec!r}")
    if ":" not in target:
        return name, target  # a model folder or hub id
    module, _, function = target.partition(":")
    try:
        return name, getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import {target!r} for candidate {name!r}: {exc}") from None


def _requirement(spec: str) -> tuple[str, str, str]:
    match = _REQUIREMENT.match(spec)
    if not match:
        raise ValueError(f"--require takes BETTER>BASELINE:METRIC, e.g. v2>v1:gleu, not {spec!r}")
    return match["better"], match["baseline"], match["metric"]


def _met(run: Evaluation, better: str, baseline: str, metric: str) -> bool:
    rows = run.differences
    found = (
        rows[
            (rows["candidate"] == better)
            & (rows["baseline"] == baseline)
            & (rows["metric"] == metric)
        ]
        if len(rows)
        else rows
    )
    if found.empty:
        print(f"requirement {better}>{baseline}:{metric}: no such comparison in the run")
        return False
    verdict = found.iloc[0]["verdict"]
    print(f"requirement {better}>{baseline}:{metric}: {verdict}")
    return verdict == "better"
