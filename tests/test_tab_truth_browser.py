"""The tab tells the truth at first sight, checked in Chromium on the demo's
month plus two predictions made today (as after trying the corrector once):
every chart shows the current selection after one refresh whatever control
changed, time axes fit the window, one unit per quantity, legible bins, the
window and what set it, the alert's chart where it is announced, a filter
mistake next to the filters, and rows a person can read. Each chart's drawn
marks (their aria-labels, written by vega.py) are compared with the server's
answer for the same controls and, for acceptance, with pandas on the rows."""

from __future__ import annotations

import contextlib
import re

import pandas as pd
import pytest

import backfill
from demo_app.browser import CHROMIUM, charts, launch_chromium, launched, open_monitoring, pick
from demo_app.browser import wait_until_idle as idle
from demo_app.history import HISTORY_VIEW
from demo_app.screenshots import ACCEPTED, APP, PASSWORD, USER, serve_tab
from gantry_gradio import Client
from tests.gradio_apps import chart_spec, connect, monitoring_refresh

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="apt-get install chromium")
AGE = "tags.account_age_days"
#: Chart label -> the refresh output (by position) that fills it.
OUTPUTS = {
    "Acceptance rate (%)": 4,
    "Flags by option": 5,
    "Flags by version": 5,
    "Accepted vs not accepted": 7,
    "Projection mean over time": 9,
    "Production vs baseline": 11,
    "Projection distribution": 16,
    "Alert value and threshold": 20,
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("truth")
    url = f"sqlite:///{folder / 'records.db'}"
    options = ["--store", url, "--blobs", str(folder / "blobs"), "--projections", "edit"]
    assert backfill.main(["--load-data", "--create-views", *options]) == 0
    client = Client(url, blobs=folder / "blobs", spool_dir=folder / "spool")
    now = pd.Timestamp.now(tz="UTC").floor("s")
    for i, accepted in enumerate((True, False)):
        key = client.log_record(
            APP,
            version="live",
            inputs={"text": f"I has {i} cat"},
            outputs={"inference": f"I have {i} cats"},
            tags={"account_age_days": 3 + i, "username": "visitor"},
            timestamp=now - pd.Timedelta(minutes=5 * i),
        )
        client.log_record(APP, feedback={"correction_accepted": accepted}, join_key=key)
    assert client.flush(60)
    client.compute_projections(APP, projections=["edit"], progress=False)
    yield client
    client.close()


@contextlib.contextmanager
def _page(client: Client, **tab_options):
    from playwright.sync_api import sync_playwright

    demo = serve_tab(client, APP, ACCEPTED, **tab_options)
    with launched(demo, auth=[(USER, PASSWORD)]) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            errors: list[str] = []  # a spec Vega cannot draw leaves a blank box and says so here
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            open_monitoring(page, url, USER, PASSWORD)
            yield page, connect(url, auth=(USER, PASSWORD))
            assert not [e for e in errors if "TypeError" in e or "ERROR" in e], errors
        finally:
            browser.close()


def _drawn_equals_served(page, api, controls: dict) -> dict:
    """Every visible chart draws exactly the marks the server answers for
    `controls` now (charts draw asynchronously: a few seconds' grace, never a
    second refresh); returns the charts as drawn."""
    served = monitoring_refresh(api, APP, **{"bucket": "auto", **controls})
    expected = {
        label: sorted(
            v["description"]
            for v in chart_spec(served[index])["data"]["values"]
            if "description" in v
        )
        for label, index in OUTPUTS.items()
        if served[index] is not None and "plot" in str(served[index])
    }
    for _ in range(20):
        drawn = charts(page)
        compared = {label: sorted(drawn[label]["marks"]) for label in drawn if label in expected}
        if compared == {label: expected[label] for label in compared}:
            break
        page.wait_for_timeout(500)
    assert len(compared) >= 6, sorted(drawn)
    for label, marks in compared.items():
        assert marks == expected[label], (label, controls)
    return drawn


def _acceptance_by_day(client: Client, **selection) -> list[str]:
    """The acceptance chart's points worked out with pandas on the rows."""
    frame = client.query(APP, limit=None, **selection)
    answered = frame.dropna(subset=[ACCEPTED])
    days = answered.groupby(answered["timestamp"].dt.strftime("%Y-%m-%d"))[ACCEPTED]
    return sorted(f"{day}: {100 * share:.1f}%" for day, share in days.mean().items())


def test_every_chart_shows_the_current_selection_after_one_refresh(store):
    with _page(store) as (page, api):
        controls: dict = {}
        steps = [
            ("range", "last 30 d"),
            ("view", "this-week"),
            ("filters", f"{AGE} <= 7"),
            ("bucket", "hour"),
            ("projection", "projections.edit.words_changed"),
            ("split", "version"),
            ("tag", AGE),
            ("page", 1),
            ("range", "all"),
            ("view", ""),
            ("range", "last 24 h"),  # today's two predictions, hour buckets
        ]
        for control, value in steps:
            _change(page, control, value)
            controls[_API_NAME[control]] = value
            drawn = _drawn_equals_served(page, api, controls)
            if control == "filters":
                # Independently of the server: pandas on the selected rows.
                marks = sorted(drawn["Acceptance rate (%)"]["marks"])
                expected = _acceptance_by_day(store, view="this-week", filters=[f"{AGE} <= 7"])
                assert marks == expected


_API_NAME = {
    "range": "preset", "view": "view", "filters": "filters", "bucket": "bucket",
    "projection": "projection", "split": "split", "tag": "tag", "page": "page",
}


def _change(page, control: str, value) -> None:
    """Change one control the way a viewer does (a click or typing + Enter)."""
    if control in ("range", "bucket"):
        page.get_by_label(value, exact=True).check()
    elif control == "view":
        pick(page, "Saved view", value or "")
    elif control == "filters":
        box = page.get_by_label("Filters, one per line").first
        box.fill(value)
        page.get_by_role("button", name="Refresh", exact=True).click()
    elif control in ("projection", "split", "tag"):
        labels = {"projection": "Projection", "split": "Split time", "tag": "Distribution of"}
        page.get_by_label(labels[control]).first.click()
        page.get_by_role("option", name=value, exact=True).click()
    elif control == "page":
        box = page.get_by_label("Page (newest first)")
        box.fill(str(value))
        box.press("Enter")
        page.get_by_role("button", name="Refresh", exact=True).click()
    idle(page)


def test_time_axes_units_and_labels_fit_the_data(store):
    with _page(store) as (page, _):
        page.get_by_label("all", exact=True).check()
        idle(page)
        drawn = charts(page)
        acceptance = drawn["Acceptance rate (%)"]
        (x_axis, y_axis) = acceptance["axes"][:2]
        ticks = [label["text"] for label in x_axis["labels"]]
        assert ticks and all(re.search(r"\b20\d\d\b", t) for t in ticks), "every tick has its year"
        assert y_axis["title"] == "Accepted (%)"
        assert [t["text"] for t in y_axis["labels"]][-1] == "100", "percent, 0-100"
        # April and today: separate lines, never one across the years between.
        assert page.locator(".gantry-chart [aria-roledescription='line mark']").count() >= 2
        for chart in drawn.values():
            for axis in chart["axes"]:
                assert not [t for t in axis["labels"] if re.search(r"\.\d{4,}", t["text"])]
        # Flags: counts from 0, and a day without flags is drawn as 0.
        flags = drawn["Flags by option"]
        assert flags["axes"][1]["labels"][0]["text"] == "0"
        assert any(mark.endswith(": 0") for mark in flags["marks"])
        # Histogram labels never overlap at the default width.
        for label in ("Accepted vs not accepted", "Projection distribution"):
            shown = drawn[label]["axes"][0]["labels"]
            for left, right in zip(shown, shown[1:], strict=False):
                overlap = min(left["right"], right["right"]) - max(left["left"], right["left"])
                vertical = min(left["bottom"], right["bottom"]) - max(left["top"], right["top"])
                assert overlap <= 1 or vertical <= 1, (label, left["text"], right["text"])
        # The baseline chart bins the whole-number projection as the histogram does.
        base = {m.split(": ")[0].split(" · ")[1] for m in drawn["Production vs baseline"]["marks"]}
        bars = {m.split(" · ")[0] for m in drawn["Projection distribution"]["marks"]}
        assert bars <= base and not [b for b in base if "." in b]
        # Open windows have no previous period: said once, not as a change.
        headline = page.locator("p", has_text="Predictions:").first.inner_text()
        assert "vs previous" not in headline


def test_a_view_sets_the_window_and_the_alert_shows_where_announced(store):
    with _page(store, view=HISTORY_VIEW) as (page, _):
        window = page.locator("p", has_text="Window:").first.inner_text()
        assert "2022-03-30 00:00 → 2022-05-02 00:00" in window and HISTORY_VIEW in window
        assert page.get_by_text(f"Time range (overridden by the view '{HISTORY_VIEW}')").count()
        pick(page, "Saved view", "this-week")
        page.locator("p", has_text="Window: 2022-04-22 00:00").first.wait_for(timeout=30_000)
        headline = page.locator("p", has_text="Predictions:").first.inner_text()
        change = r"Acceptance rate:\W* [\d.]+% \([+-][\d.]+ points vs previous"
        assert re.search(change, headline), headline
        drawn = charts(page)
        banner = drawn["Alert value and threshold"]
        headline_top = page.locator("p", has_text="Predictions:").first.bounding_box()["y"]
        assert banner["marks"] and banner["top"] < headline_top
        summary = page.get_by_text("resolved 2022-04-28 00:00 UTC").count()
        assert summary, "the alert's times are window ends, as backfill.py prints them"


def test_a_filter_mistake_is_shown_by_the_filters_and_panels_stay(store):
    with _page(store) as (page, _):
        before = charts(page)
        box = page.get_by_label("Filters, one per line").first
        box.fill("tags.acount_age_days < 7")
        page.get_by_role("button", name="Refresh", exact=True).click()
        idle(page)
        page.get_by_text("Not refreshed").first.wait_for(timeout=30_000)
        assert page.get_by_text("unknown field 'tags.acount_age_days'").count()
        page.wait_for_timeout(6000)  # a toast would be gone by now; the message stays
        assert page.get_by_text("unknown field 'tags.acount_age_days'").count()
        assert page.locator(".gantry-chart").get_by_text("Error", exact=True).count() == 0
        assert {k: v["marks"] for k, v in charts(page).items()} == {
            k: v["marks"] for k, v in before.items()
        }
        box.fill(f"{AGE} < 7")
        page.get_by_role("button", name="Refresh", exact=True).click()
        # (waits for the refresh's answer: on a loaded machine the event may
        # start after idle()'s first look)
        page.get_by_text("Not refreshed").first.wait_for(state="detached", timeout=30_000)
        idle(page)
        assert page.get_by_text("unknown field").count() == 0


def test_rows_are_compact_rounded_and_open_in_full(store, tmp_path):
    with _page(store) as (page, _):
        header = page.locator("th[role=columnheader]")
        header.first.wait_for(timeout=30_000)
        headers = [h.strip() for h in header.all_inner_texts() if h.strip()]
        assert headers[:4] == ["timestamp", "version", "inputs.text", "outputs.inference"]
        assert ACCEPTED in headers and "join_key" not in headers and len(headers) <= 8
        table = page.locator("table").filter(has=header.first).first
        assert table.bounding_box()["width"] <= 1400, "no column off to the side"
        body = " ".join(page.get_by_role("gridcell").all_inner_texts())
        assert not re.search(r"\d\.\d{6,}", body), "numbers rounded for display"
        page.get_by_label("Columns shown").click()
        page.get_by_role("option", name="projections.edit.char_distance", exact=True).click()
        page.keyboard.press("Escape")
        idle(page)
        # (the chosen column arrives with the table's next answer: on a loaded
        # machine after idle()'s first look)
        chosen = header.filter(has_text="projections.edit.char_distance").first
        chosen.wait_for(timeout=30_000)
        headers = [h.strip() for h in header.all_inner_texts()]
        assert "projections.edit.char_distance" in headers and "inputs.text" in headers
        newest = store.query(APP, newest_first=True, limit=1)
        page.get_by_role("gridcell").filter(has_text=newest["inputs.text"].iloc[0]).first.click()
        idle(page)
        detail = page.get_by_text(f"Record {newest['join_key'].iloc[0]}").first
        detail.wait_for(timeout=30_000)
        assert page.get_by_text("feedback events (oldest first)").count()
        assert page.get_by_text("projections.edit.char_distance").count()
    fresh = Client(f"sqlite:///{tmp_path / 'f.db'}", blobs=tmp_path / "b", spool_dir=tmp_path / "s")
    try:
        fresh.log_record("other-app", inputs={"x": 1})
        assert fresh.flush(30)
        with _page(fresh) as (page, _):
            page.get_by_text(f"No data yet for '{APP}'").first.wait_for(timeout=30_000)
            headers = page.locator("th[role=columnheader]").all_inner_texts()
            assert not {"1", "2", "3"} & {h.strip() for h in headers}
    finally:
        fresh.close()
