"""Aggregations, filters and views against known data, on SQLite and PostgreSQL."""

import numpy as np
import pandas as pd
import pytest

from gantry_gradio import FilterError, ViewError

APP = "gec-demo-app"
START = pd.Timestamp("2022-04-04", tz="UTC")  # a Monday


@pytest.fixture
def seeded(client):
    """14 days x 10 predictions. Day d, item i: accepted unless i < d % 4;
    account age = i * 10; flags on items 0 (incorrect) and 1 (offensive) of even days."""
    rows = []
    for day in range(14):
        for i in range(10):
            feedback = {"accepted": not (i < day % 4)}
            if day % 2 == 0 and i < 2:
                feedback["flag"] = ["incorrect", "offensive"][i]
            rows.append(
                dict(
                    inputs={"text": f"d{day} i{i}"},
                    outputs={"inference": f"D{day} I{i}"},
                    feedbacks=feedback,
                    tags={"account_age_days": i * 10, "username": f"u{i}"},
                    timestamps=START + pd.Timedelta(days=day, hours=i),
                )
            )
    columns = {k: [r[k] for r in rows] for k in rows[0]}
    client.log_records(APP, **columns)
    assert client.flush(60)
    return client


def test_percent_true_per_day(seeded):
    df = seeded.percent_true(APP, "feedback.accepted", bucket="day")
    assert len(df) == 14
    assert list(df["start"]) == [START + pd.Timedelta(days=d) for d in range(14)]
    assert list(df["predictions"]) == [10] * 14
    assert list(df["true"]) == [10 - d % 4 for d in range(14)]
    assert np.allclose(df["percent_true"], [(10 - d % 4) / 10 for d in range(14)])


def test_percent_true_per_week_starts_monday_and_honours_filters(seeded):
    df = seeded.percent_true(APP, bucket="week", filters=["tags.account_age_days < 20"])
    assert list(df["start"]) == [START, START + pd.Timedelta(days=7)]
    # items 0 and 1 only: rejected when i < d % 4
    for week, row in zip(range(2), df.itertuples(), strict=True):
        days = range(week * 7, week * 7 + 7)
        expected_true = sum(1 for d in days for i in (0, 1) if not i < d % 4)
        assert row.true == expected_true
        assert row.predictions == 14


def test_percent_true_per_hour(seeded):
    df = seeded.percent_true(APP, bucket="hour", start=START, end=START + pd.Timedelta(days=1))
    assert len(df) == 10 and list(df["predictions"]) == [1] * 10


def test_value_counts_of_flags(seeded):
    df = seeded.value_counts(APP, "feedback.flag")
    assert dict(zip(df["value"], df["count"], strict=True)) == {"incorrect": 7, "offensive": 7}
    per_day = seeded.value_counts(APP, "feedback.flag", bucket="day")
    assert len(per_day) == 14 and set(per_day["count"]) == {1}


def test_histogram_matches_numpy(seeded):
    df = seeded.histogram(APP, "tags.account_age_days", bins=4)
    ages = np.repeat(np.arange(10) * 10, 14)
    counts, edges = np.histogram(ages, bins=4)
    assert list(df["count"]) == list(counts)
    assert np.allclose(df["bin_start"], edges[:-1])
    fixed = seeded.histogram(APP, "tags.account_age_days", bins=2, value_range=(0, 40))
    assert list(fixed["count"]) == [14 * 2, 14 * 3]  # 0,10 | 20,30,40 (top edge inclusive)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("tags.account_age_days < 30", 3 * 14),
        (("tags.account_age_days", ">=", 80), 2 * 14),
        ({"field": "tags.username", "op": "in", "value": ["u1", "u2"]}, 2 * 14),
        ('tags.username not in ["u1"]', 9 * 14),
        ("feedback.accepted == false", sum(d % 4 for d in range(14))),
        ("feedback.flag is null", 140 - 14),
        ("feedback.flag is not null", 14),
        ("inputs.text contains i9", 14),
        ("inputs.text contains %", 0),
        ("timestamp >= 2022-04-10", 140 - 60),
        ('tags.username == "x\'; DROP TABLE gantry_views; --"', 0),
    ],
)
def test_filters(seeded, spec, expected):
    assert len(seeded.query(APP, filters=[spec])) == expected
    assert seeded.list_applications() == [APP], "an injection attempt must stay a plain value"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("tags.nope == 1", "unknown field 'tags.nope'"),
        ('tags.account_age_days == "ten"', "holds number values"),
        ("feedback.accepted < true", "compare it with == or !="),
        ("tags.username ~ x", "cannot read filter"),
        (("tags.username", "LIKE", "x"), "unknown operator"),
        (("tags.username", "in", "u1"), "needs a list"),
        (42, "a filter is"),
    ],
)
def test_bad_filters_are_clear_errors(seeded, spec, message):
    with pytest.raises(FilterError, match=message):
        seeded.query(APP, filters=[spec])


def test_aggregations_refuse_wrong_kinds(seeded):
    with pytest.raises(FilterError, match="needs a boolean"):
        seeded.percent_true(APP, "tags.username")
    with pytest.raises(FilterError, match="needs a numeric"):
        seeded.histogram(APP, "tags.username")
    with pytest.raises(ValueError, match="bucket must be"):
        seeded.percent_true(APP, bucket="month")


def test_views_crud_and_use(seeded):
    seeded.create_view(APP, "this-week", "2022-04-11", "2022-04-18")
    seeded.create_view(APP, "young", filters=["tags.account_age_days <= 20"])
    seeded.create_view(
        APP, "rejected", "2022-04-11", "2022-04-18", filters=[("feedback.accepted", "==", False)]
    )
    assert [v.name for v in seeded.list_views(APP)] == ["rejected", "this-week", "young"]
    view = seeded.get_view(APP, "this-week")
    assert view.start_time == pd.Timestamp("2022-04-11", tz="UTC")
    assert len(seeded.query(APP, view="this-week")) == 70
    assert len(seeded.query(APP, view="young")) == 3 * 14
    assert len(seeded.query(APP, view="rejected")) == sum(d % 4 for d in range(7, 14))
    # a view's filters AND extra filters; an explicit window overrides the view's
    assert len(seeded.query(APP, view="young", filters=["tags.account_age_days > 0"])) == 2 * 14
    assert len(seeded.query(APP, "2022-04-04", "2022-04-05", view="this-week")) == 10
    df = seeded.percent_true(APP, view="this-week")
    assert list(df["predictions"]) == [10] * 7

    with pytest.raises(ViewError, match="exists"):
        seeded.create_view(APP, "young")
    seeded.create_view(APP, "young", filters=["tags.account_age_days <= 0"], replace=True)
    assert len(seeded.query(APP, view="young")) == 14
    seeded.delete_view(APP, "young")
    with pytest.raises(ViewError, match="no view 'young'"):
        seeded.query(APP, view="young")
    with pytest.raises(ViewError, match="end_time must be after"):
        seeded.create_view(APP, "backwards", "2022-04-10", "2022-04-01")
    with pytest.raises(FilterError):
        seeded.create_view(APP, "broken", filters=["not a filter"])


def test_contains_is_the_same_case_sensitive_substring_test_on_every_store(client):
    """SQLite's LIKE ignores ASCII case and PostgreSQL's does not: `contains`
    must count the same rows on both."""
    client.log_record("contains-app", inputs={"text": "Row with 100% _x\\ inside"})
    assert client.flush(30)

    def matches(value: str) -> int:
        return len(client.query("contains-app", filters=[("inputs.text", "contains", value)]))

    assert [matches(v) for v in ("Row", "row", "WITH", "100%", "_x\\", "%_", "")] == [
        1,
        0,
        0,
        1,
        1,
        0,
        1,
    ]


@pytest.mark.parametrize("name", ["app\x00", "\x00", "a\x00; DROP TABLE x"])
def test_an_application_name_with_nul_is_unknown_not_a_database_error(client, name):
    from gantry_gradio import UnknownApplicationError

    with pytest.raises(UnknownApplicationError, match="has no records"):
        client.query(name)
    with pytest.raises(UnknownApplicationError):
        client.create_view(name, "v")
