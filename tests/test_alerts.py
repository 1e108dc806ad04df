"""Alert rules on the automation engine, on SQLite and PostgreSQL: values
read through the read contract and worked out here by hand, the firing /
resolved states with hysteresis, evaluations stored once, and a history
timeline over past data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gantry_gradio import AutomationScheduler, Client, DatasetError
from gantry_gradio.alerts import AlertRule, AlertState, advance, alert_history, create_alert

APP = "alerted-app"
START = pd.Timestamp("2022-04-01", tz="UTC")
#: Acceptance per day of six: 90%, 90%, 20%, 20%, 90%, 90% (10 records a day).
ACCEPTED_PER_DAY = [9, 9, 2, 2, 9, 9]


def log_days(c: Client, accepted_per_day=ACCEPTED_PER_DAY) -> None:
    timestamps, feedbacks, inputs = [], [], []
    for day, accepted in enumerate(accepted_per_day):
        for i in range(10):
            timestamps.append(START + pd.Timedelta(days=day, hours=2 * i))
            feedbacks.append({"accepted": i < accepted, "flag": "offensive" if i == 9 else None})
            inputs.append({"length": float(day * 10 + i)})
    c.log_records(APP, inputs=inputs, feedbacks=feedbacks, timestamps=timestamps)
    assert c.flush(60)


def daily_rule(name: str = "acceptance", **options) -> AlertRule:
    settings = {"field": "feedback.accepted", "below": 50, "window": "1D", "every": "1D"}
    return AlertRule(name, APP, "acceptance_rate", **{**settings, **options})


def test_a_rule_over_history_fires_and_resolves_once_each(client):
    log_days(client)
    automation = create_alert(client, daily_rule(), start_on=START, now="2022-04-07")
    history = alert_history(client, "acceptance")
    assert history["value"].tolist() == [90.0, 90.0, 20.0, 20.0, 90.0, 90.0]
    assert history["records"].tolist() == [10] * 6
    assert history["state"].tolist() == ["ok", "ok", "firing", "firing", "ok", "ok"]
    assert history["transition"].tolist() == [None, None, "fired", None, "resolved", None]
    assert history["window_end"].iloc[2] == START + pd.Timedelta(days=3)
    assert automation.runs(client)["version_id"].tolist() == ["ok", "ok", "firing"] + [
        "firing",
        "ok",
        "ok",
    ]
    # Again, from another scheduler: every window is done, nothing is evaluated twice.
    assert (
        create_alert(client, daily_rule(), start_on=START, now="2022-04-07").runs(client).shape[0]
        == 6
    )
    assert AutomationScheduler(client).run_once(now="2022-04-07") == []
    assert len(alert_history(client, "acceptance")) == 6


def test_for_evaluations_keeps_a_flapping_metric_from_notifying(client):
    log_days(client, [9, 2, 9, 2, 2, 9])
    create_alert(client, daily_rule(for_evaluations=2), start_on=START, now="2022-04-07")
    history = alert_history(client, "acceptance")
    assert history["breached"].tolist() == [False, True, False, True, True, False]
    assert history["state"].tolist() == ["ok", "ok", "ok", "ok", "firing", "firing"]
    assert history["transition"].tolist() == [None, None, None, None, "fired", None]


def test_a_window_with_too_few_records_decides_nothing(client):
    log_days(client)
    rule = daily_rule("sparse", min_records=11)
    create_alert(client, rule, start_on=START, now="2022-04-04")
    history = alert_history(client, "sparse")
    assert history["breached"].tolist() == [None, None, None]
    assert history["state"].tolist() == ["ok"] * 3


def test_other_metrics_are_the_read_contracts_numbers(client):
    log_days(client)
    end = START + pd.Timedelta(days=2)
    rules = [
        AlertRule("volume", APP, "volume", above=15, window="2D", every="1D"),
        AlertRule("length", APP, "mean", field="inputs.length", above=100, window="1D", every="1D"),
        AlertRule(
            "offensive",
            APP,
            "flag_count",
            field="feedback.flag",
            category="offensive",
            above=0,
            window="2D",
            every="1D",
        ),
        AlertRule(
            "accepted",
            APP,
            "acceptance_rate",
            field="feedback.accepted",
            below=95,
            window="2D",
            every="1D",
            filters=["inputs.length < 15"],
        ),
    ]
    values = {r.name: r.run(client, end - pd.Timedelta(days=1), end).details for r in rules}
    assert values["volume"]["value"] == 20 and values["volume"]["state"] == "firing"
    assert values["length"]["value"] == pytest.approx(sum(10 + i for i in range(10)) / 10)
    assert values["length"]["state"] == "ok"
    assert values["offensive"]["value"] == 2 and values["offensive"]["records"] == 20
    # lengths 0..9 on day one and 10..14 on day two: 15 records, 9 + 5 accepted
    assert values["accepted"]["records"] == 15
    assert values["accepted"]["value"] == pytest.approx(100 * 14 / 15)


def test_an_evaluation_stored_before_a_crash_is_not_made_twice(client):
    """The process dies after storing an evaluation and before the ledger
    records the run: the next run finds the stored evaluation."""
    log_days(client)
    rule = daily_rule()
    create_alert(client, rule, start_on=START, now="2022-04-01")  # stored, nothing due yet
    first = rule.run(client, START + pd.Timedelta(days=2), START + pd.Timedelta(days=3))
    assert first.details["transition"] == "fired"
    AutomationScheduler(client).run_once(now="2022-04-04")
    history = alert_history(client, "acceptance")
    assert history["transition"].tolist() == [None, None, "fired"]
    assert history["evaluated_at"].iloc[2] == pd.Timestamp(
        first.details["evaluated_at_us"], unit="us", tz="UTC"
    )


def test_an_application_with_no_records_yet_is_not_an_error(client):
    rule = AlertRule("early", "not-yet", "volume", below=1, window="1D", every="1D")
    create_alert(client, rule, start_on=START, now="2022-04-03")
    assert alert_history(client, "early")["records"].tolist() == [0, 0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"below": None}, "exactly one threshold"),
        ({"above": 1}, "exactly one threshold"),
        ({"below": float("nan")}, "finite number"),
        ({"field": None}, "needs field"),
        ({"for_evaluations": 0}, "positive integer"),
        ({"severity": "loud"}, "severity"),
        ({"window": "soon"}, "not a duration"),
        ({"filters": ["inputs.length <"]}, "needs a value"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(options, message):
    with pytest.raises(ValueError, match=message):
        daily_rule(**options)


@pytest.mark.parametrize("name", ["new accounts", "../x", "", 7])
def test_a_bad_alert_name_is_a_value_error_about_an_alert_not_a_dataset(name):
    with pytest.raises(ValueError, match="alert name") as refused:
        AlertRule(name, APP, "volume", below=1, window="1D", every="1D")
    assert not isinstance(refused.value, DatasetError)


def test_state_changes_need_the_streak_and_undecided_evaluations_keep_it():
    state = AlertState()
    for breached, expected in [
        (True, ("ok", 1, None)),
        (None, ("ok", 1, None)),
        (True, ("firing", 0, "fired")),
        (False, ("firing", 1, None)),
        (True, ("firing", 0, None)),
        (False, ("firing", 1, None)),
        (False, ("ok", 0, "resolved")),
    ]:
        state = advance(state, breached, needed=2)
        assert (state.state, state.streak, state.transition) == expected


@pytest.mark.slow
def test_the_module_api_creates_lists_and_deletes_alerts(tmp_path):
    import gantry_gradio as gantry

    client = gantry.init(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "blobs")
    try:
        log_days(client)
        automation = gantry.create_alert(
            "new_dip",
            APP,
            "acceptance_rate",
            field="feedback.accepted",
            below=50,
            window="1D",
            every="1D",
            start_on=START,
            severity="critical",
        )
        assert automation.trigger.end_on is None  # keeps evaluating as days pass
        bounded = gantry.create_alert(
            "april",
            APP,
            "volume",
            above=100,
            window="1D",
            every="1D",
            start_on=START,
            end_on=START + pd.Timedelta(days=3),
        )
        assert len(bounded.runs()) == 3 and len(gantry.alert_history("april")) == 3
        assert [(r.name, r.severity) for r in gantry.list_alerts()] == [
            ("april", "warning"),
            ("new_dip", "critical"),
        ]
        gantry.delete_alert("april")
        history = gantry.alert_history("new_dip")
        assert history["transition"].tolist()[:6] == [None, None, "fired", None, "resolved", None]
        with pytest.raises(ValueError, match="exists with another definition"):
            gantry.create_alert("new_dip", APP, "volume", above=1, start_on=START)
        gantry.delete_alert("new_dip")
        assert gantry.list_alerts() == []
        assert len(gantry.alert_history("new_dip")) == len(history)  # the history stays
        with pytest.raises(ValueError, match="no alert named"):
            gantry.delete_alert("new_dip")
    finally:
        client.close()


def test_late_feedback_changes_no_past_evaluation_and_counts_in_later_windows(client):
    """An evaluation records what the window held when it was evaluated:
    feedback arriving later for its records changes neither it nor the
    alert's state history (no notification about the past); a later window
    that covers those records counts the feedback."""
    keys = client.log_records(
        APP,
        inputs=[{"length": float(i)} for i in range(10)],
        timestamps=[START + pd.Timedelta(hours=12, minutes=i) for i in range(10)],
    )
    assert client.flush(60)
    rule = daily_rule("late", window="2D", min_records=5)
    create_alert(client, rule, start_on=START, now="2022-04-02")
    before = alert_history(client, "late")
    assert before["records"].tolist() == [0] and before["state"].tolist() == ["ok"]
    client.log_records(APP, feedbacks=[{"accepted": False}] * 10, join_keys=keys)
    assert client.flush(60)
    AutomationScheduler(client).run_once(now="2022-04-03")
    after = alert_history(client, "late")
    pd.testing.assert_frame_equal(after.iloc[:1], before, check_dtype=False)
    assert after["records"].tolist() == [0, 10]
    assert after["transition"].tolist() == [None, "fired"]


def test_quantiles_baseline_distances_and_relative_change(client):
    log_days(client)
    day_two = (START + pd.Timedelta(days=1), START + pd.Timedelta(days=2))
    p90 = AlertRule(
        "p90",
        APP,
        "quantile",
        field="inputs.length",
        quantile=0.9,
        above=1e9,
        window="1D",
        every="1D",
    )
    value, records = p90.measure(client, *day_two)
    # lengths 10..19: the 90th percentile by rank (numpy's inverted_cdf), to a
    # thousandth of the range (1,000 bins)
    expected = np.quantile(np.arange(10.0, 20.0), 0.9, method="inverted_cdf")
    assert records == 10 and value == pytest.approx(expected, abs=0.01)

    # A baseline of the field itself (register_baseline would compute projections)
    client.store.save_baseline_values(APP, "default", {"inputs.length": list(range(10))})
    psi = AlertRule("shift", APP, "psi", field="inputs.length", above=0.25, window="1D", every="1D")
    value, records = psi.measure(client, *day_two)
    expected = client.compare_to_baseline(APP, "inputs.length", start=day_two[0], end=day_two[1])
    assert records == 10 and value == pytest.approx(expected.psi)
    assert value > 0.25  # day two's lengths do not overlap the baseline's at all
    same = psi.measure(client, START, START + pd.Timedelta(days=1))[0]
    assert same < value

    change = daily_rule("fall", compare_to="previous", below=-50)
    create_alert(client, change, start_on=START, now="2022-04-07")
    history = alert_history(client, "fall")
    # 90, 90, 20, 20, 90, 90 percent: no window before the first; -77.8% on day three
    assert history["value"].round(1).tolist()[1:] == [0.0, -77.8, 0.0, 350.0, 0.0]
    assert history["transition"].tolist() == [None, None, "fired", "resolved", None, None]
    with pytest.raises(ValueError, match="quantile= between 0 and 1"):
        AlertRule("q", APP, "quantile", field="inputs.length", quantile=1.5, above=1)
    with pytest.raises(ValueError, match="compare_to"):
        daily_rule(compare_to="yesterday")

    # Against the baseline's own mean (4.5): day two's lengths average 14.5
    above = AlertRule(
        "longer",
        APP,
        "mean",
        field="inputs.length",
        compare_to="baseline",
        above=100,
        window="1D",
        every="1D",
    )
    create_alert(client, above, start_on=START + pd.Timedelta(days=1), now="2022-04-03")
    [evaluation] = alert_history(client, "longer").itertuples()
    assert evaluation.value == pytest.approx(100 * (14.5 - 4.5) / 4.5)
    assert evaluation.transition == "fired"
    with pytest.raises(ValueError, match="mean or a quantile"):
        daily_rule(compare_to="baseline")


def test_a_paused_alert_is_skipped_and_catches_up_on_resuming(tmp_path):
    import gantry_gradio as gantry

    client = gantry.init(f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "blobs")
    try:
        log_days(client)
        automation = create_alert(client, daily_rule("held"), start_on=START, now="2022-04-03")
        gantry.pause_alert("held")
        gantry.pause_alert("held")  # twice: no error
        assert automation.is_paused(client)
        assert AutomationScheduler(client).run_once(now="2022-04-07") == []
        assert len(alert_history(client, "held")) == 2
        gantry.resume_alert("held")
        outcomes = AutomationScheduler(client).run_once(now="2022-04-07")
        assert len(outcomes) == 4
        assert alert_history(client, "held")["transition"].tolist() == [
            None,
            None,
            "fired",
            None,
            "resolved",
            None,
        ]
        with pytest.raises(ValueError, match="no alert named"):
            gantry.pause_alert("nope")
    finally:
        client.close()


def test_a_rule_that_cannot_be_evaluated_is_recorded_failed_and_retried(client):
    """No baseline registered: the interval fails with the reason in the
    ledger, later windows wait, and nothing is stored as evaluated."""
    log_days(client)
    rule = AlertRule(
        "orphan",
        APP,
        "mean",
        field="inputs.length",
        compare_to="baseline",
        above=10,
        window="1D",
        every="1D",
    )
    automation = create_alert(client, rule, start_on=START, now="2022-04-04")
    runs = automation.runs(client)
    assert runs["status"].tolist() == ["failed"]
    assert "register_baseline" in runs["error"].iloc[0]
    assert alert_history(client, "orphan").empty
    client.store.save_baseline_values(APP, "default", {"inputs.length": [1.0, 2.0]})
    AutomationScheduler(client).run_once(now="2022-04-04")
    assert automation.runs(client)["status"].tolist() == ["done"] * 3
    assert len(alert_history(client, "orphan")) == 3


def test_a_reused_name_starts_with_no_history_even_from_another_application(client):
    """app-b's rule "acc" fired on its dip and was deleted; app-a's new "acc"
    (another application, another definition) owns none of that."""
    from gantry_gradio.alerts import notifications
    from gantry_gradio.alerts.overview import overview

    log_days(client)  # APP dips to 20% on days 3 and 4
    old = create_alert(client, daily_rule("acc"), start_on=START, now="2022-04-07")
    assert "firing" in alert_history(client, "acc")["state"].tolist()
    old.delete(client)
    client.log_records(
        "app-a",
        inputs=[{"length": 1.0}] * 6,
        feedbacks=[{"accepted": True}] * 6,
        timestamps=[START + pd.Timedelta(days=d, hours=1) for d in range(6)],
    )
    assert client.flush(60)
    rule = AlertRule(
        "acc",
        "app-a",
        "acceptance_rate",
        field="feedback.accepted",
        below=60,
        window="1D",
        every="1D",
    )
    create_alert(client, rule, start_on=START, now="2022-04-05")
    history = alert_history(client, "acc")
    assert history["value"].tolist() == [100.0] * 4
    assert set(history["state"]) == {"ok"} and notifications(client, "acc") == []
    shown = overview(client, "app-a")
    assert "firing" not in shown.rules.to_string().lower()
    assert old.runs(client)["automation"].tolist() == ["acc"] * 4  # the new rule's runs only
