"""End to end in headless Chromium: log in, open the Monitoring tab, pick a view,
see the acceptance chart and the rows. Skipped only where Debian's chromium is
not installed (.ci/run installs it)."""

from __future__ import annotations

import json
import re

import gradio as gr
import pandas as pd
import pytest

from demo_app.browser import (
    CHROMIUM,
    launch_chromium,
    open_monitoring,
    open_monitoring_by_link,
    wait_until_idle,
)
from gantry_gradio import Client
from gantry_gradio.dashboard.tab import monitoring_tab
from tests.gradio_apps import TEST_TOKEN, launched

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="apt-get install chromium")

APP = "gec-demo-app"
START = pd.Timestamp("2022-04-11", tz="UTC")


def _seed(client: Client) -> None:
    """Two weeks; in the second, young accounts reject most corrections."""
    rows = []
    for day in range(14):
        for i in range(12):
            age = 3 if i % 3 == 0 else 200
            accepted = not (day >= 7 and age <= 7 and i % 2 == 0)
            rows.append(
                (f"sentence {day}-{i}", accepted, age, START + pd.Timedelta(days=day, hours=i))
            )
    text, accepted, age, ts = zip(*rows, strict=True)
    client.log_records(
        APP,
        inputs=[{"text": t} for t in text],
        outputs=[{"inference": t.upper()} for t in text],
        feedbacks=[{"correction_accepted": a} for a in accepted],
        tags=[{"account_age_days": a, "username": "u"} for a in age],
        timestamps=list(ts),
    )
    assert client.flush(60)
    client.create_view(
        APP, "this-week", START + pd.Timedelta(days=7), START + pd.Timedelta(days=14)
    )


def test_browser_login_tab_view_chart_and_rows(tmp_path):
    from playwright.sync_api import sync_playwright

    client = Client(
        f"sqlite:///{tmp_path / 'r.db'}", blobs=tmp_path / "b", spool_dir=tmp_path / "s"
    )
    _seed(client)
    with gr.Blocks(title="demo") as demo:
        with gr.Tab("Demo"):
            gr.Markdown("the model lives here")
        with gr.Tab("Monitoring"):
            tab = monitoring_tab(
                APP,
                client=client,
                accepted_field="feedback.correction_accepted",
                allowed_users=["admin"],
            )
        tab.load_with(demo)
    try:
        with launched(demo, auth=[("admin", "s3cret")]) as url, sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            open_monitoring(page, url, "admin", "s3cret", tab="Monitoring", view="this-week")
            page.wait_for_function(
                "() => document.body.innerText.includes('Predictions:** 84') || "
                "document.body.innerText.includes('Predictions: 84')",
                timeout=30_000,
            )
            chart = page.locator(".vega-embed").first
            chart.wait_for(state="visible", timeout=30_000)
            # Gradio keeps a hidden copy of the table for measuring; look at what shows.
            newest = page.get_by_text("sentence 13-11", exact=True).filter(visible=True)
            newest.first.wait_for(state="visible", timeout=30_000)
            shown = page.get_by_text(re.compile(r"^sentence \d+-\d+$")).filter(visible=True)
            assert shown.count() >= 10
            page.screenshot(path=str(tmp_path / "monitoring.png"), full_page=True)
            browser.close()
        assert (tmp_path / "monitoring.png").stat().st_size > 10_000
    finally:
        client.close()


_RUN_HISTORY = """() => Object.keys(localStorage)
    .filter(k => k.startsWith('gradio:run-history:'))
    .map(k => [k, localStorage.getItem(k)])"""


def test_browser_token_link_opens_the_tab_and_no_run_is_kept(tmp_path):
    """The printed link fills the token and the panels; Gradio's run history
    (localStorage) keeps the app's own runs but none of the monitoring tab's,
    whose rows are every user's inputs."""
    from playwright.sync_api import sync_playwright

    client = Client(
        f"sqlite:///{tmp_path / 'r.db'}", blobs=tmp_path / "b", spool_dir=tmp_path / "s"
    )
    _seed(client)
    with gr.Blocks(title="demo") as demo:
        with gr.Tab("Demo"):
            words = gr.Textbox(label="Words", value="control input")
            echoed = gr.Textbox(label="Echo")
            gr.Button("Echo").click(lambda w: w.upper(), words, echoed, api_name="echo")
        with gr.Tab("Monitoring"):
            tab = monitoring_tab(
                APP,
                client=client,
                accepted_field="feedback.correction_accepted",
                access_token=TEST_TOKEN,
            )
        tab.load_with(demo)
    try:
        with launched(demo) as url, sync_playwright() as p:
            browser = launch_chromium(p)
            stranger = browser.new_page()
            stranger.goto(url)
            stranger.get_by_role("tab", name="Monitoring").click()
            stranger.get_by_text("needs its access token").first.wait_for(timeout=30_000)
            assert stranger.get_by_text("sentence 13-11").filter(visible=True).count() == 0

            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            sent: list[str] = []  # every request line and Referer: what a proxy logs
            page.on("request", lambda r: sent.append(f"{r.url} {r.headers.get('referer', '')}"))
            open_monitoring_by_link(page, url, TEST_TOKEN, tab="Monitoring")
            page.get_by_text("sentence 13-11", exact=True).filter(visible=True).first.wait_for(
                state="visible", timeout=30_000
            )
            page.get_by_role("button", name="Refresh").click()
            wait_until_idle(page)
            page.get_by_role("tab", name="Demo").click()
            page.get_by_role("button", name="Echo").click()
            page.wait_for_function(
                "() => [...document.querySelectorAll('textarea')]"
                ".some(t => t.value === 'CONTROL INPUT')",
                timeout=30_000,
            )
            wait_until_idle(page)
            stored = page.evaluate(_RUN_HISTORY)
            assert TEST_TOKEN not in page.url
            browser.close()
        assert len(sent) > 5 and not [line for line in sent if TEST_TOKEN in line]
    finally:
        client.close()
    runs = [run for _, value in stored for run in json.loads(value) if isinstance(run, dict)]
    assert any("echo" in str(run.get("api_name")) for run in runs), stored
    kept = json.dumps(stored)
    assert "monitoring" not in kept and "sentence" not in kept and TEST_TOKEN not in kept


def test_a_clicked_file_cell_offers_the_file_itself(tmp_path):
    """The click hands the record's file over as a download link holding it
    (no copy Gradio would serve without the token)."""
    from playwright.sync_api import sync_playwright

    client = Client(f"sqlite:///{tmp_path}/r.db", blobs=tmp_path / "b", spool_dir=tmp_path / "s")
    client.log_record("files", inputs={"file": b"private bytes", "text": "hi"})
    assert client.flush(30)
    with gr.Blocks() as demo:
        tab = monitoring_tab("files", client=client, access_token=TEST_TOKEN)
        tab.load_with(demo)
    try:
        with launched(demo) as url, sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            open_monitoring_by_link(page, url, TEST_TOKEN)
            page.get_by_role("gridcell", name=str(tmp_path / "b")[:40]).first.click()
            link = page.locator("a[download]").first
            link.wait_for(timeout=30_000)
            assert link.get_attribute("href").startswith("data:application/octet-stream;base64,")
            with page.expect_download() as download:
                link.click()
            assert open(download.value.path(), "rb").read() == b"private bytes"
            browser.close()
    finally:
        client.close()
