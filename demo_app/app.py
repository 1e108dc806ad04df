"""The grammar-error-corrector demo: a corrector tab monitored by gantry_gradio
(wrapper, Accept / Reject, flags) and the Monitoring tab beside it. The record
shape is the original Gantry demo's: inputs.text, outputs.inference,
feedback.correction_accepted, tags.username / tags.account_age_days / tags.env."""

from __future__ import annotations

from collections.abc import Sequence

import gradio as gr

import gantry_gradio as gantry

from .diff import word_diff
from .history import HISTORY_VIEW
from .pipeline import Stage

APP = "gec-demo-app"
#: The sentence a visitor sees first: the corrector must fix it fully.
PLACEHOLDER = "She go to the school every days."
ACCEPTED = "correction_accepted"


def build_demo(
    corrector: Stage,
    *,
    application: str = APP,
    client: gantry.Client | None = None,
    monitoring_users: Sequence[str] | None = None,
    monitoring_token: str | None = None,
) -> gr.Blocks:
    """`monitoring_users`: Gradio logins allowed to see the Monitoring tab's
    data; without them the tab asks for `monitoring_token` (see
    `gantry.monitoring_tab`: else GANTRY_MONITORING_TOKEN, else one is made up
    and printed)."""

    def correct(text: str, username: str, account_age_days: float | None) -> str:
        return corrector.correct([text[:2000]])[0]

    monitored = gantry.monitor(
        application,
        correct,
        version=corrector.source,
        output_names=["inference"],
        tags={"env": "prod"},
        tag_inputs=["username", "account_age_days"],
        client=client,
    )

    def submitted(text: str, username: str, account_age_days: float | None) -> str:
        """An empty box is the visitor's slip, not a prediction: refused before
        the model runs, so nothing is logged for it."""
        if not text or not text.strip():
            raise gr.Error("Type a sentence to correct.")
        return monitored(text, username, account_age_days)

    with gr.Blocks(title="Grammar corrector (gantry_gradio demo)") as demo:
        with gr.Tab("Corrector"):
            gr.Markdown("## Grammar error corrector\nMonitored by gantry_gradio.")
            with gr.Row():
                username = gr.Textbox(label="Username", value="guest", scale=2)
                account_age = gr.Number(label="Account age (days)", value=30, precision=0)
            text = gr.Textbox(
                label="Your sentence", value=PLACEHOLDER, lines=2
            )
            submit = gr.Button("Submit", variant="primary")
            inference = gr.Textbox(label="Correction")
            changes = gr.HighlightedText(
                label="What changed", color_map={"+": "green", "-": "red"}, combine_adjacent=True
            )
            submit.click(
                submitted, [text, username, account_age], inference, api_name="correct"
            ).success(word_diff, [text, inference], changes, api_name=False)
            gantry.feedback_controls(application, accepted_field=ACCEPTED, client=client)
        with gr.Tab("Monitoring"):
            monitoring = gantry.monitoring_tab(
                application,
                client=client,
                accepted_field=f"feedback.{ACCEPTED}",
                allowed_users=monitoring_users,
                access_token=None if monitoring_users else monitoring_token,
                # The month backfill.py loads; an unknown view (no backfill yet) is skipped.
                view=HISTORY_VIEW,
            )
        monitoring.load_with(demo)
    return demo
