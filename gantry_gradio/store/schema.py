"""Tables and the field catalog.

Why one table per application with a typed column per flattened field: the
monitoring queries aggregate a few fields over a million rows, and plain typed
columns make that a fast SQL scan on SQLite and PostgreSQL alike (JSON extraction
was ~10x slower). Column names are generated (`f<id>`), never taken from user
keys, so no user text ever reaches DDL."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

metadata = sa.MetaData()

applications = sa.Table(
    "gantry_applications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    # The application's change counter: each write transaction bumps it under
    # the write lock and stamps the rows it writes (store/changes.py).
    sa.Column("change_seq", sa.BigInteger, nullable=False, server_default="0"),
)

fields = sa.Table(
    "gantry_fields",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("application_id", sa.Integer, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.UniqueConstraint("application_id", "path"),
)

feedback_events = sa.Table(
    "gantry_feedback_events",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("application_id", sa.Integer, nullable=False),
    sa.Column("join_key", sa.String(256), nullable=False),
    sa.Column("timestamp_us", sa.BigInteger, nullable=False),
    sa.Column("feedback", sa.Text, nullable=False),
    # The change number of the write that stored it (NULL: stored before
    # events had one): how an export pass finds late feedback for records
    # only the lake holds (lake/retention.py).
    sa.Column("change_seq", sa.BigInteger),
    sa.Index("ix_gantry_feedback_key", "application_id", "join_key"),
    sa.Index("ix_gantry_feedback_change", "application_id", "change_seq"),
)

views = sa.Table(
    "gantry_views",
    metadata,
    sa.Column("application_id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("start_us", sa.BigInteger),
    sa.Column("end_us", sa.BigInteger),
    sa.Column("filters", sa.Text, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

baseline_values = sa.Table(
    "gantry_baseline_values",
    metadata,
    sa.Column("application_id", sa.Integer, nullable=False),
    sa.Column("baseline", sa.String(200), nullable=False),
    sa.Column("path", sa.Text, nullable=False),  # e.g. projections.detoxify.toxicity
    sa.Column("value", sa.Float(precision=53), nullable=False),
    sa.Index("ix_gantry_baseline", "application_id", "baseline", "path"),
)

#: Which record blobs each record references (store/blob_refs.py): written
#: with the record, so a stored file's URI can be told from text that merely
#: looks like one.
record_blobs = sa.Table(
    "gantry_record_blobs",
    metadata,
    sa.Column("application_id", sa.Integer, primary_key=True),
    sa.Column("join_key", sa.String(256), primary_key=True),
    sa.Column("blob_key", sa.String(100), primary_key=True),
)

#: Datasets: the files live in the blob store; these rows say which files make
#: each version. A version's files are immutable, so a new version (a curator's
#: next interval, a rollback) lists older files again instead of copying them.
datasets = sa.Table(
    "gantry_datasets",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

dataset_versions = sa.Table(
    "gantry_dataset_versions",
    metadata,
    # Order of commit: the latest version is the highest seq, so concurrent
    # pushes each get their own row and none replaces another.
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.String(32), nullable=False, unique=True),
    sa.Column("dataset", sa.String(100), nullable=False, index=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("row_count", sa.Integer),
    sa.Column("files", sa.Text, nullable=False),  # JSON: [{"name", "uri", "bytes"}]
)

automations = sa.Table(
    "gantry_automations",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),  # JSON: trigger + action
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
)

#: Automations paused by name: schedulers skip them until the row is removed
#: (resuming catches up the intervals that passed meanwhile, as after downtime).
automation_pauses = sa.Table(
    "gantry_automation_pauses",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("paused_at_us", sa.BigInteger, nullable=False),
)

#: One row per (automation, interval): the primary key is what makes a second
#: scheduler, or a re-run, unable to run an interval twice.
automation_runs = sa.Table(
    "gantry_automation_runs",
    metadata,
    sa.Column("automation", sa.String(100), primary_key=True),
    sa.Column("interval_start_us", sa.BigInteger, primary_key=True),
    sa.Column("interval_end_us", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running / done / failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("version_id", sa.String(32)),  # the action's reference, e.g. a dataset version
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
)

#: One row per alert evaluation (gantry_gradio/alerts): the rule's value over
#: the window ending at `window_end_us`, and the state it left the alert in.
#: The primary key makes an evaluation re-run after a crash find its result.
alert_evaluations = sa.Table(
    "gantry_alert_evaluations",
    metadata,
    sa.Column("alert", sa.String(100), primary_key=True),
    sa.Column("window_end_us", sa.BigInteger, primary_key=True),
    sa.Column("window_start_us", sa.BigInteger, nullable=False),
    sa.Column("value", sa.Float),  # None: the window had too few records
    sa.Column("records", sa.BigInteger, nullable=False),
    sa.Column("breached", sa.Boolean),  # None: too few records to decide
    sa.Column("state", sa.String(16), nullable=False),  # ok / firing
    sa.Column("streak", sa.Integer, nullable=False),  # verdicts in a row against the state
    sa.Column("transition", sa.String(16)),  # fired / resolved / None
    sa.Column("evaluated_at_us", sa.BigInteger, nullable=False),
)

#: The alert notification outbox: written in the transaction that stores the
#: evaluation whose state changed, so a notification exists exactly when its
#: transition does, and delivered (with retries) by any scheduler process.
alert_notifications = sa.Table(
    "gantry_alert_notifications",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),  # alert:window end:webhook index
    sa.Column("alert", sa.String(100), nullable=False),
    sa.Column("webhook", sa.Text, nullable=False),  # JSON: the Webhook (no secrets, env names)
    sa.Column("payload", sa.Text, nullable=False),  # JSON: what happened
    sa.Column("status", sa.String(16), nullable=False),  # pending / sent / failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("sent_at_us", sa.BigInteger),
)

#: The Parquet lake (gantry_gradio/lake): one row per exported partition (an
#: application's UTC day). Kept here rather than only in the lake's manifest
#: file so that a new export replaces an older one by compare-and-set in a
#: transaction, whatever other exporter runs at the same time.
lake_partitions = sa.Table(
    "gantry_lake_partitions",
    metadata,
    sa.Column("application_id", sa.Integer, primary_key=True),
    sa.Column("day_us", sa.BigInteger, primary_key=True),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("columns", sa.Text, nullable=False),  # JSON list of the file's columns
    sa.Column("change_seq", sa.BigInteger, nullable=False),  # changes the file holds
    sa.Column("exported_at_us", sa.BigInteger, nullable=False),
    # The file's SHA-256, checked before any reader trusts it (NULL: written
    # before hashes were kept; such a day is read from SQL and rebuilt).
    sa.Column("sha256", sa.String(64)),
)

#: Per application: every change up to `watermark` is in an exported
#: partition, except in the `pending` days (JSON list of day_us: days not yet
#: complete, or whose export failed), which readers serve from SQL.
#: Records deleted on request (a user's right to be forgotten): every tier
#: drops them (the SQL store at once, the lake's files and every process's
#: DuckDB copy by the change number), and an import never brings them back.
deletions = sa.Table(
    "gantry_deletions",
    metadata,
    sa.Column("application_id", sa.Integer, primary_key=True),
    sa.Column("join_key", sa.String(256), primary_key=True),
    sa.Column("change_seq", sa.BigInteger, nullable=False),
    sa.Column("deleted_at_us", sa.BigInteger, nullable=False),
    sa.Index("ix_gantry_deletions_change", "application_id", "change_seq"),
)

lake_state = sa.Table(
    "gantry_lake_state",
    metadata,
    sa.Column("application_id", sa.Integer, primary_key=True),
    sa.Column("watermark", sa.BigInteger, nullable=False),
    sa.Column("pending", sa.Text, nullable=False),
    # Recent days the SQL store keeps (NULL: all); older ones live in the lake only.
    sa.Column("retention_days", sa.Integer),
)

#: Review queues (gantry_gradio/review): which records a queue holds, in
#: the order reviewers meet them, fixed when the queue is made so progress
#: (done / total) means the same thing to every reviewer.
review_queues = sa.Table(
    "gantry_review_queues",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("application", sa.String(200), nullable=False),
    sa.Column("definition", sa.Text, nullable=False),  # JSON: source, labels_per_item, lease
    sa.Column("items", sa.Integer, nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

#: One row per queued record. `labels` counts the reviewers with a current
#: label; `done` is labels >= the queue's labels_per_item, kept as a column
#: so the next open item is one index seek however far the queue has got.
#: The lease (holder, until) gives an item to one reviewer at a time.
review_items = sa.Table(
    "gantry_review_items",
    metadata,
    sa.Column("queue", sa.String(100), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("join_key", sa.String(256), nullable=False),
    sa.Column("labels", sa.Integer, nullable=False, server_default="0"),
    sa.Column("done", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("lease_holder", sa.String(200)),
    sa.Column("lease_until_us", sa.BigInteger),
    sa.Index("ix_gantry_review_open", "queue", "done", "position"),
)

#: Every label and skip, never updated: a relabel is a newer row, so the
#: earlier label stays in the history; a reviewer's current label of an item
#: is their newest "label" row for it.
review_actions = sa.Table(
    "gantry_review_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("queue", sa.String(100), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("join_key", sa.String(256), nullable=False),
    sa.Column("reviewer", sa.String(200), nullable=False),
    sa.Column("action", sa.String(8), nullable=False),  # label / skip
    sa.Column("label", sa.Text),
    sa.Column("verdict", sa.String(16)),  # right / wrong / unsure
    sa.Column("comment", sa.Text),
    sa.Column("at_us", sa.BigInteger, nullable=False),
    sa.Index("ix_gantry_review_actions", "queue", "position", "reviewer"),
    sa.Index("ix_gantry_review_reviewer", "queue", "reviewer", "id"),
)

#: Evaluation runs (gantry_gradio/evaluation): what was compared on which
#: data, and the comparison tables as JSON; each row's outputs and scores
#: are records of the application `evaluation_application(application)`.
evaluation_runs = sa.Table(
    "gantry_evaluation_runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("application", sa.String(200)),  # the production app it is about, if any
    sa.Column("dataset", sa.String(200)),
    sa.Column("dataset_version", sa.String(32)),
    sa.Column("split", sa.String(16)),
    sa.Column("candidates", sa.Text, nullable=False),  # JSON list of names
    sa.Column("metrics", sa.Text, nullable=False),  # JSON list of names
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),  # JSON: the comparison tables
    sa.Column("created_at_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("created_by", sa.String(200), nullable=False),
)

#: SQL types of the four kinds of flattened value.
KIND_TYPES: dict[str, sa.types.TypeEngine] = {
    "boolean": sa.Boolean(create_constraint=False),
    "number": sa.Float(precision=53),
    "text": sa.Text(),
    "json": sa.Text(),
}

#: Columns every records table has; all else is a flattened field.
BASE_FIELDS = ("join_key", "timestamp", "version")
#: The stored columns a reader turns back into a record, besides field columns.
RECORD_COLUMNS = ("join_key", "timestamp_us", "hour_us", "version", "logged_at_us", "extra")


@dataclass(frozen=True)
class Field:
    path: str
    kind: str
    column: str


def records_table_name(application_id: int) -> str:
    return f"gantry_records_{application_id}"


def records_table(application_id: int, field_list: list[Field]) -> sa.Table:
    """A fresh Table object for one application, with its current field columns."""
    name = records_table_name(application_id)
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("join_key", sa.String(256), primary_key=True),
        sa.Column("timestamp_us", sa.BigInteger, nullable=False),
        # The hour the timestamp falls in: time series group by this indexed
        # column, which SQLite aggregates in index order without sorting.
        sa.Column("hour_us", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Text),
        sa.Column("logged_at_us", sa.BigInteger, nullable=False),
        sa.Column("extra", sa.Text),  # JSON of values whose kind clashed with their column
        # The application's change number of the transaction that last wrote
        # the row: what the lake export finds changed rows by (an index
        # range), instead of rescanning the store.
        sa.Column("change_seq", sa.BigInteger),
        *(sa.Column(f.column, KIND_TYPES[f.kind]) for f in field_list),
        sa.Index(f"ix_{name}_timestamp", "timestamp_us"),
        sa.Index(f"ix_{name}_change", "change_seq"),
    )
