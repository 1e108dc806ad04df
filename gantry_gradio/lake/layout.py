"""Where lake files live and what their columns are called.

`lake/app=<application>/day=YYYY-MM-DD/part-<change>-<random>.parquet`: the
Hive layout Spark, Trino, DuckDB, ClickHouse and pandas all read as-is, with
`app` and `day` as partition columns. The application name is escaped the way
Hive and Spark escape partition values (`%XX` for `/`, `=`, `%`, control and a
few other characters; the rest, non-ASCII included, as is), so no name can add
a path segment and every engine reads the name back unchanged.

Columns carry the field paths users know (`feedback.accepted`), not the SQL
store's generated `f17`, so the lake reads without the catalog. Engines that
fold case (DuckDB, Spark) would merge `tags.Env` with `tags.env`: the later
field of such a pair gets its field id appended (`tags.env#42`), decided from
the catalog alone, so every file of an application names a field alike."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from urllib.parse import unquote, urlsplit

import pandas as pd
import pyarrow as pa

from .._timestamps import MICROS
from ..blobs import BlobStore
from ..store.schema import Field

DAY_US = 86400 * MICROS
ROOT = "lake"


def day_start(us: int) -> int:
    """The UTC day (its first µs) holding `us`: how lake days are named."""
    return us - us % DAY_US


#: Arrow types of the four kinds of field.
ARROW_TYPES = {
    "boolean": pa.bool_(),
    "number": pa.float64(),
    "text": pa.string(),
    "json": pa.string(),
}
_TIME = pa.timestamp("us", tz="UTC")
#: Columns of every lake file before the fields.
BASE_SCHEMA = pa.schema(
    [
        ("join_key", pa.string()),
        ("timestamp", _TIME),
        ("version", pa.string()),
        ("logged_at", _TIME),
        ("extra", pa.string()),
    ]
)

#: Columns of the SQL records table before the fields, as Arrow types.
_RECORDS_TABLE_BASE = pa.schema(
    [
        ("join_key", pa.string()),
        ("timestamp_us", pa.int64()),
        ("hour_us", pa.int64()),
        ("version", pa.string()),
        ("logged_at_us", pa.int64()),
        ("extra", pa.string()),
    ]
)


def records_table_schema(fields: dict[str, Field]) -> pa.Schema:
    """The SQL records table's columns (`f17`, not field paths) as Arrow:
    the shape DuckDB copies of it are built with."""
    return pa.schema(
        [*_RECORDS_TABLE_BASE, *((f.column, ARROW_TYPES[f.kind]) for f in fields.values())]
    )


def day_name(day_us: int) -> str:
    return pd.Timestamp(day_us, unit="us", tz="UTC").strftime("%Y-%m-%d")


#: The characters Hive's and Spark's `escapePathName` escape.
_HIVE_ESCAPED = frozenset(chr(c) for c in range(0x20)) | frozenset("\"#%'*/:=?\\\x7f{[]^")


def hive_escape(value: str) -> str:
    return "".join(f"%{ord(ch):02X}" if ch in _HIVE_ESCAPED else ch for ch in value)


#: Folder names are at most 255 bytes on common file systems; `app=` and room
#: to spare leave this for the escaped name.
MAX_NAME_BYTES = 200


def application_prefix(application: str) -> str:
    """`lake/app=<escaped name>`, one folder per application everywhere.
    Two cases add a hash of the whole name (`app=<start>~<16 hex>`):
    - an escaped form too long for a folder keeps its first characters;
    - a name that a case-insensitive or normalising file system or S3
      service could confuse with another (`App` and `app`, `ß` and `SS`, the
      two forms of `é`): any name that is not its own case fold in NFC.
    The manifest in the folder holds the full name."""
    escaped = hive_escape(application)
    stable = unicodedata.normalize("NFC", application).casefold() == application
    if len(escaped.encode()) > MAX_NAME_BYTES or not stable:
        digest = hashlib.sha256(application.encode()).hexdigest()[:16]
        kept, size = [], 0
        for unit in map(hive_escape, application):  # never half of a %XX or a character
            size += len(unit.encode())
            if size > MAX_NAME_BYTES - len(digest) - 1:
                break
            kept.append(unit)
        escaped = f"{''.join(kept)}~{digest}"
    return f"{ROOT}/app={escaped}"


def partition_key(application: str, day_us: int, change: int) -> str:
    """A new name for every export: a file is never rewritten in place, so a
    reader (or a cached copy) never sees half of one."""
    part = f"part-{change}-{uuid.uuid4().hex[:8]}.parquet"
    return f"{application_prefix(application)}/day={day_name(day_us)}/{part}"


def file_key(reference: str) -> str | None:
    """The key, relative to the blob store's root, of a lake file the SQL
    store names: the reference itself (exports name files by key), or the
    `lake/app=...` part of an absolute URI (how stores written before named
    them); None when a URI holds no lake key."""
    if "://" not in reference:
        return reference
    path = unquote(urlsplit(reference).path)
    at = path.rfind(f"/{ROOT}/app=")
    return path[at + 1 :] if at >= 0 else None


def file_uri(blobs: BlobStore, reference: str) -> str:
    """The URI of that file in this blob store. Keys make a data folder that
    was copied or mounted elsewhere (or an S3 prefix copied to another
    bucket) read its own files, never the original's, old stores included."""
    key = file_key(reference)
    return reference if key is None else blobs.uri_for(key)


def manifest_key(application: str) -> str:
    return f"{application_prefix(application)}/_manifest.json"


def column_names(fields: dict[str, Field]) -> dict[str, str]:
    """Store column (`f17`) -> lake column name, for every field."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for field in sorted(fields.values(), key=lambda f: int(f.column[1:])):
        name = field.path
        if name.casefold() in taken:
            name = f"{field.path}#{field.column[1:]}"
        taken.add(name.casefold())
        names[field.column] = name
    return names


def lake_schema(fields: dict[str, Field]) -> pa.Schema:
    names = column_names(fields)
    extra = [(names[f.column], ARROW_TYPES[f.kind]) for f in fields.values()]
    return pa.schema([*BASE_SCHEMA, *extra])


def rows_to_arrow(rows: list[tuple], arrow_schema: pa.Schema) -> pa.Table:
    """Rows fetched from the SQL store as plain tuples (in the schema's column order) as an
    Arrow table: epoch microseconds become timestamps where the schema says
    so, and booleans come as SQLite's 0/1 or PostgreSQL's bools. The tuples
    go to Arrow as one struct array, converted in C++: a third of the time of
    transposing them in Python first."""
    try:
        raw = _struct_array(rows, arrow_schema, pa.int64())
    except pa.ArrowTypeError:  # the driver hands booleans as bools
        raw = _struct_array(rows, arrow_schema, pa.bool_())
    columns = zip(raw.flatten(), arrow_schema, strict=True)
    return pa.Table.from_arrays([c.cast(f.type) for c, f in columns], schema=arrow_schema)


def _struct_array(
    rows: list[tuple], arrow_schema: pa.Schema, booleans: pa.DataType
) -> pa.StructArray:
    def raw_type(target: pa.DataType) -> pa.DataType:
        if pa.types.is_boolean(target):
            return booleans
        return pa.int64() if pa.types.is_timestamp(target) else target

    return pa.array(rows, pa.struct([(f.name, raw_type(f.type)) for f in arrow_schema]))
