"""The read contract on Spark, over the exported lake: for data past one machine.

Why no query of its own: every read is the SQL store's SQLAlchemy statement,
rendered in PostgreSQL's dialect and translated to Spark SQL by SQLGlot, its
text values then bound as parameters; Spark runs it on a temporary view named
like the SQL store's table, with the same columns. So the tab, curators and baselines get
the same numbers from Spark as from SQLite, PostgreSQL and DuckDB, from one
query definition.

What it reads is the lake as exported: completed days, as of the last export
pass. Today's records and changes not exported yet are not in it (the DuckDB
engine, `LakeRecordStore`, adds them from SQL; a cluster has no such tail).
The catalog, saved views and baselines still come from the SQL store."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..blobs import BlobStore
from ..store import schema
from ..store.query import CompiledSelection, SqlRecordStore
from ..store.schema import Field
from .layout import column_names, file_uri

_SPARK_TYPES = {"boolean": "BOOLEAN", "number": "DOUBLE", "text": "STRING", "json": "STRING"}
_HOUR_US = 3600 * 1_000_000


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class SparkRecordStore(SqlRecordStore):
    """`RecordStore` whose reads run on a SparkSession (local or a cluster,
    e.g. through Spark Connect) over the lake's files, as listed by the SQL
    store (never a stale file left in the folder). The SQL store names each
    file by its key in the blob store: `blobs` (default: the given store's,
    as a client's lake store has; else pass `blobs=client.blobs`) turns it
    into a URI, and `path_for` that URI into a path Spark opens (default: a
    file:// URI as a local path, s3://bucket/key as s3a://bucket/key)."""

    def __init__(
        self,
        sql: SqlRecordStore,
        spark: Any,
        *,
        blobs: BlobStore | None = None,
        path_for: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(sql.engine, sql.catalog, sql.views)
        self.spark = _own_session(spark)
        self.blobs = blobs or getattr(sql, "blobs", None)
        if self.blobs is None:
            raise TypeError(
                "SparkRecordStore needs the blob store the lake is in: pass a client's "
                "store (client.store) or blobs=client.blobs"
            )
        self.path_for = path_for or _spark_path
        self._views: dict[int, tuple] = {}

    def compile_selection(
        self, selection: Any, engine: sa.Engine | None = None
    ) -> CompiledSelection:
        compiled = super().compile_selection(selection, engine)
        app_id = self.catalog.application_id(selection.application)
        self._register(app_id, compiled.fields)
        return compiled

    def run_statement(self, compiled: CompiledSelection, stmt: sa.Select) -> tuple[list, list[str]]:
        import sqlglot
        from sqlglot import exp

        # Named paramstyle: a pyformat dialect would double every `%` of a value.
        dialect = postgresql.dialect(paramstyle="named")
        text = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        tree = sqlglot.parse_one(text, read="postgres")
        # Every text literal goes to Spark as a bound parameter, never as SQL
        # text: Spark reads backslash escapes in literals that PostgreSQL does not.
        args: dict[str, str] = {}
        for literal in list(tree.find_all(exp.Literal)):
            if literal.is_string:
                name = f"gantry_p{len(args)}"
                args[name] = literal.this
                literal.replace(exp.Placeholder(this=name))
        for data_type in tree.find_all(exp.DataType):
            data_type.set("expressions", [])  # FLOAT(53) is DOUBLE(53), which Spark refuses
        if self.engine.dialect.name == "sqlite":
            # NULLs sort as in the SQL store (SQLite: first ascending), so pages match
            for ordered in tree.find_all(exp.Ordered):
                ordered.set("nulls_first", not ordered.args.get("desc"))
        frame = self.spark.sql(tree.sql(dialect="spark"), args=args)
        return [tuple(row) for row in frame.collect()], list(frame.columns)

    def _register(self, app_id: int, fields: dict[str, Field]) -> None:
        """(Re)define the application's view when its files or fields changed."""
        t = schema.lake_partitions
        with self.engine.connect() as conn:
            parts = conn.execute(
                sa.select(t.c.uri, t.c.columns).where(t.c.application_id == app_id)
            ).all()
        key = (tuple(sorted(p.uri for p in parts)), tuple(fields))
        if self._views.get(app_id) == key:
            return
        names = column_names(fields)
        present = {c for p in parts for c in json.loads(p.columns)}
        columns = [
            f"{_quoted(names[f.column])} AS {f.column}"
            if names[f.column] in present
            else f"CAST(NULL AS {_SPARK_TYPES[f.kind]}) AS {f.column}"
            for f in fields.values()
        ]
        base = (
            "join_key, unix_micros(`timestamp`) AS timestamp_us, "
            f"unix_micros(`timestamp`) DIV {_HOUR_US} * {_HOUR_US} AS hour_us, version, "
            "unix_micros(logged_at) AS logged_at_us, extra"
        )
        view = schema.records_table_name(app_id)
        if parts:
            paths = [self.path_for(file_uri(self.blobs, p.uri)) for p in parts]
            source = self.spark.read.option("mergeSchema", "true").parquet(*paths)
            source.createOrReplaceTempView(f"{view}_files")
            select = f"SELECT {', '.join([base, *columns])} FROM {view}_files"
        else:  # nothing exported yet: an empty table of the right shape
            empty = ", ".join(
                f"CAST(NULL AS {_SPARK_TYPES[f.kind]}) AS {f.column}" for f in fields.values()
            )
            select = (
                "SELECT CAST(NULL AS STRING) AS join_key, CAST(NULL AS BIGINT) AS timestamp_us, "
                "CAST(NULL AS BIGINT) AS hour_us, CAST(NULL AS STRING) AS version, "
                "CAST(NULL AS BIGINT) AS logged_at_us, CAST(NULL AS STRING) AS extra"
                + (f", {empty}" if empty else "")
                + " WHERE false"
            )
        self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {view} AS {select}")
        self._views[app_id] = key


def _own_session(spark: Any) -> Any:
    """A session of our own on the caller's Spark (its temporary views and
    settings stay apart from the caller's), with variable substitution off:
    Spark otherwise replaces `${env:NAME}` in SQL text by the environment's
    value, and a logged field name or value could read a secret that way."""
    try:
        session = spark.newSession()
    except Exception:  # Spark Connect has no newSession: use the caller's
        session = spark
    session.conf.set("spark.sql.variable.substitute", "false")
    return session


def _spark_path(uri: str) -> str:
    if uri.startswith("s3://"):
        return "s3a://" + uri[len("s3://") :]
    return unquote(uri[len("file://") :]) if uri.startswith("file://") else uri
