"""Bulk import of history straight into the lake: whole days as Parquet.

Why: a year of past predictions logged record by record through the SQL
store takes hours and leaves the SQL store holding what only the lake needs
to serve. `import_records` checks a table column by column, as log_records
does (names, kinds, join keys, time), and writes each day it covers as the
day's lake file, merged with the file the day has: the rows only the lake
holds stay, a record whose join key is stored already (in the day's file or
in the SQL store) or was deleted on request is skipped, so running an import
again adds nothing.

The columns are the dotted names `query` returns: `timestamp` (required),
`join_key` (else one is derived from the row's content, so the same row
always gets the same key), `version`, and `inputs.*`, `outputs.*`, `tags.*`,
`feedback.*`, `projections.*` of text, numbers or booleans. A day that has
records in the SQL store is refused: live days are the write path's; import
covers history."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from .._timestamps import FUTURE_TOLERANCE_US, now_us
from ..fields import MAX_COLUMNS_PER_RECORD_SECTION, MAX_EXACT_INT, is_field_name
from ..ingest.join_key import MAX_JOIN_KEY_LENGTH
from ..ingest.values import INLINE_TEXT_LIMIT
from ..store.changes import claim_change
from .export import LakeExporter, conform, lake_only_rows
from .layout import DAY_US, column_names, day_name, lake_schema
from .state import tombstoned

SECTIONS = ("inputs", "outputs", "tags", "feedback", "projections")
_BASE = ("timestamp", "join_key", "version")
_KEYS_PER_QUERY = 50_000


@dataclass
class ImportReport:
    """What one import did."""

    application: str
    imported: int = 0  # records written
    skipped: int = 0  # records whose join key was stored already
    days: list[str] = field(default_factory=list)
    seconds: float = 0.0


def import_records(
    exporter: LakeExporter, data: Any, application: str, *, version: str | int | None = None
) -> ImportReport:
    """Write `data` (a DataFrame, an Arrow table or a Parquet file's path)
    into the application's lake days. Raises ValueError or TypeError,
    naming the column, before anything is written."""
    started = time.perf_counter()
    table = _as_arrow(data)
    report = ImportReport(application)
    if len(table) == 0:
        return report
    stamps = _timestamps(table.column("timestamp") if "timestamp" in table.column_names else None)
    values = {name: _field_values(name, table.column(name)) for name in _field_names(table)}
    values = {name: column for name, column in values.items() if column.null_count < len(column)}
    keys = _join_keys(table, values, stamps)
    versions = _versions(table, version)
    records = pa.table(
        {"join_key": keys, "timestamp": stamps, "version": versions, **values}
    ).sort_by([("timestamp", "ascending"), ("join_key", "ascending")])

    catalog = exporter.catalog
    app_id = catalog.ensure_application(application)
    exporter.ensure_state(app_id)  # its row is the lock day files are committed under
    kinds = {name: _kind(column.type) for name, column in values.items()}
    _refuse_other_kinds(catalog.fields(app_id, refresh=True), kinds)
    micros = records.column("timestamp").cast(pa.int64())
    day_of = pc.multiply(pc.divide(micros, DAY_US), DAY_US)  # integer division: times >= 0
    days = sorted(pc.unique(day_of).to_pylist())
    _refuse_live_days(exporter, app_id, days)
    fields = catalog.ensure_fields(app_id, kinds)
    _refuse_past_budget(fields, kinds)
    stored = _stored_in_sql(exporter, app_id, records.column("join_key"))
    stored += tombstoned(exporter.engine, app_id)  # deleted on request: never again
    skip = pa.array(stored, pa.string())
    with exporter.engine.begin() as conn:
        change = claim_change(conn, app_id)
    by_path = {f.path: f for f in fields.values()}
    names = column_names(fields)
    renamed = {path: names[by_path[path].column] for path in values}
    superseded: list[str] = []
    for day in days:
        rows = records.filter(pc.equal(day_of, day))
        if stored:
            rows = rows.filter(pc.invert(pc.is_in(rows.column("join_key"), skip)))
        written, replaced = _import_day(exporter, application, app_id, day, change, rows, renamed)
        report.imported += written
        superseded += replaced
        if written:
            report.days.append(day_name(day))
    report.skipped = len(records) - report.imported
    exporter.publish(application, app_id, superseded)
    report.seconds = time.perf_counter() - started
    return report


def _import_day(
    exporter: LakeExporter,
    application: str,
    app_id: int,
    day: int,
    change: int,
    rows: pa.Table,
    renamed: dict[str, str],
) -> tuple[int, list[str]]:
    """Merge the rows into the day's file; (rows written, files superseded)."""
    logged_at = pa.array([now_us()] * len(rows), pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    for _attempt in range(5):
        fields = exporter.catalog.fields(app_id, refresh=True)
        arrow_schema = lake_schema(fields)
        based_on, holds = exporter.current_file(app_id, day)
        try:
            existing = (
                lake_only_rows(exporter.blobs, based_on, [], arrow_schema)
                if based_on is not None
                else arrow_schema.empty_table()
            )
        except Exception:
            if exporter.current_file(app_id, day) != (based_on, holds):
                continue  # an export replaced (and deleted) the file we read
            raise
        there = existing.column("join_key").combine_chunks()
        new = rows.filter(pc.invert(pc.is_in(rows.column("join_key"), there)))
        if len(new) == 0:
            return 0, []
        incoming = pa.table(
            {
                "join_key": new.column("join_key"),
                "timestamp": new.column("timestamp"),
                "version": new.column("version"),
                "logged_at": logged_at[: len(new)],
                **{renamed[path]: new.column(path) for path in renamed},
            }
        )
        merged = pa.concat_tables([existing, conform(incoming, arrow_schema)])
        with tempfile.TemporaryDirectory(prefix="gantry-import-") as tmp:
            path = Path(tmp) / "part.parquet"
            pq.write_table(merged, path, compression="zstd", row_group_size=200_000)
            written = exporter.put_day(
                application, day, change, path, len(merged), arrow_schema.names
            )
        replaced = exporter.commit_day(app_id, day, change, written, based_on)
        if replaced is not None:
            return len(new), replaced
    raise RuntimeError(f"the lake file of {day_name(day)} kept changing during the import")


# -- the checks, column by column ------------------------------------------------


def _as_arrow(data: Any) -> pa.Table:
    if isinstance(data, (str, Path)):
        return pq.read_table(data)
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        return data
    raise TypeError(
        f"import_records takes a DataFrame, an Arrow table or a Parquet path, "
        f"not {type(data).__name__}"
    )


def _field_names(table: pa.Table) -> list[str]:
    if len(set(table.column_names)) != len(table.column_names):
        raise ValueError("two columns have one name")
    names = [name for name in table.column_names if name not in _BASE]
    per_section: dict[str, int] = {}
    for name in names:
        section = name.split(".", 1)[0]
        if section not in SECTIONS or "." not in name or not is_field_name(name):
            raise ValueError(
                f"column {name[:80]!r} is not timestamp, join_key, version or a field "
                "named inputs.*, outputs.*, tags.*, feedback.* or projections.*"
            )
        per_section[section] = per_section.get(section, 0) + 1
        if per_section[section] > MAX_COLUMNS_PER_RECORD_SECTION:
            raise ValueError(
                f"more than {MAX_COLUMNS_PER_RECORD_SECTION} {section} columns; "
                "log records that wide with log_records"
            )
    return names


def _timestamps(column: pa.ChunkedArray | None) -> pa.ChunkedArray:
    if column is None:
        raise ValueError("import_records needs a 'timestamp' column")
    if pa.types.is_timestamp(column.type):
        zone = column.type.tz
        utc = column if zone else column.cast(pa.timestamp(column.type.unit, tz="UTC"))
        stamps = utc.cast(pa.timestamp("us", tz="UTC"))
    elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        micros = pc.round(pc.multiply(column.cast(pa.float64()), 1_000_000))
        stamps = micros.cast(pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            parsed = pd.to_datetime(column.to_pandas(), utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"column 'timestamp' holds a non-date/time: {exc}") from None
        stamps = pa.chunked_array([pa.array(parsed, pa.timestamp("us", tz="UTC"))])
    else:
        raise TypeError(f"column 'timestamp' is {column.type}; give datetimes or epoch seconds")
    if stamps.null_count:
        raise ValueError("column 'timestamp' has missing values")
    micros = stamps.cast(pa.int64())
    if pc.min(micros).as_py() < 0:
        raise ValueError("column 'timestamp' has a time before 1970-01-01")
    if pc.max(micros).as_py() > now_us() + FUTURE_TOLERANCE_US:
        raise ValueError("column 'timestamp' has a time in the future; import what happened")
    return stamps


def _field_values(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_boolean(kind) or pa.types.is_null(kind):
        return column
    if pa.types.is_integer(kind):
        if column.null_count < len(column):
            largest = pc.max(pc.abs(column)).as_py()
            if largest > MAX_EXACT_INT:
                raise ValueError(
                    f"column {name!r} has an integer beyond 2**53, which a number field "
                    "cannot hold exactly; import it as text"
                )
        return column.cast(pa.float64())
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        as_float = column.cast(pa.float64())
        finite = pc.is_finite(as_float)
        return pc.if_else(finite, as_float, pa.scalar(None, pa.float64()))  # NaN/inf: missing
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = column.cast(pa.large_string())
        if text.null_count < len(text) and pc.max(pc.utf8_length(text)).as_py() > INLINE_TEXT_LIMIT:
            raise ValueError(
                f"column {name!r} has a text over {INLINE_TEXT_LIMIT:,} characters; log such "
                "values with log_record, which stores them as files"
            )
        text = pc.replace_substring(text, "\x00", "\ufffd")  # as logging stores NUL
        return text.cast(pa.string())
    raise TypeError(
        f"column {name!r} is {kind}; import takes text, numbers and booleans "
        "(log other values with log_records)"
    )


def _kind(arrow_type: pa.DataType) -> str:
    """The field kind of a checked column (see `_field_values`)."""
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    return "text" if pa.types.is_string(arrow_type) else "number"


def _refuse_other_kinds(fields: dict, kinds: dict[str, str]) -> None:
    for known in fields.values():
        kind = kinds.get(known.path)
        if kind is not None and kind != known.kind:
            raise ValueError(
                f"field {known.path!r} is stored as {known.kind}; this import has {kind}"
            )


def _refuse_past_budget(fields: dict, kinds: dict[str, str]) -> None:
    granted = {f.path for f in fields.values()}
    for path in kinds:
        if path not in granted:
            raise ValueError(f"field {path!r} is past its section's column budget")


def _join_keys(table: pa.Table, values: dict, stamps: pa.ChunkedArray) -> pa.ChunkedArray:
    """The given keys, checked; or one per row from its content (time and
    values), so importing the same rows again gives the same keys."""
    if "join_key" in table.column_names:
        keys = table.column("join_key")
        if not (pa.types.is_string(keys.type) or pa.types.is_large_string(keys.type)):
            raise TypeError(f"column 'join_key' is {keys.type}; join keys are text")
        keys = keys.cast(pa.string())
        lengths = pc.utf8_length(keys)
        if keys.null_count or pc.min(lengths).as_py() < 1:
            raise ValueError("column 'join_key' has missing or empty keys")
        if pc.max(lengths).as_py() > MAX_JOIN_KEY_LENGTH:
            raise ValueError(f"column 'join_key' has a key over {MAX_JOIN_KEY_LENGTH} characters")
        if pc.any(pc.match_substring(keys, "\x00")).as_py():
            raise ValueError("column 'join_key' has a key with a NUL character")
        if pc.count_distinct(keys).as_py() != len(keys):
            raise ValueError("column 'join_key' has a key twice")
        return keys
    frame = pd.DataFrame({"timestamp": stamps.cast(pa.int64()).to_numpy()})
    for name, column in values.items():
        frame[name] = column.to_pandas()
    low = pd.util.hash_pandas_object(frame, index=False, hash_key="gantry-import-01").to_numpy()
    high = pd.util.hash_pandas_object(frame, index=False, hash_key="gantry-import-02").to_numpy()
    return pa.chunked_array(
        [pa.array([f"imp-{a:016x}{b:016x}" for a, b in zip(high, low, strict=True)])]
    )


def _versions(table: pa.Table, version: str | int | None) -> pa.ChunkedArray:
    """The `version` column, else the argument for every record (as logging
    stores versions: text, 1 to 10,000 characters, no NUL)."""
    if "version" in table.column_names:
        column = table.column("version")
        text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if not (text or pa.types.is_integer(column.type)):
            raise TypeError(f"column 'version' is {column.type}; versions are text or integers")
        versions = column.cast(pa.string())
    else:
        if version is not None and not isinstance(version, (str, int)):
            raise TypeError(f"version must be a str or int, not {type(version).__name__}")
        given = None if version is None else str(version)
        versions = pa.chunked_array([pa.array([given] * len(table), pa.string())])
    if versions.null_count < len(versions):
        lengths = pc.utf8_length(versions)
        if pc.min(lengths).as_py() < 1 or pc.max(lengths).as_py() > 10_000:
            raise ValueError("a version is empty or longer than 10,000 characters")
        if pc.any(pc.match_substring(versions, "\x00")).as_py():
            raise ValueError("a version holds a NUL character")
    return versions


def _refuse_live_days(exporter: LakeExporter, app_id: int, days: list[int]) -> None:
    table = exporter.catalog.table(app_id)
    with exporter.engine.connect() as conn:
        for day in days:
            live = conn.scalar(
                sa.select(table.c.join_key)
                .where(table.c.hour_us >= day, table.c.hour_us < day + DAY_US)
                .limit(1)
            )
            if live is not None:
                raise ValueError(
                    f"{day_name(day)} has records in the SQL store; import covers days "
                    "without live records"
                )


def _stored_in_sql(exporter: LakeExporter, app_id: int, keys: pa.ChunkedArray) -> list[str]:
    """The keys the SQL store holds (on other days: a record is stored once)."""
    table = exporter.catalog.table(app_id)
    with exporter.engine.connect() as conn:
        count = conn.scalar(sa.select(sa.func.count()).select_from(table))
        if not count:
            return []
        if count <= len(keys):
            in_sql = pa.array(list(conn.scalars(sa.select(table.c.join_key))), pa.string())
            return pc.filter(keys, pc.is_in(keys, in_sql)).to_pylist()
        found: list[str] = []
        listed = keys.to_pylist()
        for at in range(0, len(listed), _KEYS_PER_QUERY):
            chunk = listed[at : at + _KEYS_PER_QUERY]
            found += conn.scalars(sa.select(table.c.join_key).where(table.c.join_key.in_(chunk)))
        return found
