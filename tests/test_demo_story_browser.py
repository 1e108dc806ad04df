"""The demo story as a viewer walks it in Chromium, on the month backfill.py
loads: this week → new accounts → rejected → the account-age split; then a
fresh app and a filter error. Each step asserts the text the page shows,
worked out from the store, not typed in. Skipped only without Debian's
chromium (.ci/run installs it)."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

import backfill
from demo_app.browser import (
    CHROMIUM,
    charts,
    launch_chromium,
    launched,
    open_monitoring,
    pick,
    wait_until_idle,
)
from demo_app.screenshots import (
    ACCEPTED,
    APP,
    PASSWORD,
    TYPO,
    USER,
    apply_filter,
    fresh_client,
    serve_tab,
)
from gantry_gradio import Client
from gantry_gradio.dashboard import panels
from gantry_gradio.dashboard.bins import choose_bins
from gantry_gradio.dashboard.panels import Scope

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="apt-get install chromium")
AGE = "tags.account_age_days"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    store = f"sqlite:///{folder / 'records.db'}"
    options = ["--store", store, "--blobs", str(folder / "blobs"), "--projections", ""]
    assert backfill.main(["--load-data", "--create-views", *options]) == 0
    client = Client(store, blobs=folder / "blobs", spool_dir=folder / "spool")
    yield client
    client.close()


@contextlib.contextmanager
def _tab_page(client: Client, application: str = APP, accepted: str = ACCEPTED, **where):
    """A logged-in Chromium page on `application`'s monitoring tab."""
    from playwright.sync_api import sync_playwright

    demo = serve_tab(client, application, accepted)
    with launched(demo, auth=[(USER, PASSWORD)]) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            open_monitoring(page, url, USER, PASSWORD, **where)
            yield page
        finally:
            browser.close()


def _shows(page, text: str) -> None:
    page.wait_for_function(
        "text => document.body.innerText.includes(text)", arg=text, timeout=30_000
    )


def test_the_demo_story_step_by_step(demo_store):
    with _tab_page(demo_store, view="this-week") as page:
        seen = {}
        for view in ("this-week", "new-accounts", "rejected"):
            if view != "this-week":
                pick(page, "Saved view", view)
            frame = demo_store.query(APP, view=view)
            answered = frame[ACCEPTED].dropna().astype(bool)
            _shows(page, f"Predictions: {len(frame):,}")
            _shows(page, f"Acceptance rate: {answered.mean():.1%}")
            seen[view] = answered.mean()
        # The story: new accounts accept far less than the week as a whole.
        assert seen["new-accounts"] < seen["this-week"] - 0.2 and seen["rejected"] == 0

        # The age split on rejected corrections: bins chosen from the data,
        # labelled, all of them "not accepted".
        bins = choose_bins(demo_store.store, Scope(APP, view="rejected"), AGE)
        marks = charts(page)["Accepted vs not accepted"]["marks"]
        assert any(mark.startswith(f"{bins.label(bins.low)} · ") for mark in marks), marks
        assert marks and all(" · not accepted: " in mark for mark in marks)

        # A row opens the whole record: its fields and its feedback events.
        newest = demo_store.query(APP, view="rejected", newest_first=True, limit=1)
        text, key = newest["inputs.text"].iloc[0], newest["join_key"].iloc[0]
        page.get_by_role("gridcell", name=text[:60]).first.click()
        _shows(page, f"Record {key}")
        _shows(page, "feedback events (oldest first)")


def test_impatient_clicks_on_refresh_run_one_refresh(demo_store, monkeypatch):
    calls, real = [], panels.snapshot

    def slow_snapshot(*args, **kwargs):
        calls.append(threading.get_ident())
        time.sleep(2)
        return real(*args, **kwargs)

    with _tab_page(demo_store) as page:
        # The page load's own refresh has finished: only the clicks count.
        _shows(page, f"Predictions: {demo_store.store.summary(Scope(APP), [])['predictions']:,}")
        wait_until_idle(page)
        monkeypatch.setattr(panels, "snapshot", slow_snapshot)
        refresh = page.get_by_role("button", name="Refresh", exact=True)
        for _ in range(4):
            refresh.click()
            page.wait_for_timeout(150)
        page.wait_for_timeout(5000)
    assert len(calls) == 1


def test_a_fresh_app_and_a_filter_error_say_what_to_do(tmp_path, demo_store):
    fresh = fresh_client(tmp_path)
    try:
        with _tab_page(fresh, "fresh-app", "feedback.accepted") as page:
            _shows(page, "Predictions: 5")
            _shows(page, "No feedback field feedback.accepted yet")
            _shows(page, "No projections yet")
            _shows(page, "50–59")  # the latency histogram needs no feedback
    finally:
        fresh.close()
    with _tab_page(demo_store) as page:
        apply_filter(page, TYPO)
        _shows(page, "unknown field 'tags.acount_age_days'")
