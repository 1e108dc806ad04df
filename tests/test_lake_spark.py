"""The Parquet lake read by Apache Spark (local mode, no network): acceptance per
day and a histogram computed by Spark from `lake/app=<name>` equal the numbers
the monitoring tab gets from `client.store`, and the ones the data was built with.

The lake is exported in two passes so that it has what a real one has: a day
exported before a field existed (its file has no `feedback.accepted` column), a
day re-exported after late feedback, and rows without the histogram's field."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")

from pyspark.sql import functions as F  # noqa: E402

from gantry_gradio import Client  # noqa: E402
from gantry_gradio.store import Selection  # noqa: E402


def _java() -> str | None:
    """The java Spark starts: $JAVA_HOME/bin/java if JAVA_HOME is set, else PATH's."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


if _java() is None:
    pytest.skip(
        "Spark needs a Java runtime (17 or 21): no java on PATH or under $JAVA_HOME",
        allow_module_level=True,
    )

APP = "gec demo/app"  # a space and a slash: the folder name is percent-encoded
OTHER_APP = "démo"  # not ASCII: percent-encoded as UTF-8 bytes
START = pd.Timestamp("2022-04-04", tz="UTC")
DAYS = 5
BINS = 10


def _size(day: int) -> int:
    return 6 + 2 * day


def _age(day: int, i: int) -> float | None:
    """tags.account_age_days; every seventh record has none."""
    return None if i % 7 == 6 else (i * 37 + day * 11) % 97 + 0.25


def _accepted(day: int, i: int) -> bool | None:
    """feedback.accepted: none on day 0 (exported before the field existed),
    late feedback on day 1, logged with the prediction on days 2-4; every fifth
    record of a day without."""
    if day == 0 or i % 5 == 4:
        return None
    if day == 1:
        return i % 2 == 0
    return (i * 7 + day) % 3 != 0


def _predictions(days: range, *, feedback: bool) -> dict[str, list]:
    rows: dict[str, list] = {
        key: [] for key in ("inputs", "outputs", "feedbacks", "tags", "timestamps")
    }
    for day in days:
        for i in range(_size(day)):
            tags = {"username": f"u{i}"}
            if _age(day, i) is not None:
                tags["account_age_days"] = _age(day, i)
            accepted = _accepted(day, i) if feedback else None
            rows["inputs"].append({"text": f"d{day} i{i}"})
            rows["outputs"].append({"inference": f"D{day} I{i}"})
            rows["feedbacks"].append({} if accepted is None else {"accepted": accepted})
            rows["tags"].append(tags)
            rows["timestamps"].append(START + pd.Timedelta(days=day, hours=i * 5 % 24, minutes=i))
    return rows


def _day_file(folder: Path, day: int) -> tuple[str, set[str]]:
    """Name and columns of the day's one Parquet file."""
    (path,) = (folder / f"day={START + pd.Timedelta(days=day):%Y-%m-%d}").glob("*.parquet")
    return path.name, set(pq.read_schema(path).names)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """A lake-backed client, and the folder Spark reads: `<blobs>/lake/app=<name>`.
    (The client's background pass may export too; files are checked, not reports.)"""
    root = tmp_path_factory.mktemp("lake")
    client = Client(
        f"sqlite:///{root / 'records.db'}",
        blobs=root / "blobs",
        spool_dir=root / "spool",
        analytics="lake",
    )
    folder = root / "blobs" / "lake" / "app=gec demo%2Fapp"
    # Pass 1: days 0-1 before any feedback field exists.
    early = client.log_records(APP, **_predictions(range(2), feedback=False))
    assert client.flush(60)
    assert not client.export_lake(APP)[0].failed
    day0 = _day_file(folder, 0)
    day1_name, _ = _day_file(folder, 1)
    assert "feedback.accepted" not in day0[1]
    # Pass 2: days 2-4 with feedback, and late feedback for day 1 (re-exported).
    client.log_records(APP, **_predictions(range(2, DAYS), feedback=True))
    day1 = [
        (key, _accepted(1, i))
        for i, key in enumerate(early[_size(0) :])
        if _accepted(1, i) is not None
    ]
    client.log_records(
        APP,
        feedbacks=[{"accepted": accepted} for _, accepted in day1],
        join_keys=[key for key, _ in day1],
    )
    assert client.flush(60)
    assert not client.export_lake(APP)[0].failed
    assert _day_file(folder, 0) == day0, "day 0 did not change: its file stays as it was"
    day1_now = _day_file(folder, 1)
    assert day1_now[0] != day1_name and "feedback.accepted" in day1_now[1]
    for day in range(2, DAYS):
        assert "feedback.accepted" in _day_file(folder, day)[1]
    client.log_records(OTHER_APP, inputs=[{"text": "x"}], timestamps=[START])
    assert client.flush(60)
    assert not client.export_lake(OTHER_APP)[0].failed
    assert sorted(p.name for p in folder.iterdir()) == [
        "_manifest.json",
        *(f"day={(START + pd.Timedelta(days=d)):%Y-%m-%d}" for d in range(DAYS)),
    ]
    yield client, folder
    client.close()


@pytest.fixture(scope="module")
def records(lake, spark):
    """The application's records as Spark reads the lake. mergeSchema: day 0's
    file was written before `feedback.accepted` existed, and without it Spark
    takes the schema of one file only."""
    _client, folder = lake
    frame = spark.read.option("mergeSchema", "true").parquet(str(folder))
    frame.createOrReplaceTempView("records")
    return frame


def test_spark_reads_the_layout(records):
    types = dict(records.dtypes)
    assert types["timestamp"] == "timestamp" and types["logged_at"] == "timestamp"
    assert types["day"] == "date", "Hive partition discovery gives the day as a DATE"
    assert types["feedback.accepted"] == "boolean"
    assert types["tags.account_age_days"] == "double"
    assert types["outputs.inference"] == "string"
    assert "app" not in types, "the app folder itself was read: only `day` is a partition"
    total = sum(_size(d) for d in range(DAYS))
    row = records.select(
        F.count(F.lit(1)).alias("rows"),
        F.countDistinct("join_key").alias("keys"),
        F.count_if(F.to_date("timestamp") != F.col("day")).alias("misfiled"),
    ).first()
    assert (row["rows"], row["keys"], row["misfiled"]) == (total, total, 0)


def test_acceptance_per_day_equals_the_tab(lake, spark, records):
    client, _folder = lake
    by_spark = spark.sql(
        """
        SELECT day,
               count(*) AS predictions,
               count(`feedback.accepted`) AS answered,
               count_if(`feedback.accepted`) AS accepted,
               try_divide(count_if(`feedback.accepted`), count(`feedback.accepted`)) AS rate
        FROM records
        GROUP BY day
        ORDER BY day
        """
    ).collect()
    tab = client.store.percent_true(Selection(APP), "feedback.accepted", "day")

    assert [pd.Timestamp(r["day"]).tz_localize("UTC") for r in by_spark] == list(tab["start"])
    assert [r["predictions"] for r in by_spark] == list(tab["predictions"])
    assert [r["answered"] for r in by_spark] == list(tab["count"])
    assert [r["accepted"] for r in by_spark] == list(tab["true"])
    rates = [r["rate"] for r in by_spark]
    for spark_rate, tab_rate in zip(rates, tab["percent_true"], strict=True):
        if spark_rate is None:  # no answer that day: Spark NULL, the tab NaN
            assert math.isnan(tab_rate)
        else:
            assert spark_rate == pytest.approx(tab_rate, abs=1e-12, rel=0)

    # ... and both are the numbers the records were built with.
    answers = [[_accepted(d, i) for i in range(_size(d))] for d in range(DAYS)]
    assert list(tab["predictions"]) == [_size(d) for d in range(DAYS)]
    assert list(tab["count"]) == [sum(a is not None for a in day) for day in answers]
    assert list(tab["true"]) == [sum(a is True for a in day) for day in answers]
    assert tab["count"].iloc[0] == 0 and math.isnan(tab["percent_true"].iloc[0])


def test_histogram_equals_the_tab(lake, records):
    client, _folder = lake
    age = F.col("`tags.account_age_days`")  # backticks: the dot is part of the name
    low, high = records.select(F.min(age), F.max(age)).first()
    if high <= low:
        high = low + 1.0
    width = (high - low) / BINS
    # Equal-width bins over [low, high]; the top edge belongs to the last bin.
    index = F.when(age >= high, BINS - 1).otherwise(F.floor((age - low) / width)).alias("bin")
    counted = dict(records.where(age.between(low, high)).groupBy(index).count().collect())
    by_spark = pd.DataFrame(
        {
            "bin_start": [low + i * width for i in range(BINS)],
            "bin_end": [low + (i + 1) * width for i in range(BINS)],
            "count": [counted.get(i, 0) for i in range(BINS)],
        }
    )
    tab = client.store.histogram(Selection(APP), "tags.account_age_days", BINS)

    assert list(by_spark["count"]) == list(tab["count"])
    assert list(by_spark["bin_start"]) == pytest.approx(list(tab["bin_start"]), abs=1e-12, rel=0)
    assert list(by_spark["bin_end"]) == pytest.approx(list(tab["bin_end"]), abs=1e-12, rel=0)
    ages = [_age(d, i) for d in range(DAYS) for i in range(_size(d))]
    assert int(tab["count"].sum()) == sum(a is not None for a in ages)
    known = [a for a in ages if a is not None]
    assert tab["bin_start"].iloc[0] == min(known)
    assert tab["bin_end"].iloc[-1] == pytest.approx(max(known), abs=1e-12, rel=0)


@pytest.fixture(scope="module")
def apps(lake, spark):
    """Application name per row when Spark reads the whole `lake/` folder."""
    _client, folder = lake
    frame = spark.read.option("mergeSchema", "true").parquet(str(folder.parent))
    return {row["app"]: row["count"] for row in frame.groupBy("app").count().collect()}


def test_spark_decodes_the_app_folder_name(apps):
    assert apps[APP] == sum(_size(d) for d in range(DAYS))


def test_spark_decodes_a_non_ascii_app_name(apps):
    """Names are escaped as Hive escapes them: non-ASCII stays as is."""
    assert apps.get(OTHER_APP) == 1


READS = [
    ("summary", (["feedback.accepted", "tags.account_age_days"],), {}),
    ("percent_true", ("feedback.accepted", "day"), {}),
    ("percent_true", ("feedback.accepted", "week"), {}),
    ("value_counts", ("feedback.accepted", "day"), {}),
    ("mean_over_time", ("tags.account_age_days", "hour"), {}),
    ("value_range", ("tags.account_age_days",), {}),
    ("histogram", ("tags.account_age_days", BINS), {}),
    ("histogram", ("tags.account_age_days", 7), {"split_by": "feedback.accepted"}),
    ("keys", ("tags.username",), {}),
    ("rows", (), {"limit": 9, "offset": 3, "newest_first": True}),
    ("rows", (), {"fields": ["tags.account_age_days"], "order_by": "tags.account_age_days"}),
]
SELECTIONS = [
    {},
    {"start": "2022-04-05", "end": "2022-04-07T12:00"},
    {"filters": ["tags.account_age_days < 40", 'inputs.text contains "i1"']},
    {"filters": [("feedback.accepted", "==", True), ("tags.username", "in", ["u1", "u2", "u3"])]},
    {"view": "young"},
]


def test_the_read_contract_runs_on_spark_with_the_sql_stores_statements(lake, spark):
    """Every read the tab makes, run by Spark over the lake (SparkRecordStore:
    the SQL store's statements translated by SQLGlot), equals the SQL store."""
    from gantry_gradio.lake import SparkRecordStore
    from gantry_gradio.store import SqlRecordStore

    client, _folder = lake
    client.create_view(APP, "young", filters=["tags.account_age_days <= 30"], replace=True)
    sql = SqlRecordStore(client.engine, client.catalog, client.views)
    on_spark = SparkRecordStore(sql, spark, blobs=client.blobs)
    for scope in SELECTIONS:
        selection = Selection(APP, **scope)
        for name, args, kwargs in READS:
            expected = getattr(sql, name)(selection, *args, **kwargs)
            got = getattr(on_spark, name)(selection, *args, **kwargs)
            where = f"{name}{args}{kwargs} on {scope}"
            if isinstance(expected, pd.DataFrame):
                assert len(expected) > 0, where  # every selection has records: not vacuous
                pd.testing.assert_frame_equal(
                    got.reset_index(drop=True),
                    expected.reset_index(drop=True),
                    check_dtype=False,
                    rtol=1e-12,
                    obj=where,
                )
            else:
                assert got == expected, where
