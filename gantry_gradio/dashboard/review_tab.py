"""`review_tab`: a review queue as a block for any `gr.Blocks`.

Reviewers see one item at a time, correct the label (prefilled with the
model's output), give a verdict and save; skip; go back to what they did.
Who they are comes from the Gradio login (`request.username`), never from
a form field; without logins each browser session is an "anonymous (…)"
reviewer of its own, so sessions never share a lease. Access is the
monitoring tab's (logins, token or loopback), checked by every handler. The
item being reviewed is kept on the server (gr.State), never taken from the
browser, and a queue of another application is refused.

Keyboard: Ctrl+Enter (⌘+Enter) saves and opens the next item; Alt+1, Alt+2,
Alt+3 choose model right / wrong / unsure; Alt+S skips; Alt+B goes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from .. import default_client
from ..client import Client
from ..review import ReviewError, ReviewItem, ReviewQueue
from . import review_render as render
from .access import PRIVATE_EVENT, TOKEN_FROM_ADDRESS_JS, MonitoringAccess

ANONYMOUS = "anonymous"
VERDICT_CHOICES = [("Model right", "right"), ("Model wrong", "wrong"), ("Unsure", "unsure")]
_KEYS = """() => {
  if (window.gantryReviewKeys) return;
  window.gantryReviewKeys = true;
  const click = (id) => document.getElementById(id)?.click();
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      click("gantry-review-save");
      return;
    }
    if (!event.altKey) return;
    const verdict = {Digit1: 0, Digit2: 1, Digit3: 2}[event.code];
    const actions = {KeyS: "gantry-review-skip", KeyB: "gantry-review-back"};
    if (verdict !== undefined) {
      const radios = document.querySelectorAll("#gantry-review-verdict input[type=radio]");
      radios[verdict]?.click();
    } else if (actions[event.code]) {
      click(actions[event.code]);
    } else {
      return;
    }
    event.preventDefault();
  });
}"""


@dataclass
class ReviewTab:
    """The tab's components by name, to place events on or read in tests."""

    queue: gr.Dropdown
    progress: gr.Markdown
    item: gr.HTML
    label: gr.Textbox
    verdict: gr.Radio
    comment: gr.Textbox
    save: gr.Button
    skip: gr.Button
    back: gr.Button
    status: gr.Markdown
    access: MonitoringAccess
    _open: Any
    _inputs: list
    _outputs: list

    def load_with(self, demo: gr.Blocks) -> None:
        """Open the reviewer's next item when the page loads (call inside
        `with demo:`), after moving a `#monitoring_token=` from the address
        into the token field, and install the keyboard shortcuts."""
        token_box = self._inputs[1]
        demo.load(None, token_box, token_box, js=TOKEN_FROM_ADDRESS_JS, **PRIVATE_EVENT).then(
            self._open, self._inputs, self._outputs, **PRIVATE_EVENT
        ).then(None, js=_KEYS, **PRIVATE_EVENT)


class _Handlers:
    def __init__(self, application: str, pinned: str | None, client: Client | None, guard):
        self.application = application
        self.pinned = pinned
        self._client = client
        self.guard = guard

    @property
    def client(self) -> Client:
        if self._client is None:
            return default_client.get_client()
        return self._client

    def queue(self, name: str | None) -> ReviewQueue:
        if self.pinned is not None and name != self.pinned:
            raise ReviewError(f"this tab reviews queue {self.pinned!r} only")
        if not name:
            raise ReviewError(f"choose a review queue of {self.application!r}")
        queue = self.client.get_review_queue(name)
        if queue.application != self.application:
            raise ReviewError(f"queue {name!r} is not one of {self.application!r}'s")
        return queue

    def reviewer(self, request: gr.Request | None, token: str) -> str:
        """The Gradio login; without logins, "anonymous" and the browser
        session, so two people on one token never share a lease."""
        self.guard.check(request, token)
        login = getattr(request, "username", None)
        if login:
            return login
        session = getattr(request, "session_hash", None) or ""
        return f"{ANONYMOUS} ({session[:8]})" if session else ANONYMOUS

    def show(self, queue: ReviewQueue, item: ReviewItem | None, reviewer: str, status: str = ""):
        progress = render.progress_text(queue.progress(), reviewer)
        if queue.labels_per_item > 1:  # agreement only means something then
            progress += render.agreement_text(queue.agreement())
        if item is None:
            done = "Nothing left for you in this queue. Thank you!"
            return progress, f"<p>{done}</p>", "", None, "", status or done, None
        own = item.own_label or {}
        label = own.get("label") if own else render.default_label(item.record)
        return (
            progress,
            render.item_html(self.client, self.application, item, queue.total),
            label,
            own.get("verdict"),
            own.get("comment") or "",
            status,
            item.position,
        )

    def failed(self, message: str):
        return (gr.skip(),) * 5 + (f"**Not saved:** {message}", gr.skip())

    def open(self, name, token, position, request: gr.Request):
        reviewer = self.reviewer(request, token)
        try:
            queue = self.queue(name)
        except (ReviewError, LookupError) as exc:
            return ("", "", "", None, "", str(exc), None)
        return self.show(queue, queue.next_item(reviewer), reviewer)

    def save(self, name, token, position, label, verdict, comment, request: gr.Request):
        reviewer = self.reviewer(request, token)
        if position is None:
            return self.failed("no item is open")
        if verdict is None:
            return self.failed("choose a verdict (Alt+1 right, Alt+2 wrong, Alt+3 unsure)")
        try:
            queue = self.queue(name)
            count = queue.save(reviewer, position, label or "", verdict, comment)
        except ReviewError as exc:
            return self.failed(str(exc))
        extra = f" (it now has {count} labels)" if count > queue.labels_per_item else ""
        status = f"Saved item {position + 1:,}{extra}."
        return self.show(queue, queue.next_item(reviewer), reviewer, status)

    def skip(self, name, token, position, request: gr.Request):
        reviewer = self.reviewer(request, token)
        queue = self.queue(name)
        if position is not None:
            queue.skip(reviewer, position)
        return self.show(queue, queue.next_item(reviewer), reviewer, "Skipped.")

    def back(self, name, token, position, request: gr.Request):
        """The item before the open one among those this reviewer labeled or
        skipped (the last of them when the open one is new)."""
        reviewer = self.reviewer(request, token)
        queue = self.queue(name)
        visited = queue.visited(reviewer)
        earlier = visited[: visited.index(position)] if position in visited else visited
        if not earlier:
            return self.failed("nothing before this item")
        if position is not None and position not in visited:
            queue.release(reviewer, position)
        return self.show(queue, queue.item(earlier[-1], reviewer), reviewer, "Back one item.")

    def renew(self, name, token, position, request: gr.Request):
        reviewer = self.reviewer(request, token)
        if position is not None:
            self.queue(name).renew(reviewer, position)


def review_tab(
    application: str,
    queue: str | None = None,
    *,
    client: Client | None = None,
    allowed_users: Sequence[str] | None = None,
    access: str = "token",
    access_token: str | None = None,
) -> ReviewTab:
    """Place a review queue of `application` in the current `gr.Blocks`:
    `queue` pins one; without it the reviewer picks among the application's
    queues. Access as for `monitoring_tab` (allowed_users, the access token,
    or access="loopback"). Call `.load_with(demo)` inside `with demo:`."""
    if not isinstance(application, str) or not application:
        raise TypeError("application must be a non-empty string")
    guard = MonitoringAccess.configure(
        allowed_users=allowed_users, access=access, access_token=access_token
    )
    guard.announce(application)
    handlers = _Handlers(application, queue, client, guard)
    names = [queue] if queue else handlers.client.list_review_queues(application)
    with gr.Column():
        token_box = gr.Textbox(label="Access token", type="password", visible=guard.mode == "token")
        chooser = gr.Dropdown(
            names,
            value=queue or (names[0] if names else None),
            label="Review queue",
            interactive=queue is None,
        )
        progress = gr.Markdown()
        item = gr.HTML()
        label = gr.Textbox(
            label="Label: the correct output", lines=3, elem_id="gantry-review-label"
        )
        verdict = gr.Radio(VERDICT_CHOICES, label="Verdict", elem_id="gantry-review-verdict")
        comment = gr.Textbox(label="Comment (optional)")
        with gr.Row():
            back = gr.Button("Back (Alt+B)", elem_id="gantry-review-back")
            skip = gr.Button("Skip (Alt+S)", elem_id="gantry-review-skip")
            save = gr.Button(
                "Save and next (Ctrl+Enter)", variant="primary", elem_id="gantry-review-save"
            )
        status = gr.Markdown()
        gr.Markdown("Verdict keys: Alt+1 model right · Alt+2 model wrong · Alt+3 unsure")
        position = gr.State(None)
        timer = gr.Timer(max(_lease_of(handlers, queue) / 3, 5.0))
    base = [chooser, token_box, position]
    outputs = [progress, item, label, verdict, comment, status, position]
    chooser.change(handlers.open, base, outputs, **PRIVATE_EVENT)
    save.click(handlers.save, [*base, label, verdict, comment], outputs, **PRIVATE_EVENT)
    skip.click(handlers.skip, base, outputs, **PRIVATE_EVENT)
    back.click(handlers.back, base, outputs, **PRIVATE_EVENT)
    timer.tick(handlers.renew, base, None, **PRIVATE_EVENT)
    return ReviewTab(
        chooser,
        progress,
        item,
        label,
        verdict,
        comment,
        save,
        skip,
        back,
        status,
        guard,
        handlers.open,
        base,
        outputs,
    )


def _lease_of(handlers: _Handlers, queue: str | None) -> float:
    """How often the open item's lease is renewed: a third of the pinned
    queue's lease (a picked queue: of the default lease)."""
    if queue is None:
        return 600.0
    try:
        return handlers.queue(queue).lease_seconds
    except (ReviewError, LookupError):
        return 600.0
