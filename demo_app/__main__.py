"""python -m demo_app [--model v1|v2|ID_OR_FOLDER] [--model-only] [--store URL]
[--blobs DIR|s3://...] [--host 127.0.0.1] [--port 7860] [--user NAME:PASSWORD ...]

Without --host/--port, Gradio's own GRADIO_SERVER_NAME and GRADIO_SERVER_PORT
decide (defaults 127.0.0.1 and 7860)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import gantry_gradio as gantry
from gantry_gradio.dashboard.access import TOKEN_ENV, access_url, new_token

from .app import build_demo
from .model import BUNDLED_MODEL_V2, DEFAULT_MODEL, MODEL_VERSIONS
from .pipeline import load_pipeline
from .projections import default_projections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The gantry_gradio grammar-corrector demo")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="hub id or local folder; v1 is the bundled model, v2 the one "
        "python -m demo_app.retrain fine-tunes on the review labels",
    )
    parser.add_argument(
        "--model-only",
        action="store_true",
        help="the model alone, without the spelling and grammar rules before it",
    )
    parser.add_argument("--store", help="SQLAlchemy URL (default: ./gantry_data/records.db)")
    parser.add_argument("--blobs", help="folder or s3://bucket/prefix (default: ./gantry_data)")
    parser.add_argument("--host", help="default: GRADIO_SERVER_NAME, else 127.0.0.1")
    parser.add_argument("--port", type=int, help="default: GRADIO_SERVER_PORT, else 7860")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="require this login (repeatable); these users may see the Monitoring tab",
    )
    args = parser.parse_args(argv)
    args.model = str(MODEL_VERSIONS.get(args.model, args.model))
    if args.model == str(BUNDLED_MODEL_V2) and not BUNDLED_MODEL_V2.is_dir():
        parser.error("there is no v2 yet: python -m demo_app.retrain makes it")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    users = [tuple(u.split(":", 1)) for u in args.user]
    if any(len(u) != 2 for u in users):
        parser.error("--user takes NAME:PASSWORD")
    # The same projections backfill.py computed, so live rows fill the same panels.
    client = gantry.init(args.store, args.blobs, projections=default_projections())
    gantry.start_automations()  # curators and alerts stored in this store run in the app
    corrector = load_pipeline(args.model, spelling=not args.model_only, grammar=not args.model_only)
    logins = [n for n, _ in users] or None
    token = None if logins else os.environ.get(TOKEN_ENV) or new_token()
    demo = build_demo(corrector, client=client, monitoring_users=logins, monitoring_token=token)
    _, local_url, _ = demo.launch(
        server_name=args.host,
        server_port=args.port,
        auth=users or None,
        prevent_thread_lock=True,
    )
    if token:
        print(f"Monitoring tab (needs its token): {access_url(local_url, token)}", flush=True)
    else:
        print(f"Monitoring tab: log in as {', '.join(logins)}", flush=True)
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
