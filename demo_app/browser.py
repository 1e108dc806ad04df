"""Drive the demo's monitoring tab in Debian's chromium with Playwright:
shared by `python -m demo_app.screenshots` and the end-to-end tests. Never
downloads a browser (apt-get install -y chromium; pip install playwright)."""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Iterator

import gradio as gr

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_ARGS = [
    "--no-sandbox",  # runs as root in CI containers
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def launched(demo: gr.Blocks, **launch_options) -> Iterator[str]:
    """Serve `demo` on a free port (127.0.0.1 unless told) until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launch_options.setdefault("server_name", "127.0.0.1")
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True, **launch_options)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


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
    first_refresh_answered(page)
    if view:
        pick(page, "Saved view", view)
    wait_until_idle(page)


def first_refresh_answered(page, timeout_ms: int = 60_000) -> None:
    """Until the page load's refresh has answered: its window line, or what
    the tab says instead (an application without records yet, a mistake).
    Why: a Refresh clicked while that one runs is ignored by design, and on a
    busy machine it may not have started when the page first looks idle."""
    answered = ["Window:", "No data yet", "Not refreshed"]
    page.wait_for_function(
        "marks => marks.some(mark => document.body.innerText.includes(mark))",
        arg=answered,
        timeout=timeout_ms,
    )
    wait_until_idle(page)


def pick(page, label: str, option: str) -> None:
    """Choose `option` in the dropdown labelled `label` and wait for the refresh."""
    page.get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_until_idle(page)


def open_monitoring_by_link(page, url: str, token: str, *, tab: str | None = None) -> None:
    """Open the app the way its start-up line says: the URL with #monitoring_token=."""
    page.goto(f"{url}#monitoring_token={token}")
    if tab:
        page.get_by_role("tab", name=tab).click()
    wait_until_idle(page)


def wait_until_idle(page, timeout_ms: int = 60_000) -> None:
    """Until no Gradio event is running (its components show "processing")."""
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.body.innerText.includes('processing')", timeout=timeout_ms
    )


#: Per chart on the page (by its label): the description of every point or
#: bar it draws (each mark's aria-label: vega.py writes its exact value there),
#: its axis labels and titles. Hidden charts are left out.
_CHARTS = """() => [...document.querySelectorAll('.gantry-chart')]
  .filter(block => block.offsetParent !== null)
  .map(block => {
    const label = block.querySelector('[data-testid=block-label], label');
    const marked = '[aria-roledescription=point], [aria-roledescription=bar]';
    const marks = [...block.querySelectorAll(marked)]
      .map(m => m.getAttribute('aria-label')).filter(Boolean);
    const axes = [...block.querySelectorAll('[aria-roledescription=axis]')].map(axis => ({
      title: [...axis.querySelectorAll('.role-axis-title text')].map(t => t.textContent).join(' '),
      labels: [...axis.querySelectorAll('.role-axis-label text')]
        .filter(t => t.getAttribute('opacity') !== '0').map(t => {
        const box = t.getBoundingClientRect();
        const {left, right, top, bottom} = box;
        return {text: t.textContent, left, right, top, bottom};
      }),
    }));
    const texts = [...block.querySelectorAll('.role-mark text')].map(t => t.textContent);
    return {label: label ? label.innerText.trim() : '', marks, axes, texts,
            top: block.getBoundingClientRect().top + window.scrollY};
  })"""


_DRAWN = """() => [...document.querySelectorAll('.gantry-chart')]
  .filter(block => block.offsetParent !== null)
  .every(block => block.querySelector('.vega-embed svg .role-frame'))"""


def charts(page) -> dict[str, dict]:
    """What each visible chart of the tab draws, by its label (see _CHARTS),
    once every one has drawn (vega-embed draws after Gradio's update)."""
    page.wait_for_function(_DRAWN, timeout=30_000)
    return {chart["label"]: chart for chart in page.evaluate(_CHARTS)}
