"""Load the demo's month of history (April 2022) into a store, so the
monitoring tab tells its story from the first minute.

    python backfill.py --load-data --create-views
    python backfill.py --load-data --source https://example.com/april_2022.csv.gz
    python backfill.py --load-data --source s3://bucket/april_2022.csv.gz --store postgresql+psycopg://...

The source is a CSV (gzip or plain) with the columns of demo_app/history.py:
timestamp, text, account_age_days, username, inference, correction_accepted,
flag, uuid. Each row's uuid is its join key, so a second run skips what the
first stored instead of adding it again."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
from tqdm import tqdm

import gantry_gradio as gantry
from demo_app.history import HISTORY_VIEW, SHIPPED
from demo_app.labels import DATASET, QUEUE, review_month
from demo_app.projections import default_projections
from gantry_gradio import alerts
from gantry_gradio.alerts import AlertRule
from gantry_gradio.alerts.overview import changed_at

APP = "gec-demo-app"
ACCEPTED = "feedback.correction_accepted"
#: The investigation's windows (end exclusive): the dip is April 23-26.
THIS_WEEK = ("2022-04-22", "2022-04-27")
LAST_WEEK = ("2022-04-16", "2022-04-22")
VIEWS = {
    HISTORY_VIEW: (("2022-03-30", "2022-05-02"), []),  # the data spans 03-30 to 05-01
    "this-week": (THIS_WEEK, []),
    "last-week": (LAST_WEEK, []),
    "new-accounts": (THIS_WEEK, ["tags.account_age_days <= 7"]),
    "accepted": (THIS_WEEK, [f"{ACCEPTED} == true"]),
    "rejected": (THIS_WEEK, [f"{ACCEPTED} == false"]),
}
CHUNK = 2000
#: The reference the tab's "Production vs baseline" compares with: April's first week.
BASELINE_WEEK = ("2022-04-01", "2022-04-08")
#: The alert the month would have raised: new accounts' acceptance below 50% over a day.
NEW_ACCOUNTS_ALERT = "new_accounts_acceptance"


def read_source(source: str, s3_endpoint_url: str | None = None) -> pd.DataFrame:
    """A local path, an http(s) URL (requests) or an s3:// URI (boto3)."""
    scheme = urlparse(source).scheme
    if scheme in ("http", "https"):
        import requests

        response = requests.get(source, timeout=60)
        response.raise_for_status()
        data: io.BytesIO | str = io.BytesIO(response.content)
    elif scheme == "s3":
        import boto3

        where = urlparse(source)
        s3 = boto3.client("s3", endpoint_url=s3_endpoint_url)
        body = s3.get_object(Bucket=where.netloc, Key=where.path.lstrip("/"))["Body"].read()
        data = io.BytesIO(body)
    elif scheme in ("", "file"):
        data = urlparse(source).path if scheme == "file" else source
        if not Path(data).exists():
            raise SystemExit(f"no such file: {data}")
    else:
        raise SystemExit(f"--source takes a path, an https:// URL or an s3:// URI, not {source!r}")
    compression = "gzip" if source.endswith(".gz") else "infer"
    frame = pd.read_csv(data, compression=compression, keep_default_na=True)
    missing = {"timestamp", "text", "inference", "uuid"} - set(frame.columns)
    if missing:
        raise SystemExit(f"{source} lacks the columns {sorted(missing)}")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def _record(row: dict) -> tuple[dict, dict, dict, dict]:
    feedback = {}
    if pd.notna(row.get("correction_accepted")):
        feedback["correction_accepted"] = str(row["correction_accepted"]).lower() == "true"
    if pd.notna(row.get("flag")):
        feedback["flag"] = row["flag"]
    tags = {"env": "prod"}
    if pd.notna(row.get("username")):
        tags["username"] = row["username"]
    if pd.notna(row.get("account_age_days")):
        tags["account_age_days"] = int(row["account_age_days"])
    return {"text": row["text"]}, {"inference": row["inference"]}, feedback, tags


def load(client: gantry.Client, frame: pd.DataFrame, application: str) -> int:
    """Log the rows not stored yet, in chunks, with a progress bar; returns how many."""
    stored = client.stored_join_keys(application, frame["uuid"].tolist())
    fresh = frame[~frame["uuid"].isin(stored)]
    if len(stored):
        print(f"{len(stored):,} of {len(frame):,} predictions are stored already; skipping them")
    with tqdm(total=len(fresh), desc="loading", unit="prediction") as bar:
        for at in range(0, len(fresh), CHUNK):
            part = fresh.iloc[at : at + CHUNK]
            records = [_record(row) for row in part.to_dict("records")]
            inputs, outputs, feedbacks, tags = (
                list(column) for column in zip(*records, strict=True)
            )
            client.log_records(
                application,
                version="history",
                inputs=inputs,
                outputs=outputs,
                feedbacks=feedbacks,
                tags=tags,
                join_keys=part["uuid"].tolist(),
                timestamps=part["timestamp"].tolist(),
            )
            bar.update(len(part))
    if not client.flush(600):
        raise SystemExit("the store did not take every record within 10 minutes; run again")
    return len(fresh)


def register_baseline(
    client: gantry.Client, frame: pd.DataFrame, application: str, projections: list[str]
) -> None:
    """The first week of April, before the dip, as the default baseline of
    every projection value: what "Production vs baseline" compares with."""
    start, end = (pd.Timestamp(day, tz="UTC") for day in BASELINE_WEEK)
    week = frame[(frame["timestamp"] >= start) & (frame["timestamp"] < end)]
    if week.empty:
        print(f"no baseline: the source has no predictions of {start:%b %d}-{end:%d}")
        return
    stored = client.register_baseline(
        application,
        week,
        columns={"inputs.text": "text", "outputs.inference": "inference"},
        projections=projections,
    )
    print(f"baseline: {len(week):,} predictions of {start:%b %d}-{end:%d}, {len(stored)} values")


def create_views(client: gantry.Client, application: str) -> None:
    for name, ((start, end), filters) in VIEWS.items():
        client.create_view(application, name, start, end, filters, replace=True)
    print("views:", ", ".join(VIEWS))


def create_alert(client: gantry.Client, application: str) -> None:
    """Evaluated over April at once, so the tab shows when it would have fired."""
    rule = AlertRule(
        NEW_ACCOUNTS_ALERT,
        application,
        "acceptance_rate",
        field=ACCEPTED,
        below=50,
        filters=["tags.account_age_days <= 7"],
        window="1D",
        every="1D",
        min_records=20,
        severity="critical",
    )
    alerts.create_alert(client, rule, start_on="2022-04-01", end_on="2022-05-01")
    history = alerts.alert_history(client, NEW_ACCOUNTS_ALERT)
    changes = history[history["transition"].notna()]
    told = ", ".join(changed_at(r.transition, r.window_end) for r in changes.itertuples())
    print(f"alert {NEW_ACCOUNTS_ALERT}: {told or 'never fired'} (times are window ends)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load-data", action="store_true", help="load the history")
    parser.add_argument(
        "--create-views", action="store_true", help="create the demo's views and alert rule"
    )
    parser.add_argument("--source", default=str(SHIPPED), help="path, https:// URL or s3:// URI")
    parser.add_argument("--app", default=APP)
    parser.add_argument("--store", help="SQLAlchemy URL (default: GANTRY_STORE or ./gantry_data)")
    parser.add_argument("--blobs", help="blob folder or s3://bucket/prefix")
    parser.add_argument("--s3-endpoint-url", help="for S3-compatible servers (MinIO, moto)")
    parser.add_argument(
        "--projections",
        default=",".join(default_projections()),
        help="comma-separated projections to compute for the loaded records ('' for none); "
        "default: entropy,edit,profanity, plus detoxify when GANTRY_DETOXIFY_CHECKPOINT names "
        "its weights",
    )
    args = parser.parse_args(argv)
    if not (args.load_data or args.create_views):
        parser.error("nothing to do: pass --load-data and/or --create-views")
    client = gantry.Client(args.store, args.blobs, s3_endpoint_url=args.s3_endpoint_url)
    try:
        if args.load_data:
            frame = read_source(args.source, args.s3_endpoint_url)
            added = load(client, frame, args.app)
            print(f"stored {added:,} new predictions in {args.app}")
            labels = review_month(client, args.app, frame)
            if labels:
                print(f"review: {labels} labels in queue {QUEUE!r}, dataset {DATASET!r}")
            chosen = [p for p in args.projections.split(",") if p]
            if chosen:
                client.compute_projections(args.app, projections=chosen)
                register_baseline(client, frame, args.app, chosen)
            # The month is history: its days go to the Parquet lake now, so
            # the tab reads them with DuckDB from its first refresh.
            for report in client.export_lake(args.app):
                print(f"exported {report.rows:,} rows ({len(report.days)} days) to the lake")
        if args.create_views:
            create_views(client, args.app)
            create_alert(client, args.app)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
