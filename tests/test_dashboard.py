"""The monitoring tab: panel numbers on known data, the launched UI, access."""

from __future__ import annotations

import gradio as gr
import pandas as pd
import pytest
from gradio_client.exceptions import AppError

from gantry_gradio.dashboard import panels
from gantry_gradio.dashboard.panels import Scope
from gantry_gradio.dashboard.tab import monitoring_tab
from tests.gradio_apps import (
    TEST_TOKEN,
    chart_spec,
    connect,
    launched,
    monitoring_refresh,
    monitoring_save_view,
    plotted,
    shown,
)

APP = "gec"
START = pd.Timestamp("2022-04-04", tz="UTC")
ACCEPTED, FLAG = "feedback.accepted", "feedback.flag"


@pytest.fixture
def seeded(client):
    """14 days x 10 predictions: item i of day d is rejected when i < d % 4;
    items 0 and 1 of even days are flagged; account age is 10 * i."""
    rows = []
    for day in range(14):
        for i in range(10):
            feedback = {"accepted": not (i < day % 4)}
            if day % 2 == 0 and i < 2:
                feedback["flag"] = ["incorrect", "offensive"][i]
            rows.append(
                (
                    f"d{day} i{i}",
                    f"D{day} I{i} done",
                    feedback,
                    {"account_age_days": 10 * i},
                    START + pd.Timedelta(days=day, hours=i),
                )
            )
    text, out, fb, tags, ts = zip(*rows, strict=True)
    client.log_records(
        APP,
        inputs=[{"text": t} for t in text],
        outputs=[{"inference": o} for o in out],
        feedbacks=list(fb),
        tags=list(tags),
        timestamps=list(ts),
    )
    assert client.flush(60)
    client.compute_projections(APP, projections=["entropy"], progress=False)
    return client


def rejected(days) -> int:
    return sum(d % 4 for d in days)


def test_headline_with_previous_period(seeded):
    scope = Scope(APP, start=START + pd.Timedelta(days=7), end=START + pd.Timedelta(days=14))
    numbers = panels.headline(seeded, scope, ACCEPTED, FLAG)
    assert numbers["predictions"] == 70 and numbers["feedback"] == 70
    assert numbers["acceptance"] == pytest.approx((70 - rejected(range(7, 14))) / 70)
    assert numbers["flags"] == 2 * 3  # days 8, 10, 12
    previous = numbers["previous"]
    assert previous["predictions"] == 70 and previous["flags"] == 2 * 4  # days 0, 2, 4, 6
    assert previous["acceptance"] == pytest.approx((70 - rejected(range(7))) / 70)
    assert panels.headline(seeded, Scope(APP), ACCEPTED, FLAG)["previous"] is None
    seeded.create_view(APP, "week-2", START + pd.Timedelta(days=7), START + pd.Timedelta(days=14))
    by_view = panels.headline(seeded, Scope(APP, view="week-2"), ACCEPTED, FLAG)
    assert by_view == numbers, "a view's window has the same previous period"


def test_time_series_panels(seeded):
    scope = Scope(APP, bucket="week", filters=["tags.account_age_days < 20"])
    weekly = panels.acceptance_over_time(seeded, scope, ACCEPTED)
    assert list(weekly["predictions"]) == [14, 14]
    flags = panels.flags_over_time(seeded, Scope(APP, bucket="day"), FLAG)
    assert flags["count"].sum() == 14 and set(flags["value"]) == {"incorrect", "offensive"}
    means = panels.projection_over_time(seeded, Scope(APP), "projections.entropy.chars")
    frame = seeded.query(APP)
    expected = frame.groupby(frame["timestamp"].dt.floor("D"))["projections.entropy.chars"].mean()
    assert list(means["mean"]) == pytest.approx(list(expected))


def test_split_distribution_adds_up(seeded):
    frame = panels.split_distribution(seeded, Scope(APP), "tags.account_age_days", ACCEPTED, bins=5)
    accepted = frame[frame["accepted"]]["count"].sum()
    assert accepted == 140 - rejected(range(14))
    assert frame["count"].sum() == 140
    young = frame[(frame["bin_start"] == 0) & ~frame["accepted"]]["count"].item()
    assert young == sum(1 for d in range(14) for i in (0, 1) if i < d % 4)


def test_rows_are_paged_newest_first_with_links(seeded, tmp_path):
    seeded.log_record(APP, inputs={"raw": b"secret"}, timestamp=START + pd.Timedelta(days=20))
    assert seeded.flush(30)
    first = panels.rows_page(seeded, Scope(APP), page=0, page_size=5)
    second = panels.rows_page(seeded, Scope(APP), page=1, page_size=5)
    assert len(first) == 5 and len(second) == 5
    assert first["timestamp"].is_monotonic_decreasing
    assert first["timestamp"].iloc[-1] > second["timestamp"].iloc[0]
    link = first["inputs.raw"].iloc[0]
    assert not link.startswith("file://") and open(link, "rb").read() == b"secret"


def _tab_app(client, **options):
    options.setdefault("access_token", None if "allowed_users" in options else TEST_TOKEN)
    with gr.Blocks() as demo:
        with gr.Tab("Monitoring"):
            monitoring_tab(APP, client=client, **options)
    return demo


def test_launched_tab_serves_the_panels_and_saves_views(seeded):
    with launched(_tab_app(seeded)) as url:
        gradio_client = connect(url)
        out = monitoring_refresh(gradio_client, APP, token=TEST_TOKEN)
        headline = out[3]
        assert "**Predictions:** 140" in headline and "**Flags:** 14" in headline
        acceptance = plotted(out[4])
        assert len(acceptance) == 14, "one point per day"
        rows = shown(out[12])
        assert len(rows["data"]) == 50 and "inputs.text" in rows["headers"]
        assert "join_key" not in rows["headers"], "the compact set until others are chosen"
        message = monitoring_save_view(
            gradio_client,
            APP,
            "young",
            token=TEST_TOKEN,
            filters="tags.account_age_days <= 10",
        )
        assert "Saved view" in message
    view = seeded.get_view(APP, "young")
    assert view.filters[0].field == "tags.account_age_days"
    assert len(seeded.query(APP, view="young")) == 28


def test_monitoring_data_is_refused_without_access(seeded):
    with launched(
        _tab_app(seeded, allowed_users=["alice"]), auth=[("alice", "pw-a"), ("bob", "pw-b")]
    ) as url:
        alice = connect(url, auth=("alice", "pw-a"))
        assert "Predictions" in monitoring_refresh(alice, APP)[3]
        bob = connect(url, auth=("bob", "pw-b"))
        with pytest.raises(AppError, match="not allowed"):
            monitoring_refresh(bob, APP)
        with pytest.raises(AppError, match="not allowed"):
            monitoring_save_view(bob, APP, "x")
    with launched(_tab_app(seeded, access="loopback", access_token=None)) as url:
        proxied = connect(url, headers={"X-Forwarded-For": "203.0.113.9"})
        with pytest.raises(AppError, match="only on localhost"):
            monitoring_refresh(proxied, APP)


def test_launched_tab_compares_a_projection_with_its_baseline(seeded):
    reference = pd.DataFrame(
        {"outputs.inference": [f"a much longer reference {i}" for i in range(40)]}
    )
    seeded.register_baseline(APP, reference, projections=["entropy"])
    chars = "projections.entropy.chars"
    expected = panels.baseline_comparison(seeded, Scope(APP), chars)
    with launched(_tab_app(seeded)) as url:
        out = monitoring_refresh(connect(url), APP, token=TEST_TOKEN, projection=chars)
    assert out[8]["value"] == chars
    assert f"PSI {expected.psi:.3f}" in out[10] and f"KS {expected.ks:.3f}" in out[10]
    assert expected.ks == 1.0, "production outputs are all shorter than the reference"
    shares = plotted(out[11])
    assert shares.groupby("source")["percent"].sum().to_dict() == pytest.approx(
        {"production": 100.0, "baseline": 100.0}
    )
    # The distribution chart's bins (whole numbers for a whole-number field),
    # never the fractional bins the distances use.
    drawn = shares.groupby("bin")["percent"].sum()
    assert (drawn > 0).all() and all("." not in label for label in drawn.index)
    histogram_bins = set(plotted(out[16])["bin"])
    assert histogram_bins <= set(drawn.index), "the distribution chart's bins, widened"
    assert chart_spec(out[11])["mark"]["type"] == "line", "two polygons, not stacked bars"
    assert len(plotted(out[9])) == 14
