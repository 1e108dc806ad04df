"""Two reviewers in two Chromium sessions work one queue: each gets their
own item, keyboard shortcuts label and save, a lease left behind expires and
goes to the other, back shows one's own label, and every label is kept once."""

from __future__ import annotations

import contextlib

import gradio as gr
import pandas as pd
import pytest

import gantry_gradio as gantry
from demo_app.browser import CHROMIUM, launch_chromium, launched
from demo_app.browser import wait_until_idle as idle
from gantry_gradio import Client

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="apt-get install chromium")
APP = "review-app"
USERS = [("ana", "ana-password-1"), ("ben", "ben-password-1")]
LEASE = 3.0


class _SteppedClock:
    """The queue's clock for this test: a microsecond per reading, plus the
    jumps the test makes, so a slow machine cannot let a lease run out
    between two clicks while a jump still expires one for certain."""

    def __init__(self) -> None:
        self.now = 1_700_000_000_000_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


@pytest.fixture
def clock(monkeypatch):
    stepped = _SteppedClock()
    monkeypatch.setattr("gantry_gradio.review.queue.now_us", stepped)
    return stepped


@pytest.fixture
def client(tmp_path, clock):
    c = Client(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "blobs", spool_dir=tmp_path / "spool")
    c.log_records(
        APP,
        inputs=[{"text": f"she go to school {i}"} for i in range(6)],
        outputs=[{"inference": f"She go to school {i}."} for i in range(6)],
        timestamps=[pd.Timestamp("2022-04-20", tz="UTC") + pd.Timedelta(hours=i) for i in range(6)],
    )
    assert c.flush(30)
    c.create_review_queue("q", APP, order="oldest", lease_seconds=LEASE)
    yield c
    c.close()


@contextlib.contextmanager
def _served(client):
    with gr.Blocks() as demo:
        tab = gantry.review_tab(APP, "q", client=client, allowed_users=[u for u, _ in USERS])
        tab.load_with(demo)
    with launched(demo, auth=USERS) as url:
        yield url


def _login(browser, url, user, password):
    context = browser.new_context(viewport={"width": 1200, "height": 1600})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Item ", exact=False).first.wait_for(timeout=30_000)
    idle(page)
    return context, page, errors


def _heading(page) -> str:
    return page.locator(".gantry-review-item h3").inner_text()


def _label(page):
    return page.locator("#gantry-review-label textarea")


def test_two_reviewers_share_one_queue(client, clock):
    from playwright.sync_api import sync_playwright

    with _served(client) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            ana_context, ana, ana_errors = _login(browser, url, *USERS[0])
            _, ben, ben_errors = _login(browser, url, *USERS[1])
            assert _heading(ana) == "Item 1 of 6" and _heading(ben) == "Item 2 of 6"
            assert _label(ana).input_value() == "She go to school 0."  # prefilled
            assert "she go to school 0" in ana.locator(".gantry-review-item").inner_text()
            assert ana.locator(".gantry-review-item del").count() >= 1  # the inline diff

            # ana: keyboard only. Edit the label, Alt+2 = model wrong, Ctrl+Enter saves.
            _label(ana).fill("She goes to school 0.")
            ana.keyboard.press("Alt+Digit2")
            ana.keyboard.press("Control+Enter")
            idle(ana)
            assert "Saved item 1" in ana.locator("body").inner_text()
            assert _heading(ana) == "Item 3 of 6"

            # ben: the mouse. Without a verdict nothing is saved.
            ben.get_by_role("button", name="Save and next (Ctrl+Enter)").click()
            idle(ben)
            assert "choose a verdict" in ben.locator("body").inner_text()
            ben.get_by_label("Model right").check()
            ben.get_by_role("button", name="Save and next (Ctrl+Enter)").click()
            idle(ben)
            assert _heading(ben) == "Item 4 of 6"
            assert "2 of 6 items done" in ben.locator("body").inner_text()

            ana_context.close()  # ana leaves item 3; her lease runs out
            clock.now += int(LEASE * 1e6)
            _label(ben).fill("She goes to school 3.")
            ben.keyboard.press("Alt+Digit2")
            ben.keyboard.press("Control+Enter")
            idle(ben)
            assert _heading(ben) == "Item 3 of 6"

            ben.keyboard.press("Alt+KeyB")  # back to his own label of item 4
            idle(ben)
            assert _heading(ben) == "Item 4 of 6"
            assert _label(ben).input_value() == "She goes to school 3."
            assert ben.get_by_label("Model wrong").is_checked()
            assert not [e for e in ana_errors + ben_errors if "Error" in e], ana_errors + ben_errors
        finally:
            browser.close()
    queue = client.get_review_queue("q")
    labels = queue.labels().set_index("position")
    assert sorted(labels.index) == [0, 1, 3]  # each once, none lost
    assert labels.loc[0, "reviewer"] == "ana" and labels.loc[0, "verdict"] == "wrong"
    assert labels.loc[1, "reviewer"] == "ben" and labels.loc[1, "verdict"] == "right"
    assert client.flush(30)
    labeled = client.query(APP, filters=["feedback.label is not null"]).sort_values("timestamp")
    assert list(labeled["feedback.reviewed_by"]) == ["ana", "ben", "ben"]
    assert labeled.iloc[0]["feedback.label"] == "She goes to school 0."


def test_the_tab_shows_evaluations(client):
    from playwright.sync_api import expect, sync_playwright

    from demo_app.browser import charts
    from tests.test_evaluation import ROWS, fixer, identity

    run = client.evaluate(
        ROWS, {"v1": identity, "v2": fixer}, application=APP, slices=["group"], progress=False
    )
    client.evaluate(
        ROWS, {"v1": identity}, application="other-app", name="secret run", progress=False
    )
    with gr.Blocks() as demo:
        tab = gantry.monitoring_tab(APP, client=client, allowed_users=["ana"])
        tab.load_with(demo)
    with launched(demo, auth=USERS[:1]) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(url)
            page.get_by_label("username").fill(USERS[0][0])
            page.get_by_label("password").fill(USERS[0][1])
            page.get_by_role("button", name="Login").click()
            idle(page)
            page.get_by_text("Evaluations", exact=True).click()
            idle(page)
            # the section is filled by the page load's refresh: on a busy machine
            # it can answer after the accordion opened
            body = page.locator("body")
            expect(body).to_contain_text(run.name, timeout=30_000)
            expect(body).to_contain_text("v2 − v1", timeout=30_000)
            page.get_by_label("Evaluation run").click()
            options = page.get_by_role("option").all_inner_texts()
            assert len(options) == 1 and run.name in options[0]  # not the other app's run
            page.keyboard.press("Escape")
            drawn = charts(page)["Metric per slice"]["marks"]
            slices = run.slices[(run.slices["kind"] == "metric")]
            first = slices[slices["metric"] == run.metrics[0]]
            assert len(drawn) == len(first) == 4  # 2 groups x 2 candidates
            a_v2 = first[(first["slice_value"] == "a") & (first["candidate"] == "v2")].iloc[0]
            assert any(m.startswith(f"group = a · v2: {a_v2['value']:.4g}") for m in drawn), drawn
        finally:
            browser.close()
