"""Accept / Reject / Flag controls for `gr.Blocks`, and Chatbot likes as feedback.

Every handler finds "the prediction on this user's screen" through the session
Gradio gives the event (see sessions.py), so concurrent users never rate each
other's predictions, and no extra state component has to be wired."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from .. import default_client
from ..client import Client
from .context import login_name
from .sessions import recent_predictions

NOTHING_TO_RATE = "Nothing to rate yet: run a prediction first."
RECORDED = "Thanks, your feedback was recorded."
NOT_RECORDED = "Sorry, your feedback could not be recorded."


@dataclass
class FeedbackControls:
    accept: gr.Button
    reject: gr.Button
    flag_choice: gr.Radio | None
    flag: gr.Button | None
    status: gr.Markdown


def _client(client: Client | None) -> Client:
    return client or default_client.get_client()


def _log_feedback(
    application: str, client: Client | None, session: str | None, feedback: dict[str, Any]
) -> str:
    join_key = recent_predictions.latest(application, session)
    if join_key is None:
        return NOTHING_TO_RATE
    try:
        _client(client).log_record(application, feedback=feedback, join_key=join_key)
    except Exception as exc:  # the page shows a message instead of an error
        _client(client).absorb_failure(f"recording feedback for {application!r}", exc)
        return NOT_RECORDED
    return RECORDED


def feedback_controls(
    application: str,
    *,
    flagging_options: Sequence[str] = ("incorrect", "offensive", "other"),
    accepted_field: str = "accepted",
    client: Client | None = None,
) -> FeedbackControls:
    """Add Accept / Reject buttons (and a flag reason picker with a Flag button)
    to the current `gr.Blocks`. They log `{"accepted": true|false}` and
    `{"flag": reason}` against the prediction this session saw last, logged by
    `monitor(application, ...)` (`accepted_field` renames "accepted", e.g. to the
    original Gantry demo's "correction_accepted"). API names: /accept, /reject, /flag."""

    def accept(request: gr.Request) -> str:
        return _log_feedback(application, client, request.session_hash, {accepted_field: True})

    def reject(request: gr.Request) -> str:
        return _log_feedback(application, client, request.session_hash, {accepted_field: False})

    def flag(reason: str | None, request: gr.Request) -> str:
        if not reason:
            return "Pick a reason to flag first."
        feedback: dict[str, Any] = {"flag": reason}
        if username := login_name(request):
            feedback["flagged_by"] = username
        return _log_feedback(application, client, request.session_hash, feedback)

    with gr.Row():
        accept_button = gr.Button("Accept", variant="primary")
        reject_button = gr.Button("Reject", variant="stop")
    flag_choice = flag_button = None
    if flagging_options:
        with gr.Row():
            flag_choice = gr.Radio(list(flagging_options), label="Flag this output as")
            flag_button = gr.Button("Flag")
    status = gr.Markdown()
    accept_button.click(accept, None, status, api_name="accept")
    reject_button.click(reject, None, status, api_name="reject")
    if flag_button is not None:
        flag_button.click(flag, flag_choice, status, api_name="flag")
    return FeedbackControls(accept_button, reject_button, flag_choice, flag_button, status)


def _message_text(value: Any) -> str | None:
    """LikeData.value is a message's content: text, a dict with 'content',
    'value' or 'text', or a list of parts; the text is what the wrapper saw returned."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("content", "value", "text"):
            if key in value:
                return _message_text(value[key])
        return None
    if isinstance(value, list):
        parts = [_message_text(part) for part in value]
        return "".join(p for p in parts if p) or None
    return None


def monitor_likes(chatbot: gr.Chatbot, application: str, *, client: Client | None = None) -> None:
    """Log a Chatbot's like / dislike as `{"accepted": true|false}` on the
    prediction that produced the message (matched by its text within the session,
    else the session's latest)."""

    def on_like(data: gr.LikeData, request: gr.Request) -> None:
        if not isinstance(data.liked, bool):
            return  # a like taken back: nothing to record
        session = request.session_hash
        text = _message_text(data.value)
        join_key = (text and recent_predictions.find_output(application, session, text)) or (
            recent_predictions.latest(application, session)
        )
        if join_key is None:
            _client(client).absorb_failure(
                f"a like for {application!r}", LookupError("no monitored prediction in session")
            )
            return
        try:
            _client(client).log_record(
                application, feedback={"accepted": data.liked}, join_key=join_key
            )
        except Exception as exc:
            _client(client).absorb_failure(f"recording a like for {application!r}", exc)

    chatbot.like(on_like, None, None, api_visibility="undocumented")
