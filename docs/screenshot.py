"""Make the README's screenshot of the monitoring tab from any store, in
headless Chromium (apt-get install -y chromium; pip install playwright).

    python docs/screenshot.py --store sqlite:///gantry_data/records.db \
        --app gec-demo-app --view this-week --out docs/monitoring-tab.png
    python docs/screenshot.py ... --alerts --out docs/alerts.png   # the alerts summary and panel
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gradio as gr

sys.path.insert(0, str(Path(__file__).parent.parent))
from gantry_gradio import Client  # noqa: E402
from gantry_gradio.dashboard.tab import monitoring_tab  # noqa: E402
from tests.browser import launch_chromium, open_monitoring  # noqa: E402
from tests.gradio_apps import launched  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--view")
    parser.add_argument("--accepted-field", default="feedback.accepted")
    parser.add_argument("--flag-field", default="feedback.flag")
    parser.add_argument("--out", type=Path, default=Path("docs/monitoring-tab.png"))
    parser.add_argument(
        "--alerts", action="store_true", help="only the alerts: summary, rules, values, form"
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    client = Client(args.store, spool_dir=Path("/tmp/gantry-screenshot-spool"))
    with gr.Blocks(title="monitoring") as demo:
        tab = monitoring_tab(
            args.app,
            client=client,
            accepted_field=args.accepted_field,
            flag_field=args.flag_field,
            allowed_users=["admin"],
        )
        tab.load_with(demo)
    with launched(demo, auth=[("admin", "screenshot")]) as url, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1900})
        open_monitoring(page, url, "admin", "screenshot", view=args.view)
        page.locator(".vega-embed").first.wait_for(state="visible", timeout=60_000)
        page.wait_for_timeout(2000)  # let every chart finish drawing
        if args.alerts:
            page.get_by_text("Alerts", exact=True).click()
            page.wait_for_timeout(2000)
            page.evaluate("window.scrollTo(0, 0)")  # bounding boxes are then page coordinates
            summary = page.get_by_text("Firing alerts").or_(page.get_by_text("No alert is firing"))
            top = summary.first.bounding_box()
            form = page.get_by_role("button", name="Delete alert").bounding_box()
            accordion = page.get_by_text("Alerts", exact=True).bounding_box()
            page.screenshot(
                path=str(args.out),
                full_page=True,
                clip={"x": 0, "y": top["y"] - 10, "width": 1400, "height": 90},
            )
            page.screenshot(
                path=str(args.out.with_name(args.out.stem + "-panel.png")),
                full_page=True,
                clip={
                    "x": 0,
                    "y": accordion["y"] - 10,
                    "width": 1400,
                    "height": form["y"] + form["height"] - accordion["y"] + 20,
                },
            )
        else:
            page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    client.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
