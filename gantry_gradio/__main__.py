"""Command line: `python -m gantry_gradio projections --app APP ...`."""

from __future__ import annotations

import argparse
import sys

from .client import Client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantry_gradio")
    commands = parser.add_subparsers(dest="command", required=True)
    project = commands.add_parser(
        "projections",
        help="compute projections for stored records (resumable: run again to continue)",
    )
    project.add_argument("--app", required=True, help="application name")
    project.add_argument("--store", help="SQLAlchemy URL (default: GANTRY_STORE or ./gantry_data)")
    project.add_argument("--blobs", help="blob folder or s3://bucket/prefix")
    project.add_argument(
        "--projection",
        action="append",
        dest="projections",
        required=True,
        help="entropy, edit, profanity, detoxify (repeatable); detoxify reads "
        "GANTRY_DETOXIFY_CHECKPOINT / GANTRY_DETOXIFY_CONFIG",
    )
    project.add_argument("--start", help="first timestamp (ISO), inclusive")
    project.add_argument("--end", help="last timestamp (ISO), exclusive")
    project.add_argument(
        "--recompute", action="store_true", help="project again records that have values already"
    )
    args = parser.parse_args(argv)

    client = Client(args.store, args.blobs)
    try:
        done = client.compute_projections(
            args.app, args.start, args.end, projections=args.projections, recompute=args.recompute
        )
    finally:
        client.close()
    print(f"computed {done} record-projections for {args.app}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
