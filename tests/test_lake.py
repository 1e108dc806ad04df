"""The Parquet lake (gantry_gradio/lake): a lake-backed client answers every
read exactly as the SQL store does on the same rows, whether a day comes from
an exported Parquet file, from the mirrored SQL tail (today, days changed
since their export), or from SQL again because its file went missing or bad;
on a local folder and on S3, with two exporters racing, and for application
names that try to escape their folder. Everything runs through real parts:
SQLite/PostgreSQL, DuckDB, Parquet files, moto's S3 server over HTTP."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import unicodedata
import uuid
from pathlib import Path
from urllib.parse import unquote

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gantry_gradio import BlobStoreError, Client
from gantry_gradio.lake import LakeRecordStore
from gantry_gradio.lake.layout import application_prefix, file_uri
from gantry_gradio.store import FilterError, Selection, SqlRecordStore
from gantry_gradio.store.schema import lake_partitions

APRIL = pd.Timestamp("2022-04-01", tz="UTC")
DAYS = 6
NUM, TXT, FLAG, OK = "tags.num", "tags.txt", "tags.flag", "feedback.ok"
SCORE, LABEL, LISTED = "outputs.score", "outputs.label", "outputs.list"
#: `tags.Txt` folds onto `tags.txt` (the later one is `...#<id>` in the lake), `tags.mixed`
#: holds numbers and texts (the later kind goes to `extra`), `tags.q"é` needs
#: quoting in DuckDB, `tags.late` appears only from some day on and
#: `feedback.note` / `outputs.new` only after the first export.
FIELDS = (
    NUM,
    TXT,
    FLAG,
    OK,
    SCORE,
    LABEL,
    LISTED,
    "tags.Txt",
    "tags.mixed",
    'tags.q"é',
    "tags.late",
    "feedback.note",
    "outputs.new",
)
FILTERS = (
    ["tags.num < 10"],
    [(TXT, "==", "a")],
    [(TXT, "contains", "a")],
    [(FLAG, "==", True)],
    [(NUM, "is null")],
    [(TXT, "in", ["a", "A", ""])],
    [(OK, "!=", False), (SCORE, ">=", 0)],
    [(LISTED, "contains", "a")],
    [("timestamp", "<", "2022-04-03T12:00:00Z")],
    [("tags.late", "is not null"), ("feedback.note", "is null")],
)
WINDOW = ("2022-04-02T06:30:00Z", "2022-04-04T18:00:00Z")
WEIRD_APP = "../a/b%2F..=c ü😀 'x' #*?[]{:\\\n"


# -- clients and comparisons ---------------------------------------------------


def _lake_client(
    store_url: str | None, root: Path, blobs: str | Path | None = None, **kw
) -> Client:
    """A lake-backed client whose reads see every change at once (on a SQLite
    file under `root` when `store_url` is None). Its background export pass
    waits an hour, so the tests decide when exports happen."""
    client = Client(
        store_url or f"sqlite:///{root / 'records.db'}",
        blobs=blobs or root / "blobs",
        spool_dir=root / "spool",
        analytics="lake",
        lake_export_seconds=3600,
        **kw,
    )
    assert isinstance(client.store, LakeRecordStore)
    client.store.sync_seconds = 0
    return client


def _s3_lake_client(root: Path, s3_server, bucket: str) -> Client:
    """A lake-backed client whose blobs (and lake) are in `bucket` on moto."""
    return _lake_client(
        f"sqlite:///{root}/records.db",
        root,
        blobs=f"s3://{bucket}/prefix",
        s3_endpoint_url=s3_server.endpoint_url,
    )


def _sql(client: Client) -> SqlRecordStore:
    return SqlRecordStore(client.engine, client.catalog, client.views)


def _engine_name(store: SqlRecordStore, application: str) -> str:
    """Where a read of the application runs: duckdb when the lake serves it."""
    return store.compile_selection(Selection(application)).engine.dialect.name


def _outcome(read, store):
    try:
        return read(store)
    except FilterError as exc:  # e.g. a field only some data sets have
        return ("FilterError", str(exc))


def _assert_same(what: str, lake, sql) -> None:
    if isinstance(sql, pd.DataFrame):
        assert isinstance(lake, pd.DataFrame), what
        pd.testing.assert_frame_equal(lake, sql, check_exact=False, rtol=1e-9, atol=0, obj=what)
    else:
        assert lake == sql, what


SMALL, MEDIUM, FULL = 0, 1, 2


def _reads(selection: Selection, level: int) -> dict:
    """The reads of the contract with the variants a dashboard uses: a few
    (SMALL), the main ones (MEDIUM) or every one (FULL)."""
    reads = {
        "summary": lambda s: s.summary(selection, [*FIELDS, "tags.nope"]),
        "rows": lambda s: s.rows(selection),
        "value_counts text by day": lambda s: s.value_counts(selection, TXT, "day"),
    }
    if level >= MEDIUM:
        reads |= {
            "histogram split": lambda s: s.histogram(selection, NUM, 6, split_by=TXT),
            "percent_true day": lambda s: s.percent_true(selection, OK, "day"),
            "keys": lambda s: s.keys(selection, SCORE),
            "mean_over_time day": lambda s: s.mean_over_time(selection, SCORE, "day"),
            "value_range": lambda s: s.value_range(selection, SCORE),
            "rows by number": lambda s: s.rows(selection, order_by=NUM, limit=7, offset=1),
        }
    if level >= FULL:
        reads |= {
            "percent_true hour": lambda s: s.percent_true(selection, OK, "hour"),
            "percent_true week": lambda s: s.percent_true(selection, FLAG, "week"),
            "value_counts text": lambda s: s.value_counts(selection, TXT, None),
            "value_counts bool by week": lambda s: s.value_counts(selection, FLAG, "week"),
            "value_counts number": lambda s: s.value_counts(selection, NUM, None),
            "value_counts text by hour": lambda s: s.value_counts(selection, "tags.Txt", "hour"),
            "value_counts mixed": lambda s: s.value_counts(selection, "tags.mixed", None),
            "mean_over_time hour": lambda s: s.mean_over_time(selection, NUM, "hour"),
            "mean_over_time week": lambda s: s.mean_over_time(selection, "tags.late", "week"),
            "value_range num": lambda s: s.value_range(selection, NUM),
            "histogram": lambda s: s.histogram(selection, SCORE, 7),
            "histogram range": lambda s: s.histogram(selection, NUM, 5, value_range=(-10, 10)),
            "histogram split bool": lambda s: s.histogram(
                selection, NUM, 4, value_range=(0.0, 30.0), split_by=FLAG
            ),
            "rows fields": lambda s: s.rows(
                selection, fields=[NUM, 'tags.q"é', "tags.mixed", "feedback.note", "tags.nope"]
            ),
            "rows page": lambda s: s.rows(selection, limit=4, offset=3),
            "rows newest": lambda s: s.rows(selection, newest_first=True, limit=5),
            "rows by text desc": lambda s: s.rows(
                selection, order_by=TXT, ascending=False, limit=6
            ),
            "rows by bool": lambda s: s.rows(selection, order_by=FLAG, newest_first=True),
            "rows by late": lambda s: s.rows(selection, order_by="tags.late", ascending=False),
            "keys plain": lambda s: s.keys(selection),
            "keys text": lambda s: s.keys(selection, "tags.Txt"),
        }
    return reads


def _selections(
    application: str, view: str | None, depth: int, around: int
) -> list[tuple[Selection, int]]:
    """The whole application with reads of `depth`; a window and the saved
    view with reads of `around`; with MEDIUM or more, each of FILTERS too."""
    chosen = [(Selection(application), depth), (Selection(application, *WINDOW), around)]
    if view is not None:
        chosen.append((Selection(application, view=view), around))
        chosen.append((Selection(application, view=view, filters=[(FLAG, "==", False)]), SMALL))
    if depth > SMALL:
        chosen += [(Selection(application, filters=f), SMALL) for f in FILTERS]
    return chosen


def _assert_reads_equal(
    client: Client,
    application: str,
    view: str | None = None,
    depth: int = FULL,
    around: int = MEDIUM,
) -> int:
    """Reads through `client.store` (the lake) equal the SQL store's.
    Returns how many reads were compared."""
    lake, sql = client.store, _sql(client)
    assert lake.fields(application) == sql.fields(application)
    return _assert_stores_agree(lake, sql, application, view, depth, around)


def _assert_stores_agree(
    store,
    reference,
    application: str,
    view: str | None = None,
    depth: int = FULL,
    around: int = MEDIUM,
) -> int:
    """Every read of `_selections` answers alike on both stores. Returns how
    many reads were compared."""
    compared = 0
    for selection, level in _selections(application, view, depth, min(around, depth)):
        for name, read in _reads(selection, level).items():
            what = f"{name} of {selection}"
            _assert_same(what, _outcome(read, store), _outcome(read, reference))
            compared += 1
    return compared


def _log(client: Client, application: str, records: list[dict]) -> list[str]:
    keys = client.log_records(
        application,
        inputs=[{"i": i} for i in range(len(records))],
        outputs=[r["outputs"] for r in records],
        feedbacks=[r["feedback"] for r in records],
        tags=[r["tags"] for r in records],
        timestamps=[r["timestamp"] for r in records],
    )
    assert client.flush(60)
    return keys


def _partitions(client: Client, application: str) -> dict[str, str]:
    """Exported day (YYYY-MM-DD) -> its file's URI."""
    app_id = client.catalog.application_id(application)
    t = lake_partitions
    with client.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.day_us, t.c.uri).where(t.c.application_id == app_id))
        return {
            pd.Timestamp(day, unit="us").strftime("%Y-%m-%d"): file_uri(client.blobs, ref)
            for day, ref in rows
        }


def _app_segment(application: str) -> str:
    """The one folder name an application's files live under: `app=` and
    the name escaped (Hive style), which decodes back to the name."""
    root, segment = application_prefix(application).split("/")
    assert root == "lake" and segment.startswith("app=")
    name = segment.removeprefix("app=")
    if unicodedata.normalize("NFC", application).casefold() != application:
        name, digest = name.rsplit("~", 1)  # a name a folding file system could confuse
        assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert unquote(name) == application
    return segment


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=6, unique=True))
def test_no_two_applications_share_a_folder_when_case_or_unicode_folds(names):
    """`App`/`app`, `ß`/`SS`, the two forms of `é`: one folder each, even on
    a file system or S3 service that folds case or normalises Unicode."""
    names = [n for n in names if "\x00" not in n]
    folded = {unicodedata.normalize("NFC", application_prefix(n)).casefold() for n in names}
    assert len(folded) == len(names)


@pytest.mark.parametrize("names", [["App", "app", "APP"], ["ß", "SS", "ss"], ["\u00e9", "e\u0301"]])
def test_names_that_fold_together_get_their_own_folders(names):
    folded = {unicodedata.normalize("NFD", application_prefix(n)).upper() for n in names}
    assert len(folded) == len(names)


def _local_path(uri: str) -> Path:
    assert uri.startswith("file://"), uri
    return Path(unquote(uri[len("file://") :]))


def _fixed_records(days: range, per_day: int, *, late_from: int = 3) -> list[dict]:
    """A known data set: every kind of field, gaps, a kind clash, a field
    that starts on day `late_from`."""
    records = []
    for day in days:
        for i in range(per_day):
            n = day * per_day + i
            tags = {"num": (n * 7) % 23 - 5, "txt": ["a", "A", "ba", ""][n % 4], "flag": n % 3 == 0}
            if n % 5 == 0:
                del tags["num"]
            if n % 6 == 1:
                tags["Txt"] = "fold"
            tags["mixed"] = n if n % 4 else f"t{n}"
            if day >= late_from:
                tags["late"] = n / 4
            outputs = {"score": n * 1.37 - 10, "label": f"l{n % 3}", "list": [n % 2, "a"]}
            feedback = {"ok": n % 4 != 1} if n % 7 else {}
            stamp = APRIL + pd.Timedelta(days=day, minutes=37 * i + 5)
            records.append(
                {"tags": tags, "outputs": outputs, "feedback": feedback, "timestamp": stamp}
            )
    return records


# -- the property: lake reads == SQL reads -------------------------------------

_TEXTS = st.sampled_from(["", "a", "A", "ab", "b a", "é", "ü😀", "x'y", 'q"q', "Zz"])
_NUMBERS = st.one_of(st.integers(-40, 40), st.integers(-160, 160).map(lambda n: n / 4))
_FLOATS = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def _record(draw, day: int, late_day: int, late: bool = False) -> dict:
    optional_tags = {
        "num": _NUMBERS,
        "txt": _TEXTS,
        "flag": st.booleans(),
        "Txt": _TEXTS,
        "mixed": st.one_of(_NUMBERS, _TEXTS),
        'q"é': st.booleans(),
    }
    if day >= late_day:
        optional_tags["late"] = _NUMBERS
    optional_outputs = {
        "score": _FLOATS,
        "label": _TEXTS,
        "list": st.lists(st.one_of(st.integers(0, 3), _TEXTS), max_size=2),
    }
    if late:
        optional_outputs["new"] = _TEXTS
    minute = draw(st.integers(0, 24 * 60 - 1))
    return {
        "tags": draw(st.fixed_dictionaries({}, optional=optional_tags)),
        "outputs": draw(st.fixed_dictionaries({}, optional=optional_outputs)),
        "feedback": draw(st.fixed_dictionaries({}, optional={"ok": st.booleans()})),
        "timestamp": APRIL + pd.Timedelta(days=day, minutes=minute),
    }


def _complete(record: dict) -> dict:
    """The first record has every base field, so filters on them compile."""
    record["tags"] = {"num": 1, "txt": "a", "flag": True, "Txt": "A", **record["tags"]}
    record["outputs"] = {"score": 0.5, "list": ["a"], **record["outputs"]}
    record["feedback"] = {"ok": False, **record["feedback"]}
    return record


@st.composite
def _histories(draw) -> dict:
    """Records over April days (some days empty), maybe some of today, then
    what arrives after the first export: late feedback (a new field among
    it) and late predictions for past days; and whether a second export runs."""
    late_day = draw(st.integers(1, DAYS - 1))
    days = draw(st.lists(st.integers(0, DAYS - 1), min_size=2, max_size=DAYS, unique=True))
    records = []
    for day in sorted(days):
        count = draw(st.integers(1, 6))
        records += [draw(_record(day, late_day)) for _ in range(count)]
    records[0] = _complete(records[0])
    today = draw(st.integers(0, 2))
    late_feedback = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(records) + today - 1),
                st.fixed_dictionaries(
                    {"ok": st.booleans()}, optional={"note": _TEXTS, "score": _FLOATS}
                ),
            ),
            max_size=4,
        )
    )
    late_days = draw(st.lists(st.integers(0, DAYS - 1), max_size=3))
    late_records = [draw(_record(day, late_day, late=True)) for day in late_days]
    return {
        "records": records,
        "today": [draw(_record(0, late_day)) for _ in range(today)],
        "late_feedback": late_feedback,
        "late_records": late_records,
        "second_export": draw(st.booleans()),
        "view_filters": draw(st.sampled_from(FILTERS[:6])),
    }


@pytest.fixture
def lake_client(store_url, tmp_path):
    client = _lake_client(store_url, tmp_path)
    yield client
    client.close()


_PROPERTY = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.slow
@settings(_PROPERTY, max_examples=15)
@given(history=_histories())
def test_every_lake_read_equals_the_sql_store(tmp_path, history):
    """Random stores on SQLite (a new one each): lake reads equal SQL reads
    after the first export (some days changed since), and after a second
    one when drawn."""
    root = tmp_path / uuid.uuid4().hex
    client = _lake_client(f"sqlite:///{root}.db", root)
    try:
        _check_history(client, history)
    finally:
        client.close()


@pytest.fixture(scope="module")
def postgres_lake_client(postgres, tmp_path_factory):
    """One lake client on PostgreSQL for every example (each its own application)."""
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    client = _lake_client(url, tmp_path_factory.mktemp("pg-lake"))
    yield client
    client.close()


@settings(_PROPERTY, max_examples=5)
@given(history=_histories())
def test_every_lake_read_equals_the_sql_store_on_postgresql(postgres_lake_client, history):
    """The same property on PostgreSQL (fewer examples: each costs more)."""
    _check_history(postgres_lake_client, history)


def _check_history(client: Client, history: dict) -> None:
    app = f"prop-{uuid.uuid4().hex[:8]}"
    records = history["records"]
    keys = _log(client, app, records)
    now = pd.Timestamp.now(tz="UTC")
    for record in history["today"]:  # today: not complete, served from SQL
        record["timestamp"] = now - pd.Timedelta(seconds=1)
    if history["today"]:
        keys += _log(client, app, history["today"])
    report = client.export_lake(app)[0]
    assert not report.failed
    exported = {r["timestamp"].strftime("%Y-%m-%d") for r in records}
    assert exported <= set(report.days)
    assert exported <= set(_partitions(client, app))
    assert _engine_name(client.store, app) == "duckdb"
    _assert_reads_equal(client, app, depth=SMALL)

    changed = set()
    for index, feedback in history["late_feedback"]:
        client.log_record(app, feedback=feedback, join_key=keys[index])
        if index < len(records):
            changed.add(records[index]["timestamp"].strftime("%Y-%m-%d"))
    if history["late_records"]:
        _log(client, app, history["late_records"])
        changed |= {r["timestamp"].strftime("%Y-%m-%d") for r in history["late_records"]}
    assert client.flush(60)
    if history["second_export"]:
        assert not client.export_lake(app)[0].failed
        changed = set()
    client.create_view(app, "saved", "2022-04-02", None, history["view_filters"])
    _assert_reads_equal(client, app, view="saved", depth=FULL, around=SMALL)
    engine = _engine_name(client.store, app)
    event(f"read on {engine}, {len(exported - changed)} of {len(exported)} days clean")
    if exported - changed:
        # Some exported day has not changed since: the lake serves it.
        assert engine == "duckdb"
    else:  # every exported day changed since its export: all of it from SQL
        assert engine == client.engine.dialect.name
    assert client.store.notes(app) == []


@pytest.mark.slow
def test_lake_reads_equal_sql_on_both_stores(lake_client):
    """A fixed history on SQLite and PostgreSQL: before any export (SQL),
    after it (lake), after late feedback and late predictions changed two
    exported days (lake + tail), after a second export."""
    client, app = lake_client, "fixed"
    records = _fixed_records(range(5), 9)
    keys = _log(client, app, records[:27])  # days 0-2, without `tags.late`
    client.create_view(app, "young", "2022-04-02", "2022-04-05", ["tags.num < 10"])
    assert _engine_name(client.store, app) == client.engine.dialect.name
    _assert_reads_equal(client, app, view="young", depth=SMALL)

    assert client.export_lake(app)[0].days == ["2022-04-01", "2022-04-02", "2022-04-03"]
    keys += _log(client, app, records[27:])  # days 3-4 reach the tail, new field
    assert _engine_name(client.store, app) == "duckdb"
    compared = _assert_reads_equal(client, app, view="young")
    assert compared >= 80

    client.log_record(app, feedback={"ok": True, "note": "late"}, join_key=keys[3])
    client.log_record(app, feedback={"ok": False}, join_key=keys[12])
    client.log_records(
        app,
        outputs=[{"score": 99.5, "new": "x"}],
        tags=[{"num": 4, "txt": "a", "flag": True}],
        timestamps=[APRIL + pd.Timedelta(days=1, hours=23, minutes=59)],
    )
    assert client.flush(60)
    assert _engine_name(client.store, app) == "duckdb"  # April 3 is still the lake's
    _assert_reads_equal(client, app, view="young")

    report = client.export_lake(app)[0]
    assert report.days == ["2022-04-01", "2022-04-02", "2022-04-04", "2022-04-05"]
    assert report.rows == 37
    _assert_reads_equal(client, app, view="young", depth=MEDIUM)
    assert client.export_lake(app)[0].days == []  # nothing changed: nothing rewritten
    assert client.store.notes(app) == []


# -- damaged partitions ----------------------------------------------------------


def _damage(client: Client, app: str) -> dict[str, str]:
    """Delete day 1's file, truncate day 2's, replace day 3's with day 4's
    (a valid Parquet file of another row count). Returns day -> why."""
    parts = _partitions(client, app)
    _local_path(parts["2022-04-01"]).unlink()
    second = _local_path(parts["2022-04-02"])
    second.write_bytes(second.read_bytes()[: second.stat().st_size // 2])
    third, fourth = _local_path(parts["2022-04-03"]), _local_path(parts["2022-04-04"])
    assert pq.read_metadata(third).num_rows != pq.read_metadata(fourth).num_rows
    shutil.copyfile(fourth, third)
    return {"2022-04-01": "file missing", "2022-04-02": "truncated", "2022-04-03": "replaced"}


def _wait_rebuilt(
    client: Client,
    app: str,
    old: dict[str, str],
    days: list[str],
    store: LakeRecordStore | None = None,
) -> None:
    """Poll (reading, which picks up a finished rebuild) until the damaged
    days have new files and the notes of `store` (the client's) are gone."""
    store = store or client.store
    deadline = time.monotonic() + 10
    while True:
        store.summary(Selection(app), [NUM])
        parts = _partitions(client, app)
        if all(parts[d] != old[d] for d in days) and store.notes(app) == []:
            return
        assert time.monotonic() < deadline, (parts, store.notes(app))
        time.sleep(0.05)


@pytest.mark.slow
def test_damaged_files_are_read_from_sql_named_in_notes_and_rebuilt(tmp_path):
    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        app = "damaged"
        records = _fixed_records(range(4), 8 - 1, late_from=2)
        records += _fixed_records(range(3, 4), 3)  # day 4 has 10 rows, the others 7
        _log(client, app, records)
        client.export_lake(app)
        before = _partitions(client, app)
        damaged = _damage(client, app)

        # A reader without an exporter: served from SQL, nothing rebuilt.
        sql = _sql(client)
        plain = LakeRecordStore(sql, client.blobs, tmp_path / "cache", sync_seconds=0)
        assert _engine_name(plain, app) == "duckdb"  # day 4 is fine
        notes = plain.notes(app)
        assert len(notes) == 1 and "rebuilt" not in notes[0]
        assert "2022-04-01 (file missing)" in notes[0]
        assert "2022-04-02 (file truncated" in notes[0]
        assert "2022-04-03 (" in notes[0] and "2022-04-04" not in notes[0]
        for selection, level in _selections(app, None, MEDIUM, SMALL):
            for name, read in _reads(selection, level).items():
                _assert_same(name, _outcome(read, plain), _outcome(read, sql))
        assert _partitions(client, app) == before
        plain.close()

        # The client's store has the exporter: it rebuilds the three days.
        assert _engine_name(client.store, app) == "duckdb"
        notes = client.store.notes(app)
        assert len(notes) == 1 and all(day in notes[0] for day in damaged)
        assert "rebuilt" in notes[0]
        _assert_reads_equal(client, app, depth=MEDIUM)
        _wait_rebuilt(client, app, before, list(damaged))
        after = _partitions(client, app)
        assert after["2022-04-04"] == before["2022-04-04"]
        for day in damaged:
            assert _local_path(after[day]).exists()
            assert not _local_path(before[day]).exists()  # the bad file is gone
        _assert_reads_equal(client, app, depth=MEDIUM)
        assert client.store.notes(app) == []

        # Damage after the files were checked (and read): the next read sees
        # their size or modification time change, checks them again, counts
        # those days from SQL and rebuilds them.
        _local_path(after["2022-04-02"]).unlink()
        third = _local_path(after["2022-04-03"])
        third.write_bytes(third.read_bytes()[:100])
        summary = client.store.summary(Selection(app), FIELDS)
        notes = client.store.notes(app)  # as of that read, before any rebuild is seen
        assert summary == _sql(client).summary(Selection(app), FIELDS)
        assert len(notes) == 1 and "2022-04-02" in notes[0] and "2022-04-03" in notes[0]
        assert "2022-04-01" not in notes[0] and "2022-04-04" not in notes[0]
        _assert_reads_equal(client, app, depth=SMALL)
        _wait_rebuilt(client, app, after, ["2022-04-02", "2022-04-03"])
        _assert_reads_equal(client, app, depth=SMALL)

        # A checked file replaced by another valid one (a file of 7 rows over
        # one of 10): its modification time gives it away at the next read.
        rebuilt = _partitions(client, app)
        shutil.copyfile(_local_path(rebuilt["2022-04-01"]), _local_path(rebuilt["2022-04-04"]))
        summary = client.store.summary(Selection(app), FIELDS)
        notes = client.store.notes(app)
        assert summary == _sql(client).summary(Selection(app), FIELDS)
        assert len(notes) == 1 and "2022-04-04 (file truncated or replaced)" in notes[0]
        _wait_rebuilt(client, app, rebuilt, ["2022-04-04"])
        _assert_reads_equal(client, app, depth=SMALL)
    finally:
        client.close()


def _same_size(path: Path, table) -> None:
    """Write `table` over `path` as a valid Parquet file of exactly the old
    size and row count (padded by an extra, uncompressed column): what size
    and row count checks cannot tell apart."""
    import pyarrow as pa

    target, scratch = path.stat().st_size, path.with_suffix(".tmp")

    def write(n: int) -> int:
        pad = pa.array(["x" * n] + [""] * (table.num_rows - 1))
        options = {"compression": {name: "zstd" for name in table.column_names} | {"pad": "none"}}
        pq.write_table(
            table.append_column("pad", pad),
            scratch,
            store_schema=False,
            write_statistics=False,
            use_dictionary=False,
            **options,
        )
        return scratch.stat().st_size

    n = max(0, target - write(0))
    for _ in range(20):
        size = write(n)
        if size == target:
            break
        n = max(0, n + target - size)
    assert scratch.stat().st_size == target, "could not pad the file to its old size"
    assert pq.read_metadata(scratch).num_rows == pq.read_metadata(path).num_rows
    scratch.replace(path)


@pytest.mark.slow
@pytest.mark.parametrize("tampering", ["acceptance flipped", "moved a day", "another app's file"])
def test_a_file_rewritten_at_the_same_size_is_not_trusted(tmp_path, tampering):
    import pyarrow.compute as pc

    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        records = _fixed_records(range(3), 8)
        _log(client, "app-a", records)
        _log(client, "app-b", [{**r, "tags": {**r["tags"], "num": 1000}} for r in records])
        client.export_lake()
        parts = _partitions(client, "app-a")
        victim = _local_path(parts["2022-04-02"])
        table = pq.read_table(victim)
        if tampering == "acceptance flipped":
            ok = table.column(OK)
            table = table.set_column(table.schema.get_field_index(OK), OK, pc.invert(ok))
        elif tampering == "moved a day":
            moved = pc.add(table.column("timestamp"), pd.Timedelta(days=1).to_pytimedelta())
            table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", moved)
        else:
            table = pq.read_table(_local_path(_partitions(client, "app-b")["2022-04-02"]))
        _same_size(victim, table)

        sql = _sql(client)
        fresh = LakeRecordStore(sql, client.blobs, tmp_path / "cache", sync_seconds=0)
        assert _engine_name(fresh, "app-a") == "duckdb"  # the other days still serve
        notes = fresh.notes("app-a")
        assert len(notes) == 1 and "2022-04-02 (content differs from the export)" in notes[0]
        for selection, level in _selections("app-a", None, MEDIUM, SMALL):
            for name, read in _reads(selection, level).items():
                _assert_same(name, _outcome(read, fresh), _outcome(read, sql))
        fresh.close()
        # The client's store rebuilds the day from SQL.
        assert client.store.notes("app-a") == [] or _engine_name(client.store, "app-a")
        _wait_rebuilt(client, "app-a", parts, ["2022-04-02"])
        _assert_reads_equal(client, "app-a", depth=SMALL)
    finally:
        client.close()


def test_a_file_is_loaded_for_its_own_day_only(tmp_path):
    """Defence in depth: rows of another day in a day's file (were the hash
    check passed) are not loaded."""
    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        _log(client, "days", _fixed_records(range(2), 5))
        client.export_lake()
        store = client.store
        store.summary(Selection("days"), [NUM])  # loads the files
        table = "tmp_check"
        parts = _partitions(client, "days")
        path = str(_local_path(parts["2022-04-01"]))
        day_us = int(pd.Timestamp("2022-04-02", tz="UTC").value // 1000)
        fields = client.catalog.fields(client.catalog.application_id("days"))
        with store._lock:
            store._cursor.execute(
                f"CREATE TABLE {table} AS SELECT * FROM "
                f"{'gantry_records_' + str(client.catalog.application_id('days'))} LIMIT 0"
            )
            store._load_files(table, fields, [(path, tuple(pq.read_schema(path).names), day_us)])
            count = store._cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            store._cursor.execute(f"DROP TABLE {table}")
        assert count == 0, "day 1's rows were loaded as day 2's"
    finally:
        client.close()


def test_files_of_a_killed_export_are_swept_after_the_grace(tmp_path):
    """Files no partition names (an export killed before its commit, a
    partial write) are deleted once older than an hour; a young one may be
    another exporter's uncommitted file and stays."""
    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        _log(client, "strays", _fixed_records(range(2), 5))
        _log(client, "strays-2", _fixed_records(range(2), 5))
        client.export_lake()
        parts = _partitions(client, "strays")
        current = _local_path(parts["2022-04-01"])
        folder, hour_ago = current.parent, time.time() - 7200
        old = folder / "part-99-deadbeef.parquet"
        partial = folder / f".{current.name}.123.abcd1234.partial"
        young = folder / "part-98-cafebabe.parquet"
        for stray in (old, partial, young):
            shutil.copyfile(current, stray)
        for stray in (old, partial):
            os.utime(stray, (hour_ago, hour_ago))
        folder_rows = len(pd.read_parquet(folder.parent, columns=["join_key"]))
        assert folder_rows == 10 + 2 * 5  # what a folder-wide read counts meanwhile
        report = client.export_lake("strays")[0]
        assert report.swept == 2 and not old.exists() and not partial.exists()
        assert young.exists() and current.exists()
        young.unlink()
        assert len(pd.read_parquet(folder.parent, columns=["join_key"])) == 10
        # Another application's folder is not this one's to sweep.
        assert sorted(_partitions(client, "strays-2").values()) == sorted(
            p.as_uri() for p in (tmp_path / "blobs" / "lake" / "app=strays-2").rglob("*.parquet")
        )
        _assert_reads_equal(client, "strays", depth=SMALL)
    finally:
        client.close()


def test_stray_files_are_swept_on_s3(s3_server, s3_bucket, tmp_path):
    client = _s3_lake_client(tmp_path, s3_server, s3_bucket)
    try:
        _log(client, "strays", _fixed_records(range(1), 5))
        client.export_lake()
        s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
        stray = "prefix/lake/app=strays/day=2022-04-01/part-99-deadbeef.parquet"
        s3.put_object(Bucket=s3_bucket, Key=stray, Body=b"not committed")
        assert client.lake.sweep("strays", grace_seconds=0) == 1
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]]
        assert stray not in keys and "prefix/lake/app=strays/_manifest.json" in keys
        assert len([k for k in keys if k.endswith(".parquet")]) == 1
    finally:
        client.close()


def test_a_failing_columnar_engine_answers_from_sql_with_a_note(tmp_path):
    """DuckDB unusable (here: its database closed under it, as a full disk
    or no memory leave it): every read answers from the SQL store, the tab
    says so, and no read raises."""
    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        _log(client, "engine", _fixed_records(range(3), 6))
        client.export_lake()
        assert _engine_name(client.store, "engine") == "duckdb"
        client.store._db.close()
        sql = _sql(client)
        for selection, level in _selections("engine", None, MEDIUM, SMALL):
            for name, read in _reads(selection, level).items():
                _assert_same(name, _outcome(read, client.store), _outcome(read, sql))
        [note] = client.store.notes("engine")
        assert "columnar engine (DuckDB) failed" in note and "SQL store" in note
    finally:
        client.store.duck.dispose()
        client.close()


OWNER = """
import sys, time
from gantry_gradio import Client
from gantry_gradio.lake import LakeRecordStore
client = Client(sys.argv[1], blobs=sys.argv[2], spool_dir=sys.argv[3])
store = LakeRecordStore(client.store, client.blobs, sys.argv[4])
print("ready", flush=True)
time.sleep(600)
"""


def _spy_loads(monkeypatch, store_module) -> dict[str, list]:
    """Which lake files a store hashes and which days it loads into DuckDB."""
    seen: dict[str, list] = {"hashed": [], "loaded": []}
    hash_file = store_module.file_sha256
    load_files = LakeRecordStore._load_files

    def hashing(path):
        seen["hashed"].append(Path(path).name)
        return hash_file(path)

    def loading(self, table, fields, files):
        seen["loaded"] += [pd.Timestamp(day, unit="us").strftime("%Y-%m-%d") for *_, day in files]
        return load_files(self, table, fields, files)

    monkeypatch.setattr(store_module, "file_sha256", hashing)
    monkeypatch.setattr(LakeRecordStore, "_load_files", loading)
    return seen


@pytest.mark.slow
def test_a_restarted_process_answers_from_the_kept_mirror_like_a_warm_one(
    tmp_path, monkeypatch
):
    """The next process opens the kept DuckDB file and answers exactly as the
    SQL store does after what happened meanwhile (late feedback on an exported
    day, new days, a re-export), loading and hashing only the files that
    changed; a database recreated under the same URL is never answered from
    the old one's table."""
    from gantry_gradio.lake import store as store_module

    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    app, cache = "kept", tmp_path / "cache"
    try:
        records = _fixed_records(range(5), 9)
        keys = _log(client, app, records[:27])
        client.export_lake(app)
        sql = _sql(client)
        first = LakeRecordStore(sql, client.blobs, cache, sync_seconds=0)
        assert first._file.kept
        for selection, level in _selections(app, None, MEDIUM, SMALL):
            for name, read in _reads(selection, level).items():
                _assert_same(name, _outcome(read, first), _outcome(read, sql))
        first.close()

        client.log_record(app, feedback={"ok": True, "note": "late"}, join_key=keys[3])
        _log(client, app, records[27:])
        assert client.export_lake(app)[0].days == ["2022-04-01", "2022-04-04", "2022-04-05"]
        client.log_record(app, feedback={"ok": False}, join_key=keys[12])  # dirty again
        assert client.flush(60)

        seen = _spy_loads(monkeypatch, store_module)
        second = LakeRecordStore(sql, client.blobs, cache, sync_seconds=0)
        assert second._file.kept and second._mirrors, "the kept state is read back"
        assert _engine_name(second, app) == "duckdb"
        assert sorted(seen["loaded"]) == ["2022-04-01", "2022-04-04", "2022-04-05"]
        assert len(seen["hashed"]) == 3, "unchanged files are trusted by their stamp"
        _assert_stores_agree(second, sql, app)
        second.close()
    finally:
        client.close()

    for leftover in tmp_path.glob("records.db*"):
        leftover.unlink()
    shutil.rmtree(tmp_path / "spool")
    other = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        _log(other, app, records[9:18])
        other.export_lake(app)
        sql = _sql(other)
        third = LakeRecordStore(sql, other.blobs, cache, sync_seconds=0)
        assert third._file.kept
        _assert_stores_agree(third, sql, app)
        third.close()
    finally:
        other.close()


def _owner(args: list[str], cache: Path):
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", OWNER, *args, str(cache)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "ready"
    return child


@pytest.mark.slow
def test_another_processes_live_duckdb_file_is_never_removed(tmp_path):
    """The first process of a store keeps its DuckDB file for the next; a
    second gets a private one. Owners are known by the lock they hold, not by
    a process id another container cannot see: a live owner's file stays, a
    killed one's private file goes, a killed one's kept file serves the next."""
    import signal

    cache = tmp_path / "cache"
    args = [f"sqlite:///{tmp_path}/records.db", str(tmp_path / "blobs"), str(tmp_path / "spool")]
    first = second = None
    try:
        first = _owner(args, cache)
        kept = {p.name for p in cache.iterdir()}
        assert {n.split(".")[0][:5] for n in kept} == {"kept-"}, kept
        second = _owner(args, cache)
        private = {p.name for p in cache.iterdir()} - kept
        assert len({n.split(".")[0] for n in private}) == 1, private
        assert {n.split("-")[0] for n in private} == {"mirror"}, private
        client = Client(args[0], blobs=args[1], spool_dir=tmp_path / "spool-2")
        ours = LakeRecordStore(client.store, client.blobs, cache)
        assert kept | private <= {p.name for p in cache.iterdir()}, "a live owner's file went"
        second.send_signal(signal.SIGKILL)
        second.wait(30)
        again = LakeRecordStore(client.store, client.blobs, cache)
        left = {p.name for p in cache.iterdir()}
        assert not private & left, "a killed owner's private files stay"
        assert kept <= left
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        third = LakeRecordStore(client.store, client.blobs, cache)
        assert third._file.kept and third._file.path.name in kept, "the kept file serves again"
        for store in (third, again, ours):
            store.close()
        client.close()
        assert {p.name for p in cache.iterdir()} <= kept, "private files are removed on close"
    finally:
        for child in (first, second):
            if child is not None:
                child.kill()
                child.wait(30)


# -- S3 ------------------------------------------------------------------------


@pytest.mark.slow
def test_lake_on_s3_with_a_hostile_application_name(s3_server, s3_bucket, tmp_path):
    client = _s3_lake_client(tmp_path, s3_server, s3_bucket)
    try:
        keys = _log(client, WEIRD_APP, _fixed_records(range(3), 6))
        client.log_record(WEIRD_APP, feedback={"ok": True, "note": "s3"}, join_key=keys[2])
        assert client.flush(60)
        report = client.export_lake(WEIRD_APP)[0]
        assert report.days == ["2022-04-01", "2022-04-02", "2022-04-03"] and not report.failed
        assert _engine_name(client.store, WEIRD_APP) == "duckdb"
        _assert_reads_equal(client, WEIRD_APP, depth=MEDIUM)
        assert client.store.notes(WEIRD_APP) == []

        s3 = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
        listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="prefix/lake/")["Contents"]
        segment = _app_segment(WEIRD_APP)
        part = re.compile(
            rf"prefix/lake/{re.escape(segment)}/day=2022-04-0[123]/part-\d+-[0-9a-f]{{8}}\.parquet"
        )
        names = sorted(item["Key"] for item in listed)
        parquet = [n for n in names if n.endswith(".parquet")]
        assert all(part.fullmatch(n) for n in parquet), names
        assert names == sorted([*parquet, f"prefix/lake/{segment}/_manifest.json"])
        uris = _partitions(client, WEIRD_APP)
        assert sorted(uris.values()) == [f"s3://{s3_bucket}/{n}" for n in parquet]
        manifest = json.loads(
            s3.get_object(Bucket=s3_bucket, Key=f"prefix/lake/{segment}/_manifest.json")[
                "Body"
            ].read()
        )
        assert manifest["application"] == WEIRD_APP
        assert [p["uri"] for p in manifest["partitions"]] == [uris[d] for d in sorted(uris)]

        # An object gone from the bucket, read by a store with an empty cache:
        # that day is counted from SQL, named in notes, and uploaded again.
        gone = uris["2022-04-02"].removeprefix(f"s3://{s3_bucket}/")
        s3.delete_object(Bucket=s3_bucket, Key=gone)
        sql = _sql(client)
        fresh = LakeRecordStore(sql, client.blobs, tmp_path / "cold", exporter=client.lake)
        fresh.sync_seconds = 0
        assert fresh.summary(Selection(WEIRD_APP), FIELDS) == sql.summary(
            Selection(WEIRD_APP), FIELDS
        )
        notes = fresh.notes(WEIRD_APP)
        assert len(notes) == 1 and "2022-04-02 (" in notes[0] and "2022-04-01" not in notes[0]
        _wait_rebuilt(client, WEIRD_APP, uris, ["2022-04-02"], store=fresh)
        rebuilt = _partitions(client, WEIRD_APP)["2022-04-02"].removeprefix(f"s3://{s3_bucket}/")
        assert s3.head_object(Bucket=s3_bucket, Key=rebuilt)["ContentLength"] > 0
        for name, read in _reads(Selection(WEIRD_APP), MEDIUM).items():
            _assert_same(name, _outcome(read, fresh), _outcome(read, sql))
        fresh.close()
    finally:
        client.close()


@pytest.mark.slow
def test_hostile_application_name_stays_in_one_lake_folder(tmp_path):
    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        _log(client, WEIRD_APP, _fixed_records(range(2), 5))
        _log(client, "plain", _fixed_records(range(1), 3))
        client.export_lake()
        lake = tmp_path / "blobs" / "lake"
        assert sorted(p.name for p in lake.iterdir()) == [
            _app_segment(WEIRD_APP),
            "app=plain",
        ]
        files = sorted(p.relative_to(tmp_path / "blobs") for p in lake.rglob("*") if p.is_file())
        for path in files:
            if path.name == "_manifest.json":
                assert len(path.parts) == 3
                continue
            assert len(path.parts) == 4 and path.parts[0] == "lake", path
            assert path.parts[2].startswith("day=2022-04-0") and path.suffix == ".parquet"
        ours = [p for p in files if p.parts[1] != "app=plain"]
        assert ours[0].parts[1] == _app_segment(WEIRD_APP)  # which decodes back to the name
        assert len([p for p in ours if p.suffix == ".parquet"]) == 2
        assert not [p for p in (tmp_path / "blobs").iterdir() if p.name != "lake"]
        assert _engine_name(client.store, WEIRD_APP) == "duckdb"
        _assert_reads_equal(client, WEIRD_APP, depth=MEDIUM)
        _assert_reads_equal(client, "plain", depth=SMALL)
    finally:
        client.close()


# -- two exporters at once -------------------------------------------------------


@pytest.mark.slow
def test_two_exporters_racing_writers_leave_one_file_per_day(store_url, tmp_path, caplog):
    """Two clients on one store and lake export in threads while records and
    late feedback keep arriving; afterwards every day has one partition, the
    lake folder holds exactly the partitions' files, and reads equal SQL."""
    caplog.set_level(logging.WARNING, logger="gantry_gradio")
    first = _lake_client(store_url, tmp_path / "a", blobs=tmp_path / "blobs")
    second = _lake_client(store_url, tmp_path / "b", blobs=tmp_path / "blobs")
    app = "race"
    try:
        keys = _log(first, app, _fixed_records(range(4), 4))
        stop = threading.Event()
        errors: list[BaseException] = []
        passes = [0, 0]

        def export(client: Client, slot: int) -> None:
            try:
                while not stop.is_set():
                    report = client.lake.export_application(app)
                    assert not report.failed, report.failed
                    passes[slot] += 1
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(exc)

        threads = [
            threading.Thread(target=export, args=(c, i)) for i, c in enumerate((first, second))
        ]
        for thread in threads:
            thread.start()
        try:
            for round_ in range(12):
                more = _fixed_records(range(round_ % 5, round_ % 5 + 1), 2, late_from=9)
                for record in more:
                    record["timestamp"] += pd.Timedelta(seconds=round_ + 1)
                keys += _log(second if round_ % 2 else first, app, more)
                for key in keys[round_ : len(keys) : 7]:
                    first.log_record(
                        app, feedback={"ok": round_ % 2 == 0, "round": round_}, join_key=key
                    )
                assert first.flush(60)
                _assert_same(
                    "summary",
                    first.store.summary(Selection(app), [OK]),
                    _sql(first).summary(Selection(app), [OK]),
                )
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
        assert not errors, errors
        assert min(passes) >= 2, passes

        _assert_reads_equal(first, app, depth=MEDIUM)
        assert not first.export_lake(app)[0].failed
        parts = _partitions(first, app)
        assert sorted(parts) == [f"2022-04-0{d}" for d in range(1, 6)]
        on_disk = sorted((tmp_path / "blobs" / "lake").rglob("*.parquet"))
        assert on_disk == sorted(_local_path(uri) for uri in parts.values())
        leftovers = [p for p in (tmp_path / "blobs").rglob("*") if p.name.startswith(".")]
        assert not leftovers
        # Neither a superseded file left undeleted nor a manifest write lost.
        assert not [r.getMessage() for r in caplog.records if "could not" in r.getMessage()]
        for client in (first, second):
            assert _engine_name(client.store, app) == "duckdb"
            _assert_reads_equal(client, app, depth=MEDIUM)
            assert client.store.notes(app) == []
        manifest = json.loads(
            (tmp_path / "blobs" / "lake" / f"app={app}" / "_manifest.json").read_text()
        )
        assert {p["day"]: p["uri"] for p in manifest["partitions"]} == parts
    finally:
        first.close()
        second.close()


def test_long_application_name_is_exported(tmp_path):
    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        app = "客" * 90  # 270 bytes of UTF-8
        _log(client, app, _fixed_records(range(2), 3))
        report = client.export_lake(app)[0]
        assert not report.failed, report.failed
        assert _engine_name(client.store, app) == "duckdb"
    finally:
        client.close()


# -- freshness and the tab -------------------------------------------------------


def test_a_record_is_in_the_tab_within_five_seconds_of_delivery(tmp_path):
    """With the default sync interval (1 s): a new record of today and late
    feedback on an exported day show up in lake reads within 5 s of flush,
    and the exported day then comes from SQL until it is exported again."""
    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    client.store.sync_seconds = 1.0
    try:
        app = "fresh"
        keys = _log(client, app, _fixed_records(range(3), 6))
        client.export_lake(app)
        whole = Selection(app)
        before = client.store.summary(whole, ["tags.num", "feedback.ok"])
        assert _engine_name(client.store, app) == "duckdb"

        today = pd.Timestamp.now(tz="UTC").floor("s")
        client.log_record(app, inputs={"i": 0}, tags={"num": 1}, timestamp=today)
        client.log_record(app, feedback={"ok": True}, join_key=keys[0])  # day 0, had none
        assert client.flush(60)
        delivered = time.monotonic()
        expected = _sql(client).summary(whole, ["tags.num", "feedback.ok"])
        assert expected["predictions"] == before["predictions"] + 1
        assert expected["feedback.ok"]["true"] == before["feedback.ok"]["true"] + 1
        while client.store.summary(whole, ["tags.num", "feedback.ok"]) != expected:
            assert time.monotonic() - delivered < 5, "not visible within 5 s"
            time.sleep(0.1)
        _assert_reads_equal(client, app, depth=SMALL)
        assert "2022-04-01" in _partitions(client, app)  # still the old file: served from SQL
        report = client.export_lake(app)[0]
        assert report.days == ["2022-04-01"]  # only the changed day, not today
        _assert_reads_equal(client, app, depth=SMALL)
    finally:
        client.close()


def test_the_tab_says_when_days_come_from_sql(tmp_path):
    """A damaged lake file shows in the monitoring tab's notes (panels.snapshot),
    and the tab's numbers stay those of the SQL store."""
    from gantry_gradio.dashboard import panels

    client = _lake_client(f"sqlite:///{tmp_path}/records.db", tmp_path)
    try:
        app = "noted"
        _log(client, app, _fixed_records(range(3), 6))
        client.export_lake(app)
        scope = panels.Scope(app)
        healthy = panels.snapshot(client, scope, accepted_field="feedback.ok", flag_field="x")
        assert not any("Lake" in note for note in healthy.notes)
        # No rebuild, which on data this small could finish before the notes are read
        client.store.exporter = None
        _local_path(_partitions(client, app)["2022-04-02"]).unlink()
        damaged = panels.snapshot(client, scope, accepted_field="feedback.ok", flag_field="x")
        (note,) = [note for note in damaged.notes if "Lake partitions" in note]
        assert "2022-04-02 (file missing)" in note and "counted from the SQL store" in note
        assert damaged.headline == healthy.headline
        pd.testing.assert_frame_equal(damaged.acceptance, healthy.acceptance)
    finally:
        client.close()


@pytest.mark.parametrize("written_by", ["keys", "absolute uris (stores before keys)"])
def test_a_moved_data_folder_reads_its_own_lake(tmp_path, caplog, written_by):
    """The SQL store names lake files by key, relative to the blob root: a
    folder moved elsewhere serves its lake from its new place, without a
    warning, and never reads the original's files (they are gone here)."""
    import logging
    import shutil

    original = tmp_path / "original" / "gantry_data"
    client = Client(
        f"sqlite:///{original / 'records.db'}", original / "blobs", spool_dir=original / "spool"
    )
    client.log_records(
        "moved-app",
        inputs=[{"text": f"t{i}"} for i in range(30)],
        feedbacks=[{"ok": i % 2 == 0} for i in range(30)],
        timestamps=[
            pd.Timestamp("2022-04-01", tz="UTC") + pd.Timedelta(hours=3 * i) for i in range(30)
        ],
    )
    assert client.flush(30)
    client.export_lake("moved-app")
    expected = client.percent_true("moved-app", "feedback.ok")
    if written_by != "keys":  # as stores written before keys named their files
        with client.engine.begin() as conn:
            for row in conn.execute(
                sa.select(lake_partitions.c.day_us, lake_partitions.c.uri)
            ).all():
                conn.execute(
                    lake_partitions.update()
                    .where(lake_partitions.c.day_us == row.day_us)
                    .values(uri=client.blobs.uri_for(row.uri))
                )
    client.close()
    moved = tmp_path / "elsewhere" / "data"
    moved.parent.mkdir()
    shutil.move(str(original), str(moved))
    assert not original.exists()
    caplog.set_level(logging.WARNING)
    again = Client(f"sqlite:///{moved / 'records.db'}", moved / "blobs", spool_dir=moved / "spool")
    try:
        assert _engine_name(again.store, "moved-app") == "duckdb"
        pd.testing.assert_frame_equal(again.percent_true("moved-app", "feedback.ok"), expected)
        assert len(again.query("moved-app")) == 30
        uris = _partitions(again, "moved-app")
        assert uris and all(Path(_local_path(u)).is_relative_to(moved) for u in uris.values())
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records
    finally:
        again.close()


def test_a_moved_data_folder_keeps_its_datasets_and_files(tmp_path):
    """Dataset versions and records' files name their blobs by URI: after the
    folder moved, they are found under the new root; a URI outside it that
    names no file of the store is still refused."""
    import shutil

    from gantry_gradio import File

    original = tmp_path / "a" / "gantry_data"
    client = Client(
        f"sqlite:///{original / 'records.db'}", original / "blobs", spool_dir=original / "spool"
    )
    picture = tmp_path / "picture.bin"
    picture.write_bytes(b"\x89PNG-ish bytes")
    client.log_record("files-app", inputs={"image": File(picture)}, outputs={"label": "cat"})
    assert client.flush(30)
    client.create_dataset("kept").push(pd.DataFrame({"x": [1, 2, 3]}), "three rows")
    client.close()
    moved = tmp_path / "b" / "data"
    moved.parent.mkdir()
    shutil.move(str(original), str(moved))
    again = Client(f"sqlite:///{moved / 'records.db'}", moved / "blobs", spool_dir=moved / "spool")
    try:
        assert again.get_dataset("kept").get_pandas()["x"].tolist() == [1, 2, 3]
        uri = again.query("files-app").iloc[0]["inputs.image"]
        assert str(original) in unquote(uri)  # written at the old place
        assert again.read_blob(uri) == b"\x89PNG-ish bytes"
        with pytest.raises(BlobStoreError, match="outside the blob folder"):
            again.read_blob(f"file://{tmp_path}/picture.bin")
    finally:
        again.close()
