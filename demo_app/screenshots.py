"""Screenshots of the monitoring tab in each state a viewer meets, in
headless Chromium (apt-get install -y chromium; pip install playwright):

    python backfill.py --load-data --create-views        # the demo store first
    python -m demo_app.screenshots                       # writes docs/*.png
    python -m demo_app.screenshots --alerts              # docs/alerts.png, alerts-panel.png
    python -m demo_app.retrain && python -m demo_app.screenshots --loop
                                            # docs/review-tab.png, docs/evaluations.png

The states: the demo story (view new-accounts: young accounts reject most
corrections), a fresh app (predictions, no feedback yet), a window with no
records (every panel says why it is empty) and a filter error."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pandas as pd

from gantry_gradio import Client
from gantry_gradio.dashboard.review_tab import review_tab
from gantry_gradio.dashboard.tab import monitoring_tab

from .browser import launch_chromium, launched, open_monitoring, wait_until_idle

APP = "gec-demo-app"
ACCEPTED = "feedback.correction_accepted"
USER, PASSWORD = "admin", "screenshot"
WIDTH = 1400
#: The filter error state: a misspelt field.
TYPO = "tags.acount_age_days < 7"


def serve_tab(
    client: Client, application: str, accepted_field: str = ACCEPTED, view: str | None = None
) -> gr.Blocks:
    """The monitoring tab alone, behind one login, as the demo places it."""
    with gr.Blocks(title="monitoring") as demo:
        tab = monitoring_tab(
            application,
            client=client,
            accepted_field=accepted_field,
            allowed_users=[USER],
            view=view,
        )
        tab.load_with(demo)
    return demo


def in_browser(
    demo: gr.Blocks, steps: Callable, *, view: str | None = None, charts: bool = True
) -> None:
    """Open `demo` logged in (on `view`), wait for its charts (if it has
    any), and hand the page to `steps`."""
    from playwright.sync_api import sync_playwright

    with launched(demo, auth=[(USER, PASSWORD)]) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 1900})
            open_monitoring(page, url, USER, PASSWORD, view=view)
            if charts:
                page.locator(".vega-embed").first.wait_for(state="visible", timeout=60_000)
                page.wait_for_timeout(2000)  # let every chart finish drawing
            steps(page)
        finally:
            browser.close()


def apply_filter(page, text: str) -> None:
    """Type a filter and refresh, as a viewer would."""
    page.get_by_label("Filters, one per line").first.fill(text)
    page.get_by_role("button", name="Refresh", exact=True).click()
    wait_until_idle(page)


def show_window(page, preset: str) -> None:
    page.get_by_label(preset, exact=True).check()
    wait_until_idle(page)


def fresh_client(folder: Path) -> Client:
    """A store holding what a newly monitored app has: a few predictions with
    their latency, no feedback, no flags, no projections."""
    client = Client(f"sqlite:///{folder / 'fresh.db'}", blobs=folder / "b", spool_dir=folder / "s")
    now = pd.Timestamp.now(tz="UTC").floor("min")
    client.log_records(
        "fresh-app",
        inputs=[{"text": f"sentence {i}"} for i in range(5)],
        outputs=[{"inference": f"Sentence {i}."} for i in range(5)],
        tags=[{"latency_ms": 40.0 + 3 * i} for i in range(5)],
        timestamps=[now - pd.Timedelta(minutes=10 * i) for i in range(5)],
    )
    client.flush(60)
    return client


def demo_client(store: str | None, blobs: str | None) -> Client:
    """The demo's store, read with a spool of its own (nothing is logged)."""
    return Client(store, blobs, spool_dir=Path(tempfile.mkdtemp(prefix="gantry-shot-")))


def story_and_states(store: str | None, blobs: str | None, out_dir: Path) -> list[Path]:
    story_png = out_dir / "monitoring-tab.png"
    empty_png, error_png, fresh_png = (
        out_dir / "states" / f"{name}.png" for name in ("empty-window", "filter-error", "fresh-app")
    )

    def story(page) -> None:
        page.screenshot(path=str(story_png), full_page=True)
        show_window(page, "last 24 h")
        page.screenshot(path=str(empty_png))
        show_window(page, "all")
        apply_filter(page, TYPO)
        page.get_by_text("unknown field").first.wait_for(timeout=30_000)
        page.screenshot(path=str(error_png))

    client = demo_client(store, blobs)
    try:
        in_browser(serve_tab(client, APP), story, view="new-accounts")
    finally:
        client.close()
    with tempfile.TemporaryDirectory() as folder:
        fresh = fresh_client(Path(folder))
        try:
            in_browser(
                serve_tab(fresh, "fresh-app", "feedback.accepted"),
                lambda page: page.screenshot(path=str(fresh_png), full_page=True),
            )
        finally:
            fresh.close()
    return [story_png, empty_png, error_png, fresh_png]


def alerts(store: str | None, blobs: str | None, out_dir: Path) -> list[Path]:
    """The firing-alerts line above the headline, and the Alerts accordion."""
    summary_png, panel_png = out_dir / "alerts.png", out_dir / "alerts-panel.png"
    client = demo_client(store, blobs)

    def shoot(page) -> None:
        page.get_by_text("Alerts", exact=True).click()
        page.wait_for_timeout(2000)
        page.evaluate("window.scrollTo(0, 0)")  # bounding boxes are then page coordinates
        summary = page.get_by_text("Firing alerts").or_(page.get_by_text("No alert is firing"))
        top = summary.first.bounding_box()
        headline = page.locator("p", has_text="Predictions:").first.bounding_box()
        form = page.get_by_role("button", name="Delete alert").bounding_box()
        accordion = page.get_by_text("Alerts", exact=True).bounding_box()
        page.screenshot(
            path=str(summary_png),
            full_page=True,
            clip={
                "x": 0,
                "y": top["y"] - 10,
                "width": WIDTH,
                "height": headline["y"] + headline["height"] - top["y"] + 20,
            },
        )
        height = form["y"] + form["height"] - accordion["y"] + 20
        page.screenshot(
            path=str(panel_png),
            full_page=True,
            clip={"x": 0, "y": accordion["y"] - 10, "width": WIDTH, "height": height},
        )

    try:
        in_browser(serve_tab(client, APP), shoot, view="this-week")
    finally:
        client.close()
    return [summary_png, panel_png]


def loop(store: str | None, blobs: str | None, out_dir: Path) -> list[Path]:
    """The review tab on a queue of the dip (made for the picture, then
    deleted), and the tab's Evaluations section on the newest run."""
    review_png, evaluations_png = out_dir / "review-tab.png", out_dir / "evaluations.png"
    client = demo_client(store, blobs)
    queue = "screenshot_dip"
    if queue in client.list_review_queues(APP):
        client.delete_review_queue(queue)
    client.create_review_queue(
        queue, APP, start="2022-04-23", end="2022-04-27", sample=50, seed=3,
        filters=["feedback.correction_accepted == false", "tags.account_age_days <= 7"],
    )  # fmt: skip
    with gr.Blocks(title="review") as review_app:
        review_tab(APP, queue, client=client, allowed_users=[USER]).load_with(review_app)

    def review(page) -> None:
        page.locator(".gantry-review-item").first.wait_for(timeout=60_000)
        page.screenshot(path=str(review_png), full_page=True)

    def evaluations(page) -> None:
        page.get_by_text("Evaluations", exact=True).click()
        wait_until_idle(page)
        page.get_by_label("Evaluation run").click()
        page.get_by_role("option", name="v1 vs v2 on the review labels").first.click()
        wait_until_idle(page)
        page.wait_for_timeout(2000)
        page.evaluate("window.scrollTo(0, 0)")
        top = page.get_by_text("Evaluations", exact=True).bounding_box()
        bottom = page.get_by_text("Rows where the candidates' outputs differ").first.bounding_box()
        height = bottom["y"] + 320 - top["y"]
        page.screenshot(
            path=str(evaluations_png),
            full_page=True,
            clip={"x": 0, "y": top["y"] - 10, "width": WIDTH, "height": height},
        )

    try:
        in_browser(review_app, review, charts=False)
        in_browser(serve_tab(client, APP), evaluations)
    finally:
        client.delete_review_queue(queue)
        client.close()
    return [review_png, evaluations_png]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="as backfill.py's (default: GANTRY_STORE or ./gantry_data)")
    parser.add_argument("--blobs", help="as backfill.py's (default: GANTRY_BLOBS or ./gantry_data)")
    parser.add_argument("--out-dir", type=Path, default=Path("docs"))
    parser.add_argument("--alerts", action="store_true", help="the alerts summary and panel only")
    parser.add_argument("--loop", action="store_true", help="the review tab and the evaluations")
    args = parser.parse_args(argv)
    (args.out_dir / "states").mkdir(parents=True, exist_ok=True)
    shoot = alerts if args.alerts else loop if args.loop else story_and_states
    made = shoot(args.store, args.blobs, args.out_dir)
    for path in made:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
