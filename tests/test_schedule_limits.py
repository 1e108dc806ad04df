"""Schedules a token holder sets cannot exhaust the scheduler: a minimum
interval and window, intervals generated lazily, a bounded share of work per
automation per pass, and a stored definition this version refuses skipped
alone (logged and counted) instead of stopping every other automation."""

from __future__ import annotations

import json
import logging
import time

import pandas as pd
import pytest

from gantry_gradio import AutomationScheduler, IntervalTrigger, UniformCurator
from gantry_gradio.alerts import AlertRule, alert_history, create_alert
from gantry_gradio.automation.scheduler import INTERVALS_PER_PASS
from gantry_gradio.store.schema import automations

APP = "scheduled"
START = pd.Timestamp("2022-04-01", tz="UTC")


def _rule(name: str, **options) -> AlertRule:
    settings = {"field": "feedback.accepted", "below": 50, "window": "1D", "every": "1D"}
    return AlertRule(name, APP, "acceptance_rate", **{**settings, **options})


@pytest.mark.parametrize("every", ["1us", "1ms", "2ms", "59s", 0.5])
def test_an_alert_below_a_minute_is_refused_clearly(every):
    with pytest.raises(ValueError, match="every must be at least 1 minute"):
        _rule("fast", every=every)
    with pytest.raises(ValueError, match="window must be at least 1 minute"):
        _rule("narrow", window=every)


def test_curators_and_triggers_have_the_same_minimum():
    with pytest.raises(ValueError, match="at least 1 minute"):
        UniformCurator("c", APP, START, "1ms", 5)
    with pytest.raises(ValueError, match="at least 1 minute"):
        IntervalTrigger(START, "30s")
    with pytest.raises(ValueError, match="not a duration"):
        IntervalTrigger(START, "10000000000D")


def test_intervals_are_generated_as_they_are_taken():
    """Twenty years of 1-minute intervals: the first comes at once."""
    trigger = IntervalTrigger("2006-01-01", "1min", delay=0)
    started = time.perf_counter()
    due = trigger.intervals("2026-01-01")
    first = next(due)
    assert time.perf_counter() - started < 5  # a list would hold 10.5M tuples
    assert first[1] - first[0] == 60_000_000
    after = trigger.intervals("2026-01-01", after_us=first[0])
    assert next(after)[0] == first[1]


def test_one_rule_catching_up_cannot_starve_the_others(client, caplog):
    client.log_record(APP, inputs={"x": 1}, feedback={"accepted": True}, timestamp=START)
    assert client.flush(30)
    # Stored now, evaluated by the scheduler: two days of 1-minute windows.
    create_alert(client, _rule("busy", every="1min", window="1min"), start_on=START, now=START)
    create_alert(client, _rule("daily"), start_on=START, now=START)
    # A definition an older version stored, below today's minimum.
    bad = json.loads(
        json.dumps(_rule("legacy").automation(START).to_dict()).replace(
            '"P1DT0H0M0S"', '"PT0.001S"'
        )
    )
    with client.engine.begin() as conn:
        conn.execute(
            automations.insert().values(name="legacy", definition=json.dumps(bad), created_at_us=0)
        )
    scheduler = AutomationScheduler(client)
    now = START + pd.Timedelta(days=2)
    with caplog.at_level(logging.ERROR, logger="gantry_gradio.automation"):
        outcomes = scheduler.run_once(now=now)
    by_rule = pd.Series([o.automation for o in outcomes]).value_counts().to_dict()
    assert by_rule == {"busy": INTERVALS_PER_PASS, "daily": 2}
    assert scheduler.behind, "the busy rule has more due: the next pass follows at once"
    assert scheduler.failures == 1 and "'legacy' is not run" in caplog.text
    assert len(alert_history(client, "daily")) == 2
    # The next pass goes on from where the busy rule stopped.
    again = scheduler.run_once(now=now)
    assert [o.automation for o in again] == ["busy"] * INTERVALS_PER_PASS
    assert len(alert_history(client, "busy")) == 2 * INTERVALS_PER_PASS


def test_a_fast_process_clock_does_not_end_a_window_early(postgres, tmp_path, monkeypatch):
    """This process's clock runs a minute fast; PostgreSQL's is right. Only
    windows over by the store's clock, and settled (records still in a
    spool), are evaluated: the current one stays open for its records."""
    from gantry_gradio import Client
    from gantry_gradio.automation.engine import SETTLE_US
    from gantry_gradio.store import clock

    c = Client(
        postgres.create_database("fast_clock"),
        blobs=tmp_path / "blobs",
        spool_dir=tmp_path / "spool",
    )
    try:
        start = pd.Timestamp.now(tz="UTC").floor("min") - pd.Timedelta(minutes=3)
        c.log_record(APP, inputs={"x": 1}, feedback={"accepted": True}, timestamp=start)
        assert c.flush(30)
        real = clock.now_us
        monkeypatch.setattr(clock, "now_us", lambda: real() + 60_000_000)
        assert clock.store_now_us(c.engine) <= real() + 1_000_000  # the server's clock wins
        create_alert(c, _rule("minute", every="1min", window="1min"), start_on=start)
        ends = alert_history(c, "minute")["window_end"]
        assert len(ends) >= 2
        latest = int(ends.max().value // 1000)
        assert latest <= real() - SETTLE_US, "a window not yet over by the store's clock"
    finally:
        c.close()
