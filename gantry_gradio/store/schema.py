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
    sa.Index("ix_gantry_feedback_key", "application_id", "join_key"),
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

#: SQL types of the four kinds of flattened value.
KIND_TYPES: dict[str, sa.types.TypeEngine] = {
    "boolean": sa.Boolean(create_constraint=False),
    "number": sa.Float(precision=53),
    "text": sa.Text(),
    "json": sa.Text(),
}

#: Columns every records table has; all else is a flattened field.
BASE_FIELDS = ("join_key", "timestamp", "version")


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
        *(sa.Column(f.column, KIND_TYPES[f.kind]) for f in field_list),
        sa.Index(f"ix_{name}_timestamp", "timestamp_us"),
    )
