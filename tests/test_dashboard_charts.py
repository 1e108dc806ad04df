"""What the tab's charts are made of: bins chosen from the data, time axes
that fit the window (gaps, zeros, percent, years), series split by version,
the rows table and its cells."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest

from gantry_gradio.dashboard import panels, record_view, render, vega
from gantry_gradio.dashboard.bins import choose_bins, histogram_on_chosen_bins
from gantry_gradio.dashboard.cell_files import StoredLink, stored_file
from gantry_gradio.dashboard.panels import Scope

APP = "charts"
START = pd.Timestamp("2022-04-04", tz="UTC")


def _log(client, values, *, accepted=None, field="age"):
    n = len(values)
    client.log_records(
        APP,
        inputs=[{"text": f"t{i}"} for i in range(n)],
        outputs=[{"text": f"o{i}"} for i in range(n)],
        tags=[{field: v} for v in values],
        feedbacks=None if accepted is None else [{"accepted": a} for a in accepted],
        timestamps=[START + pd.Timedelta(hours=i) for i in range(n)],
    )
    assert client.flush(60)


def test_integer_fields_get_whole_number_bins_that_hold_every_value(client):
    rng = np.random.default_rng(3)
    ages = [int(a) for a in rng.exponential(120, 2000)] + [900]  # a long tail
    _log(client, ages)
    bins = choose_bins(client.store, Scope(APP), "tags.age")
    assert bins.integer and float(bins.width).is_integer() and bins.low == 0
    assert bins.width in (1, 2, 5, 10, 20, 25, 50, 100)  # a nice step, not 900 / 20
    assert 5 <= bins.count <= 41
    low, high = bins.value_range
    assert low <= min(ages) and high > max(ages)
    frame = panels.split_distribution(client, Scope(APP), "tags.age", "feedback.accepted")
    assert frame["count"].sum() == len(ages), "no value falls outside the bins"
    assert set(frame["accepted"].isna()) == {True}, "no feedback: one histogram of all"
    assert frame["label"].iloc[0] == f"0–{int(bins.width) - 1}"


def test_real_valued_fields_and_a_single_value(client):
    _log(client, [0.1 * i for i in range(50)], field="score")
    bins = choose_bins(client.store, Scope(APP), "tags.score")
    # Freedman–Diaconis: 2 · IQR (2.45) / 50^(1/3) = 1.33, rounded up to the nice step 2.
    assert not bins.integer and (bins.low, bins.width, bins.count) == (0, 2, 3)
    assert bins.label(0.5) == f"0.5–{0.5 + bins.width:.4g}"
    one = Scope(APP, filters=["tags.score == 0"])
    single = choose_bins(client.store, one, "tags.score")
    assert single.count == 1 and single.value_range == (0.0, 1.0)
    assert choose_bins(client.store, Scope(APP, filters=["tags.score > 99"]), "tags.score") is None


def test_bins_split_by_feedback_in_value_order(client):
    ages = [3, 3, 3, 40, 40, 150, 150, 150, 300, 300] * 10
    accepted = [age > 7 for age in ages]
    _log(client, ages, accepted=accepted)
    frame = panels.split_distribution(client, Scope(APP), "tags.age", "feedback.accepted")
    young = frame[frame["bin_start"] == 0]
    assert young[~young["accepted"].astype(bool)]["count"].item() == 30
    bars = render.distribution_bars(frame)
    assert set(bars["accepted"]) == {"accepted", "not accepted"}
    order = render.bin_order(frame)
    starts = frame.drop_duplicates("label").set_index("label")["bin_start"]
    assert list(starts[order]) == sorted(starts), "labels in value order, not text order"


DAY_US = 86_400_000_000


def _spec(plot) -> dict:
    return json.loads(plot.plot)


def test_a_time_series_breaks_at_gaps_and_covers_its_window():
    """April 1-3 and 10: two line segments, never one across the empty days;
    the axis spans the window given, padded by half a bucket."""
    starts = pd.to_datetime(["2022-04-01", "2022-04-02", "2022-04-03", "2022-04-10"], utc=True)
    frame = pd.DataFrame({"start": starts, "percent_true": [0.9, 0.8, 0.85, 0.5]})
    low = pd.Timestamp("2022-04-01", tz="UTC").value // 1000
    spec = _spec(
        vega.time_series(
            frame, y="percent_true", y_title="Accepted (%)", step_us=DAY_US,
            window=(low, low + 12 * DAY_US), percent=True,
        )
    )
    values = pd.DataFrame(spec["data"]["values"])
    assert values["segment"].tolist() == [0, 0, 0, 1], "a new segment after the gap"
    assert spec["encoding"]["detail"]["field"] == "segment"
    assert values["value"].tolist() == pytest.approx([90, 80, 85, 50]), "percent, not 0-1"
    assert values["description"].iloc[0] == "2022-04-01: 90.0%"
    x = spec["encoding"]["x"]
    assert x["scale"]["domain"] == [(low - DAY_US // 2) // 1000, (low + 11.5 * DAY_US) // 1000]
    assert x["scale"]["type"] == "utc" and x["axis"]["format"] == "%b %d"
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 100]
    assert spec["mark"]["point"] is True, "a lone point still shows"


def test_counts_fill_missing_days_with_zero_and_years_show_when_spanned():
    starts = pd.to_datetime(["2021-12-30", "2022-01-02"], utc=True)
    frame = pd.DataFrame({"start": starts, "count": [3, 1], "value": ["other", "other"]})
    low = starts[0].value // 1000
    spec = _spec(
        vega.time_series(
            frame, y="count", y_title="Flags", step_us=DAY_US, window=(low, low + 5 * DAY_US),
            series="value", counts=True,
        )
    )
    values = pd.DataFrame(spec["data"]["values"])
    assert values["value"].tolist() == [3, 0, 0, 1, 0], "every day of the window, 0 if none"
    assert values["segment"].nunique() == 1
    assert spec["encoding"]["y"]["scale"] == {"zero": True}
    assert "%Y" in spec["encoding"]["x"]["axis"]["format"], "the axis crosses a year"
    one_year = _spec(
        vega.time_series(frame.iloc[1:], y="count", y_title="Flags", step_us=DAY_US,
                         window=(starts[1].value // 1000, starts[1].value // 1000 + DAY_US))
    )
    assert "%Y" not in one_year["encoding"]["x"]["axis"]["format"]


def test_auto_bucket_follows_the_span():
    hour = 3_600_000_000
    assert panels.chosen_bucket("auto", (0, 24 * hour)) == "hour"
    assert panels.chosen_bucket("auto", (0, 30 * 24 * hour)) == "day"
    assert panels.chosen_bucket("auto", (0, 4 * 365 * 24 * hour)) == "week"
    assert panels.chosen_bucket("week", (0, hour)) == "week", "the user's choice wins"
    with pytest.raises(ValueError, match="bucket must be one of"):
        panels.chosen_bucket("fortnight", (0, hour))


def test_time_series_split_by_version_and_acceptance_per_version(client):
    for version, accepted in (("v1", [True] * 8 + [False] * 2), ("v2", [True] * 3 + [False] * 3)):
        client.log_records(
            APP,
            version=version,
            inputs=[{"text": "x"}] * len(accepted),
            feedbacks=[{"accepted": a} for a in accepted],
            tags={"env": "prod"},
            timestamps=[START + pd.Timedelta(days=i % 2) for i in range(len(accepted))],
        )
    assert client.flush(60)
    shown = panels.snapshot(
        client, Scope(APP), accepted_field="feedback.accepted", flag_field="f", split="version"
    )
    assert shown.split == "version" and shown.split_fields == ["version", "tags.env"]
    by_series = shown.acceptance.groupby("series")["true"].sum().to_dict()
    assert by_series == {"v1": 8, "v2": 3}
    assert [(r["value"], r["predictions"], r["acceptance"]) for r in shown.by_version] == [
        ("v1", 10, 0.8),
        ("v2", 6, 0.5),
    ]
    headline = render.headline_markdown(shown.headline, shown.by_version)
    assert "**Acceptance by version:** `v1` 80.0% (10 predictions) · `v2` 50.0%" in headline
    unknown = panels.snapshot(
        client, Scope(APP), accepted_field="feedback.accepted", flag_field="f", split="inputs.text"
    )
    assert unknown.split is None and "series" not in unknown.acceptance


def test_rows_table_links_files_and_a_clicked_cell_gives_only_stored_files(client, tmp_path):
    client.log_record(APP, inputs={"raw": b"bytes of a flagged file"}, timestamp=START)
    assert client.flush(30)
    page = panels.rows_page(client, Scope(APP), 0)
    path, key = page["inputs.raw"].iloc[0], page["join_key"].iloc[0]
    signed = StoredLink("https://bucket.s3.example/k?X-Amz-Signature=1")  # as S3 links are made
    presigned = page.assign(**{"inputs.raw": pd.Series([signed], dtype=object)})
    every = list(presigned.columns)
    table, types = record_view.table(presigned, every)
    column = list(table.columns).index("inputs.raw")
    assert types[column] == "markdown" and table["inputs.raw"].iloc[0].startswith("[open](https")
    assert set(types) - {"markdown"} == {"str"}
    # Logged text that looks like a URL stays text, in the table and the detail.
    typed = page.assign(**{"inputs.raw": ["https://evil.example/log-in-again"]})
    shown, kinds = record_view.table(typed, every)
    assert shown["inputs.raw"].iloc[0] == "https://evil.example/log-in-again"
    assert set(kinds) == {"str"}
    assert record_view.table(page, every)[0]["inputs.raw"].iloc[0] == path, "a path stays text"
    link = stored_file(client, APP, key, path)
    encoded = base64.b64encode(b"bytes of a flagged file").decode()
    assert link.startswith("<a download=") and f";base64,{encoded}" in link
    assert stored_file(client, "other-app", key, path) == "", "another application's row"
    assert stored_file(client, APP, "another-key", path) == "", "another record's file"
    secret = tmp_path / "not-a-blob.txt"
    secret.write_text("other data")
    # Beside record blobs: the lake's files (every application's rows), look-alikes.
    lake = client.blobs.root / "lake" / "aa" / f"{'a' * 64}.bin"
    lake.parent.mkdir(parents=True)
    lake.write_bytes(b"other application's rows")
    renamed = client.blobs.root / "aa" / "notes.txt"
    renamed.parent.mkdir(exist_ok=True)
    renamed.write_text("not content-addressed")
    for value in (
        str(secret),
        str(lake),
        str(renamed),
        "/etc/passwd",
        f"{path}/../../../../etc/passwd",
        "hello",
        "",
    ):
        assert stored_file(client, APP, key, value) == "", value


def test_the_launched_tab_draws_markers_for_one_day_and_splits_by_version(client):
    import gradio as gr

    from gantry_gradio.dashboard.tab import monitoring_tab
    from tests.gradio_apps import (
        TEST_TOKEN,
        chart_spec,
        connect,
        launched,
        monitoring_refresh,
        plotted,
    )

    for version, accepted in (("v1", [True, True, False]), ("v2", [False])):
        client.log_records(
            APP,
            version=version,
            inputs=[{"text": "x"}] * len(accepted),
            feedbacks=[{"accepted": a, "flag": "incorrect"} for a in accepted if not a]
            + [{"accepted": a} for a in accepted if a],
            timestamps=[START] * len(accepted),
        )
    assert client.flush(60)
    with gr.Blocks() as demo:
        monitoring_tab(APP, client=client, access_token=TEST_TOKEN)
    with launched(demo) as url:
        app = connect(url)
        whole = monitoring_refresh(app, APP, token=TEST_TOKEN)
        split = monitoring_refresh(app, APP, token=TEST_TOKEN, split="version")
    assert chart_spec(whole[4])["mark"]["point"] is True, "one day: a marker shows"
    assert "**Acceptance by version:** `v1` 66.7% (3 predictions) · `v2` 0.0%" in whole[3]
    assert chart_spec(split[4])["encoding"]["color"]["field"] == "series"
    series = plotted(split[4]).set_index("series")["value"].round(1).to_dict()
    assert series == {"v1": 66.7, "v2": 0.0}, "percent accepted per version"
    assert split[17]["value"] == "version" and "version" in str(split[17]["choices"])
    # Flags too: one line per version (options added up), one per option unsplit.
    assert plotted(whole[5])["series"].tolist() == ["incorrect"]
    assert split[5]["label"] == "Flags by version"
    flagged = plotted(split[5]).groupby("series")["value"].sum().to_dict()
    assert flagged == {"v1": 1, "v2": 1}


@pytest.mark.parametrize(
    ("values", "integer"),
    [
        ([0, 3, 7, 10], True),
        ([0, 2.5, 10], False),  # whole-number ends, a fraction inside
        ([0, 3.01, 10], False),  # a small fraction, still seen (1/256 of a unit here)
        ([0, 300.5, 600], False),  # half units, over a wider range
        ([-4, 0, 5], True),
        ([0, 1.5e6], True),  # too wide to look inside: whole-number ends decide
    ],
)
def test_integer_fields_are_told_from_the_values_not_their_ends(client, values, integer):
    _log(client, values, field="n")
    bins = choose_bins(client.store, Scope(APP), "tags.n")
    assert bins.integer is integer
    low, high = bins.value_range
    assert low <= min(values) and high > max(values)


def test_whole_number_counts_summed_from_the_fine_histogram_equal_a_direct_one(client):
    rng = np.random.default_rng(11)
    ages = [int(a) for a in rng.exponential(60, 600)] + [0, 1, 499]
    _log(client, ages, accepted=[(a * 7) % 3 != 0 for a in ages])
    scope = Scope(APP)
    bins, summed = histogram_on_chosen_bins(client.store, scope, "tags.age", "feedback.accepted")
    assert bins.integer and bins.width > 1
    direct = client.store.histogram(
        scope, "tags.age", bins.count, bins.value_range, split_by="feedback.accepted"
    )
    key = ["feedback.accepted", "bin_start"]
    pd.testing.assert_frame_equal(
        summed.sort_values(key).reset_index(drop=True),
        direct.sort_values(key).reset_index(drop=True)[summed.columns],
        check_dtype=False,
    )
    alone = histogram_on_chosen_bins(client.store, scope, "tags.age")[1]
    assert alone["count"].sum() == len(ages) and list(alone.columns) == [
        "bin_start",
        "bin_end",
        "count",
    ]


def test_a_version_name_stays_text_in_the_headline():
    markdown_it = pytest.importorskip("markdown_it")
    hostile = "v2` [log in again](http://evil.example) `"
    rows = [
        {"value": "v1", "predictions": 3, "feedback": 3, "acceptance": 0.5},
        {"value": hostile, "predictions": 1, "feedback": 1, "acceptance": 1.0},
    ]
    numbers = {"predictions": 4, "feedback": 4, "acceptance": 0.75, "flags": 0}
    html = markdown_it.MarkdownIt().render(render.headline_markdown(numbers, rows))
    assert "<a " not in html and "evil.example" in html
    assert "<code>v2` [log in again](http://evil.example) `</code>" in html


def test_the_record_detail_shows_every_field_its_files_and_feedback_events(client):
    """One record in full: text that looks like a link stays text, its own
    file is handed over, its feedback events come oldest first with times;
    another application's or an unknown key shows nothing."""
    key = client.log_record(
        APP,
        inputs={"text": 'https://evil.example/log-in "again" <b>now</b>', "raw": b"file bytes"},
        outputs={"text": "ok"},
        timestamp=START,
    )
    client.log_record(APP, feedback={"accepted": True}, join_key=key, timestamp=START)
    later = START + pd.Timedelta(days=40)
    client.log_record(APP, feedback={"flag": "other"}, join_key=key, timestamp=later)
    assert client.flush(30)
    html = record_view.detail(client, APP, key)
    assert f"Record <code>{key}</code>" in html
    assert "evil.example" in html and 'href="https://evil' not in html and "<b>now" not in html
    assert base64.b64encode(b"file bytes").decode() in html, "its own file, handed over"
    events = html[html.index("feedback events") :]
    assert events.index("2022-04-04 00:00:00 UTC") < events.index("2022-05-14 00:00:00 UTC")
    assert "{&quot;feedback.accepted&quot;: true}" in events and "feedback.flag" in events
    assert record_view.detail(client, "other-app", key) == ""
    assert record_view.detail(client, APP, "no-such-key") == ""
