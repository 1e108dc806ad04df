"""Drive Debian's chromium with Playwright: shared by the end-to-end test and
docs/screenshot.py. Never downloads a browser."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_ARGS = [
    "--no-sandbox",  # runs as root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright):
    if CHROMIUM is None:
        raise RuntimeError("no chromium on PATH: apt-get install -y chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=_ARGS)


def open_monitoring(
    page, url: str, user: str, password: str, *, tab: str | None = None, view: str | None = None
) -> None:
    """Log in, open the tab holding the monitoring block (if it is in one) and pick a view."""
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    if tab:
        page.get_by_role("tab", name=tab).click()
    if view:
        page.get_by_label("Saved view").click()
        page.get_by_role("option", name=view).click()
    wait_until_idle(page)


def open_monitoring_by_link(page, url: str, token: str, *, tab: str | None = None) -> None:
    """Open the app the way its start-up line says: the URL with ?monitoring_token=."""
    page.goto(f"{url}?monitoring_token={token}")
    if tab:
        page.get_by_role("tab", name=tab).click()
    wait_until_idle(page)


def wait_until_idle(page, timeout_ms: int = 60_000) -> None:
    """Until no Gradio event is running (its components show "processing")."""
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.body.innerText.includes('processing')", timeout=timeout_ms
    )
