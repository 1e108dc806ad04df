"""Time to refresh the whole monitoring tab on 1,000,000 records, SQLite and
PostgreSQL: every panel's queries (`panels.snapshot`), and the same through a
launched tab's `/monitoring_refresh` endpoint with gradio_client.

The records are a month of predictions with feedback, flags, tags and one
projection with a registered baseline, so every panel has work to do. Two
scopes: the whole month, and the "young accounts in the third week" view an
investigation ends on. Stores are seeded once and kept (--db, and the
PostgreSQL cluster lives only for the run).

    python bench/dashboard_refresh.py [--records 1000000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import gradio as gr
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from aggregate import APP, seed  # noqa: E402

from gantry_gradio import Client, UnknownApplicationError  # noqa: E402
from gantry_gradio.dashboard import panels  # noqa: E402
from gantry_gradio.dashboard.tab import monitoring_tab  # noqa: E402
from tests.gradio_apps import TEST_TOKEN as TOKEN  # noqa: E402
from tests.gradio_apps import connect, launched  # noqa: E402
from tests.servers import PostgresServer  # noqa: E402

ACCEPTED, FLAG = "feedback.correction_accepted", "feedback.flag"
LENGTH = "projections.entropy.chars"
VIEW = "young-week-3"


def stored_records(client: Client) -> int:
    try:
        table = client.catalog.table(client.catalog.application_id(APP))
    except UnknownApplicationError:
        return 0
    with client.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def prepare(client: Client, records: int) -> None:
    """Seed, then give every record the output-length projection in one SQL
    UPDATE (the projector would take minutes here; this bench is about reads),
    register a baseline and the investigation's view."""
    seed(client, records)
    app_id = client.catalog.application_id(APP)
    fields = client.catalog.ensure_fields(app_id, {LENGTH: "number"})
    table = client.catalog.table(app_id)
    output = table.c[fields["outputs.inference"].column]
    with client.engine.begin() as conn:
        conn.execute(table.update().values({fields[LENGTH].column: sa.func.length(output)}))
    reference = pd.DataFrame(
        {"outputs.inference": [f"She goes to school number {i} every day." for i in range(2000)]}
    )
    client.register_baseline(APP, reference, projections=["entropy"])
    client.create_view(
        APP, VIEW, "2022-04-15", "2022-04-22", ["tags.account_age_days <= 7"], replace=True
    )


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        function()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(client: Client, label: str, repeats: int) -> None:
    scopes = {"whole month": panels.Scope(APP), "view " + VIEW: panels.Scope(APP, view=VIEW)}
    print(f"\n{label}: {stored_records(client):,} records, median of {repeats}")
    for name, scope in scopes.items():
        parts = {
            "headline (+previous)": lambda s=scope: panels.headline(client, s, ACCEPTED, FLAG),
            "acceptance/day": lambda s=scope: panels.acceptance_over_time(client, s, ACCEPTED),
            "flags/day": lambda s=scope: panels.flags_over_time(client, s, FLAG),
            "age split": lambda s=scope: panels.split_distribution(
                client, s, "tags.account_age_days", ACCEPTED
            ),
            "projection/day": lambda s=scope: panels.projection_over_time(client, s, LENGTH),
            "vs baseline": lambda s=scope: panels.baseline_comparison(client, s, LENGTH),
            "rows page": lambda s=scope: panels.rows_page(client, s, 0),
        }
        whole = median_seconds(
            lambda s=scope: panels.snapshot(
                client,
                s,
                accepted_field=ACCEPTED,
                flag_field=FLAG,
                tag="tags.account_age_days",
                projection=LENGTH,
            ),
            repeats,
        )
        breakdown = ", ".join(
            f"{k} {median_seconds(f, repeats) * 1000:.0f}" for k, f in parts.items()
        )
        print(f"  {name:24s} whole tab {whole * 1000:7.0f} ms  ({breakdown} ms)")

    with gr.Blocks() as demo:
        monitoring_tab(
            APP, client=client, accepted_field=ACCEPTED, flag_field=FLAG, access_token=TOKEN
        )
    with launched(demo) as url:
        gradio_client = connect(url)
        arguments = (APP, "all", "day", VIEW, "", "", "", "tags.account_age_days", LENGTH, 0, TOKEN)
        gradio_client.predict(*arguments, api_name="/monitoring_refresh")  # warm
        http = median_seconds(
            lambda: gradio_client.predict(*arguments, api_name="/monitoring_refresh"), repeats
        )
        in_process = median_seconds(
            lambda: panels.snapshot(
                client,
                panels.Scope(APP, view=VIEW),
                accepted_field=ACCEPTED,
                flag_field=FLAG,
                tag="tags.account_age_days",
                projection=LENGTH,
            ),
            repeats,
        )
    print(
        f"  through gradio_client (view): {http * 1000:.0f} ms; in process {in_process * 1000:.0f}"
        f" ms; ratio {http / in_process:.2f}; vs the 1 s goal: {http:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gantry-dashboard.db"))
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = args.db.parent / f"{args.db.stem}-work"

    if args.backend in ("sqlite", "both"):
        client = Client(f"sqlite:///{args.db}", blobs=work / "blobs", spool_dir=work / "s1")
        stored = stored_records(client)
        if stored not in (0, args.records):
            raise SystemExit(f"{args.db} holds {stored} records; delete it or pass another --db")
        if not stored:
            prepare(client, args.records)
        measure(client, "SQLite", args.repeats)
        client.close()

    if args.backend in ("postgresql", "both"):
        server = PostgresServer()
        try:
            server.start()
            url = server.create_database("bench")
            client = Client(url, blobs=work / "blobs", spool_dir=work / "s2")
            prepare(client, args.records)
            with client.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
            measure(client, "PostgreSQL 15", args.repeats)
            client.close()
        finally:
            server.destroy()


if __name__ == "__main__":
    main()
