"""Curators and automations on a seeded store (SQLite and PostgreSQL): the
backfilled versions per interval are exactly the records each curator type
must pick; re-runs add nothing; failures are retried and reported; two
schedulers never curate an interval twice; the CLI and the in-process
scheduler run stored automations."""

import subprocess
import sys
import threading
import time
import uuid

import boto3
import pandas as pd
import pytest

from gantry_gradio import (
    Automation,
    AutomationScheduler,
    BoundedRangeCurator,
    Client,
    DatasetError,
    IntervalTrigger,
    StratifiedCurator,
    UniformCurator,
)

APP = "curated-app"
START = pd.Timestamp("2022-04-01", tz="UTC")
NOW = "2022-04-04T06:00:00Z"  # three daily intervals are over (the trigger waits 5 min)


def seeded_records(start: pd.Timestamp = START, count: int = 30) -> pd.DataFrame:
    """One record every two hours: 12 a day, 6 on the third day; score cycles
    0..6; every fifth record is a "gold" account."""
    return pd.DataFrame(
        {
            "timestamp": [start + pd.Timedelta(hours=2 * i) for i in range(count)],
            "score": [float(i % 7) for i in range(count)],
            "tier": ["gold" if i % 5 == 0 else "free" for i in range(count)],
            "text": [f"sentence {i}" for i in range(count)],
        }
    )


def log_seeded(c: Client, records: pd.DataFrame) -> dict[str, pd.Timestamp]:
    keys = c.log_records(
        APP,
        inputs=[{"text": t, "score": s} for t, s in zip(records.text, records.score, strict=True)],
        tags=[{"tier": tier} for tier in records.tier],
        timestamps=list(records.timestamp),
    )
    assert c.flush(60)
    return dict(zip(records.text, keys, strict=True))


@pytest.fixture
def seeded(client):
    records = seeded_records()
    log_seeded(client, records)
    return client, records


def day(records: pd.DataFrame, k: int) -> pd.DataFrame:
    begin = START + pd.Timedelta(days=k)
    return records[
        (records.timestamp >= begin) & (records.timestamp < begin + pd.Timedelta(days=1))
    ]


def versions_oldest_first(c: Client, name: str) -> list[dict]:
    return list(reversed(c.get_dataset(name).list_versions()))


def test_bounded_range_backfills_one_cumulative_version_per_interval(seeded):
    c, records = seeded
    curator = BoundedRangeCurator("top_scores", APP, START, "1D", 3, sort_by="inputs.score")
    outcomes = curator.create(c, now=NOW).run_pending(c, now=NOW)
    assert outcomes == []  # create() did the backfill; nothing left

    versions = versions_oldest_first(c, "top_scores")
    assert len(versions) == 3
    expected_texts: list[str] = []
    for k, version in enumerate(versions):
        interval = day(records, k)
        # highest score first, ties by time
        top = interval.sort_values(["score", "timestamp"], ascending=[False, True]).head(3)
        expected_texts += list(top.text)
        begin, end = START + pd.Timedelta(days=k), START + pd.Timedelta(days=k + 1)
        assert version["message"] == (
            f"Added data from {APP} from start time {begin.isoformat()} to end time "
            f"{end.isoformat()} - 3 records added from interval of size {len(interval)}."
        )
        assert version["row_count"] == 3 * (k + 1)
        frame = c.get_dataset("top_scores").get_pandas(version["version_id"])
        assert list(frame["inputs.text"]) == expected_texts
    assert list(frame.columns[:3]) == ["timestamp", "join_key", "version"]
    assert frame["tags.tier"].notna().all()


def test_bounded_range_ascending_skips_records_without_the_field(client):
    records = seeded_records(count=12)
    log_seeded(client, records)
    client.log_record(APP, inputs={"text": "no score"}, timestamp=START + pd.Timedelta(hours=1))
    assert client.flush(30)
    BoundedRangeCurator("low", APP, START, "1D", 3, sort_by="inputs.score", ascending=True).create(
        client, now=NOW
    )
    frame = client.get_dataset("low").get_pandas()
    assert list(frame["inputs.score"]) == [0.0, 0.0, 1.0]
    assert list(frame["inputs.text"]) == ["sentence 0", "sentence 7", "sentence 1"]


def test_uniform_sample_size_membership_and_reproducibility(seeded, tmp_path):
    c, records = seeded
    UniformCurator("sample", APP, START, "1D", 4, seed=3).create(c, now=NOW)
    versions = versions_oldest_first(c, "sample")
    assert [v["row_count"] for v in versions] == [4, 8, 12]
    frame = c.get_dataset("sample").get_pandas()
    assert frame["join_key"].is_unique
    for k in range(3):
        begin = START + pd.Timedelta(days=k)
        picked = frame[
            (frame.timestamp >= begin) & (frame.timestamp < begin + pd.Timedelta(days=1))
        ]
        assert len(picked) == 4
        assert set(picked["inputs.text"]) <= set(day(records, k).text)

    # the same seed on another store with the same records picks the same ones
    other = Client(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "b2", spool_dir=tmp_path / "s2")
    try:
        log_seeded(other, records)
        UniformCurator("sample", APP, START, "1D", 4, seed=3).create(other, now=NOW)
        UniformCurator("reseeded", APP, START, "1D", 4, seed=4).create(other, now=NOW)
        same = other.get_dataset("sample").get_pandas()
        assert list(same["inputs.text"]) == list(frame["inputs.text"])
        reseeded = other.get_dataset("reseeded").get_pandas()
        assert list(reseeded["inputs.text"]) != list(frame["inputs.text"])
    finally:
        other.close()


def test_uniform_takes_everything_when_the_interval_is_small(seeded):
    c, records = seeded
    UniformCurator("all_of_it", APP, START, "1D", 50).create(c, now=NOW)
    assert [v["row_count"] for v in versions_oldest_first(c, "all_of_it")] == [12, 24, 30]
    assert sorted(c.get_dataset("all_of_it").get_pandas()["inputs.text"]) == sorted(records.text)


@pytest.mark.parametrize(("limit", "gold", "free"), [(4, 2, 2), (8, 3, 5), (100, 3, 9)])
def test_stratified_balances_over_the_field(seeded, limit, gold, free):
    """Day one has 3 gold and 9 free records: equal shares, and a small
    stratum gives its unused share to the others."""
    c, records = seeded
    assert (day(records, 0).tier == "gold").sum() == 3
    StratifiedCurator("by_tier", APP, START, "1D", limit, stratify_by="tags.tier").create(
        c, now="2022-04-02T00:10:00Z"
    )
    frame = c.get_dataset("by_tier").get_pandas()
    assert frame["tags.tier"].value_counts().to_dict() == {"gold": gold, "free": free}
    assert set(frame["inputs.text"]) <= set(day(records, 0).text)


def test_filters_apply_before_selection(seeded):
    c, _ = seeded
    UniformCurator("gold_only", APP, START, "1D", 100, filters=["tags.tier == gold"]).create(
        c, now=NOW
    )
    frame = c.get_dataset("gold_only").get_pandas()
    assert len(frame) == 6 and set(frame["tags.tier"]) == {"gold"}
    first = versions_oldest_first(c, "gold_only")[0]["message"]
    assert first.endswith("3 records added from interval of size 3.")


def test_rerunning_never_duplicates_and_new_intervals_follow_the_clock(seeded):
    c, records = seeded
    curator = UniformCurator("rolling", APP, START, "1D", 2)
    automation = curator.create(c, now=NOW)
    assert len(versions_oldest_first(c, "rolling")) == 3
    assert automation.create(c, now=NOW) == []  # same definition again: nothing new
    assert AutomationScheduler(c).run_once(now=NOW) == []
    assert len(versions_oldest_first(c, "rolling")) == 3

    later = seeded_records(START + pd.Timedelta(days=3), count=6)
    later["text"] = [f"later {i}" for i in range(6)]
    log_seeded(c, later)
    outcomes = AutomationScheduler(c).run_once(now="2022-04-05T00:06:00Z")
    assert [(o.start, o.status, o.result.details) for o in outcomes] == [
        (START + pd.Timedelta(days=3), "done", {"added": 2, "total": 6})
    ]
    frame = c.get_dataset("rolling").get_pandas()
    assert len(frame) == 8 and frame["join_key"].is_unique
    assert automation.runs(c)["status"].tolist() == ["done"] * 4

    with pytest.raises(ValueError, match="another definition"):
        UniformCurator("rolling", APP, START, "1D", 3).create(c, now=NOW)
    automation.delete(c)
    assert AutomationScheduler(c).run_once(now="2022-04-09") == []  # no longer scheduled
    assert len(c.get_dataset("rolling").list_versions()) == 4  # the data stays


def test_the_trigger_waits_for_late_records():
    trigger = IntervalTrigger(START, "1D")  # default delay: 5 minutes
    assert list(trigger.intervals("2022-04-02T00:04:59Z")) == []
    assert len(list(trigger.intervals("2022-04-02T00:05:00Z"))) == 1
    assert list(IntervalTrigger(START, "6h", delay="0s").intervals("2022-04-01T12:00:00Z")) == [
        (START.value // 1000, (START + pd.Timedelta(hours=6)).value // 1000),
        (
            (START + pd.Timedelta(hours=6)).value // 1000,
            (START + pd.Timedelta(hours=12)).value // 1000,
        ),
    ]


def test_end_on_bounds_a_curator_over_finished_history(seeded):
    """With the real clock years later, only the intervals up to end_on exist."""
    c, _ = seeded
    assert len(list(IntervalTrigger(START, "1D", end_on="2022-04-03").intervals("2026-01-01"))) == 2
    automation = UniformCurator("april", APP, START, "1D", 2, end_on="2022-04-04").create(c)
    assert [v["row_count"] for v in versions_oldest_first(c, "april")] == [2, 4, 6]
    assert automation.trigger.to_dict()["end_on"] == "2022-04-04T00:00:00+00:00"
    assert automation.run_pending(c) == []


def test_a_failed_interval_is_reported_and_retried(store_url, s3_server, tmp_path, caplog):
    """The bucket does not exist yet: the first interval fails, later ones
    wait; once the bucket exists the next pass curates them all in order."""
    bucket = f"created-later-{uuid.uuid4().hex[:8]}"
    c = Client(
        store_url,
        f"s3://{bucket}/data",
        spool_dir=tmp_path / "spool",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    try:
        log_seeded(c, seeded_records())  # short texts: records need no blobs
        automation = UniformCurator("needs_bucket", APP, START, "1D", 2).create(c, now=NOW)
        runs = automation.runs(c)
        assert runs["status"].tolist() == ["failed"]  # later intervals wait for the first
        assert runs["attempts"].tolist() == [1]
        assert bucket in runs["error"][0]
        assert "needs_bucket" in caplog.text and "failed" in caplog.text
        assert c.get_dataset("needs_bucket").list_versions() == []

        scheduler = AutomationScheduler(c)
        assert [o.status for o in scheduler.run_once(now=NOW)] == ["failed"]
        assert scheduler.failures == 1

        boto3.client("s3", endpoint_url=s3_server.endpoint_url).create_bucket(Bucket=bucket)
        outcomes = scheduler.run_once(now=NOW)
        assert [o.status for o in outcomes] == ["done"] * 3
        runs = automation.runs(c)
        assert runs["status"].tolist() == ["done"] * 3
        assert runs["attempts"].tolist() == [3, 1, 1] and runs["error"].isna().all()
        assert [v["row_count"] for v in versions_oldest_first(c, "needs_bucket")] == [2, 4, 6]
    finally:
        c.close()


def test_two_schedulers_never_curate_an_interval_twice(seeded, store_url, tmp_path):
    c, _ = seeded
    Automation(
        "shared_job",
        IntervalTrigger(START, "6h"),
        UniformCurator("shared_job", APP, START, "6h", 2),
    ).create(c, now="2022-04-01T00:00:00Z")  # stored, nothing due yet
    clients = [
        Client(store_url, tmp_path / "blobs", spool_dir=tmp_path / f"s{i}") for i in range(2)
    ]
    outcomes: list = []
    barrier = threading.Barrier(2)

    def run(scheduler_client: Client) -> None:
        barrier.wait()
        for _ in range(3):
            outcomes.extend(AutomationScheduler(scheduler_client).run_once(now=NOW))

    threads = [threading.Thread(target=run, args=(sc,)) for sc in clients]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        due = len(list(IntervalTrigger(START, "6h").intervals(NOW)))
        assert sorted(o.start for o in outcomes if o.status == "done") == sorted(
            {o.start for o in outcomes}
        )
        versions = versions_oldest_first(c, "shared_job")
        assert len(versions) == due == 12
        frame = c.get_dataset("shared_job").get_pandas()
        assert frame["join_key"].is_unique and len(frame) == 20  # 2 per 6h, none on the last two
    finally:
        for sc in clients:
            sc.close()


def test_invalid_curators_are_refused_clearly():
    with pytest.raises(DatasetError, match="curator name"):
        UniformCurator("new accounts", APP, START, "1D", 5)
    with pytest.raises(ValueError, match="positive integer"):
        UniformCurator("ok", APP, START, "1D", 0)
    with pytest.raises(ValueError, match="duration"):
        UniformCurator("ok", APP, START, "every day", 5)
    with pytest.raises(ValueError, match="positive"):
        UniformCurator("ok", APP, START, "-1D", 5)
    with pytest.raises(ValueError, match="sort_by"):
        BoundedRangeCurator("ok", APP, START, "1D", 5)
    with pytest.raises(ValueError, match="stratify_by"):
        StratifiedCurator("ok", APP, START, "1D", 5)
    with pytest.raises(ValueError, match="not a date"):
        UniformCurator("ok", APP, "last tuesday", "1D", 5)


def recent_client(store_url: str, tmp_path) -> tuple[Client, pd.Timestamp]:
    """Records over the last three days, so the real clock has intervals due."""
    c = Client(store_url, tmp_path / "blobs", spool_dir=tmp_path / "spool")
    start = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=3)
    log_seeded(c, seeded_records(start, count=36))
    return c, start


@pytest.mark.slow
def test_the_command_runs_stored_automations(tmp_path):
    store = f"sqlite:///{tmp_path / 'records.db'}"
    c, start = recent_client(store, tmp_path)
    try:
        Automation(
            "cli_job",
            IntervalTrigger(start, "1D"),
            UniformCurator("cli_job", APP, start, "1D", 5),
        ).create(c, now=start)  # stored only
        assert c.get_dataset("cli_job").list_versions() == []
    finally:
        c.close()
    command = [sys.executable, "-m", "gantry_gradio", "automations"]
    where = ["--store", store, "--blobs", str(tmp_path / "blobs")]
    run = subprocess.run(
        [*command, "run", "--once", *where], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("cli_job") == 3
    assert "done, Added data from curated-app" in run.stdout
    assert "5 records added from interval of size 12" in run.stdout
    listed = subprocess.run([*command, "list", *where], capture_output=True, text=True, timeout=120)
    assert "cli_job: UniformCurator on curated-app" in listed.stdout
    assert "{'done': 3}" in listed.stdout
    again = subprocess.run(
        [*command, "run", "--once", *where], capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0 and "cli_job" not in again.stdout

    check = Client(store, tmp_path / "blobs", spool_dir=tmp_path / "spool2")
    try:
        assert len(check.get_dataset("cli_job").list_versions()) == 3
    finally:
        check.close()


def test_the_in_process_scheduler_curates_in_the_background(tmp_path):
    c, start = recent_client(f"sqlite:///{tmp_path / 'records.db'}", tmp_path)
    try:
        Automation(
            "background",
            IntervalTrigger(start, "1D"),
            UniformCurator("background", APP, start, "1D", 1),
        ).create(c, now=start)
        scheduler = AutomationScheduler(c, poll_seconds=0.2).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(c.get_dataset("background").list_versions()) < 3:
            time.sleep(0.2)
        scheduler.stop()
        assert len(c.get_dataset("background").list_versions()) == 3
        assert scheduler.failures == 0
    finally:
        c.close()
