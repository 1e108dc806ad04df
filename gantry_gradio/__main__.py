"""Command line: `python -m gantry_gradio projections|dashboard|automations|lake|evaluate ...`
(also `gantry-gradio`)."""

from __future__ import annotations

import argparse
import sys

from . import evaluate_cli as evaluation_cli
from .client import Client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantry_gradio")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_projections_parser(commands)
    board = commands.add_parser("dashboard", help="serve the monitoring UI for a store")
    board.add_argument("--store", help="SQLAlchemy URL (default: GANTRY_STORE or ./gantry_data)")
    board.add_argument("--blobs", help="blob folder or s3://bucket/prefix")
    board.add_argument("--app", help="show only this application")
    board.add_argument("--host", default="127.0.0.1")
    board.add_argument("--port", type=int, default=7861)
    board.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="a login allowed to see the data (repeatable); required when "
        "--host is not a loopback address",
    )
    board.add_argument(
        "--token",
        help="the access token viewers need when there is no --user (default: "
        "GANTRY_MONITORING_TOKEN, else a new one, printed at start)",
    )
    board.add_argument(
        "--access",
        choices=("token", "loopback"),
        default="token",
        help="loopback: serve this machine without a token (a trusted single-user "
        "machine only; any proxy or forwarder on it lets others in)",
    )
    board.add_argument(
        "--analytics",
        choices=("sql", "lake"),
        help="where the tab's aggregations run: the SQL store, or DuckDB over the "
        "Parquet lake plus the SQL tail (default: GANTRY_ANALYTICS, else lake)",
    )
    board.add_argument("--accepted-field", default="feedback.accepted")
    board.add_argument("--flag-field", default="feedback.flag")
    curate = commands.add_parser(
        "automations",
        aliases=["curators"],
        help="run or list the store's automations (curators, alerts)",
    )
    curate.add_argument("action", choices=("run", "list"))
    curate.add_argument("--store", help="SQLAlchemy URL (default: GANTRY_STORE or ./gantry_data)")
    curate.add_argument("--blobs", help="blob folder or s3://bucket/prefix (where datasets go)")
    curate.add_argument("--once", action="store_true", help="one pass, then exit")
    curate.add_argument("--poll-seconds", type=float, default=60.0)
    lake = commands.add_parser(
        "lake", help="export completed days that changed since the last pass to the Parquet lake"
    )
    lake.add_argument("action", choices=("export",))
    lake.add_argument("--store", help="SQLAlchemy URL (default: GANTRY_STORE or ./gantry_data)")
    lake.add_argument("--blobs", help="blob folder or s3://bucket/prefix (the lake goes in lake/)")
    lake.add_argument("--app", help="only this application (default: every one)")
    evaluation_cli.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "evaluate":
        return evaluation_cli.main(args)
    if args.command == "dashboard":
        return dashboard(args)
    if args.command == "lake":
        return export_lake(args)
    if args.command in ("automations", "curators"):
        return automations(args)
    return projections(args)


def _add_projections_parser(commands: argparse._SubParsersAction) -> None:
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


def projections(args: argparse.Namespace) -> int:
    """Compute the named projections for stored records of one application."""
    client = Client(args.store, args.blobs)
    try:
        done = client.compute_projections(
            args.app, args.start, args.end, projections=args.projections, recompute=args.recompute
        )
    finally:
        client.close()
    print(f"computed {done} record-projections for {args.app}")
    return 0


def automations(args: argparse.Namespace) -> int:
    """`list` prints each automation with its intervals' states; `run` runs
    due intervals (with --once: one pass; exit 1 when an interval failed)."""
    from .automation import AutomationScheduler, stored_automations

    client = Client(args.store, args.blobs)
    try:
        if args.action == "list":
            for automation in stored_automations(client):
                runs = automation.runs(client)
                paused = " (paused)" if automation.is_paused(client) else ""
                states = runs["status"].value_counts().to_dict() if len(runs) else {}
                print(
                    f"{automation.name}: {type(automation.action).__name__} on "
                    f"{automation.action.application}, every {automation.trigger.interval}; "
                    f"intervals {states or 'none yet'}{paused}"
                )
                for failed in runs[runs["status"] == "failed"].itertuples():
                    attempts = f"{failed.attempts} attempts"
                    print(f"  failed {failed.interval_start} ({attempts}): {failed.error}")
            return 0
        scheduler = AutomationScheduler(client, poll_seconds=args.poll_seconds)
        if args.once:
            outcomes = scheduler.run_once()
            for outcome in outcomes:
                detail = outcome.error or outcome.result.message
                print(
                    f"{outcome.automation} {outcome.start.isoformat()}: {outcome.status}, {detail}"
                )
            return 1 if scheduler.failures else 0
        print(f"running automations every {args.poll_seconds:.0f} s; Ctrl+C stops", flush=True)
        try:
            scheduler.run_forever()
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        client.close()


def export_lake(args: argparse.Namespace) -> int:
    """One export pass; exit 1 when a day could not be exported (it stays
    served from SQL and the next pass tries again)."""
    client = Client(args.store, args.blobs)
    try:
        reports = client.export_lake(args.app)
    finally:
        client.close()
    for report in reports:
        days = (
            f"{len(report.days)} days ({report.days[0]}..{report.days[-1]})"
            if report.days
            else "nothing changed"
        )
        print(f"{report.application}: {days}, {report.rows:,} rows in {report.seconds:.1f} s")
        for day, error in report.failed.items():
            print(f"  {day} failed: {error}")
    return 1 if any(r.failed for r in reports) else 0


def dashboard(args: argparse.Namespace) -> int:
    """Serve the tab for a store (read-only files included). Beyond loopback it
    needs logins; on loopback, the access token (printed as a link) unless
    --access loopback."""
    import gradio as gr

    from .dashboard.access import MonitoringAccess, access_url, is_loopback
    from .dashboard.tab import monitoring_tab

    users = [tuple(u.split(":", 1)) for u in args.user if ":" in u]
    if len(users) != len(args.user):
        print("--user takes NAME:PASSWORD", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and not users:
        print(
            f"refusing to serve monitoring data on {args.host} without logins: it shows "
            "every user's inputs. Add --user NAME:PASSWORD (or bind to 127.0.0.1).",
            file=sys.stderr,
        )
        return 2
    try:
        access = MonitoringAccess.configure(
            allowed_users=[name for name, _ in users] or None,
            access=args.access,
            access_token=args.token,
        )
    except ValueError as exc:
        print(f"{exc} (--user, --access and --token are alternatives)", file=sys.stderr)
        return 2
    token = access.token or None
    client = Client(args.store, args.blobs, analytics=args.analytics)
    with gr.Blocks(title="gantry_gradio monitoring") as demo:
        tab = monitoring_tab(
            args.app,
            client=client,
            accepted_field=args.accepted_field,
            flag_field=args.flag_field,
            allowed_users=[name for name, _ in users] or None,
            access=args.access,
            access_token=token,
        )
        tab.load_with(demo)
    _, local_url, _ = demo.launch(
        server_name=args.host,
        server_port=args.port,
        auth=users or None,
        prevent_thread_lock=True,
        quiet=True,
    )
    if token:
        print(f"Monitoring dashboard: {access_url(local_url, token)}", flush=True)
    else:
        print(f"Monitoring dashboard: {local_url}", flush=True)
    try:
        demo.block_thread()
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
