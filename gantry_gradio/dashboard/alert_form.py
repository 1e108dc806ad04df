"""The tab's alert form: check, save, pause or delete an alert rule.

Its controls are free text (Gradio checks no choice or number before the
handler's access check runs); `rule_from_form` checks every value and says
what to fix."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..alerts import AlertRule, create_alert, stored_alerts
from ..alerts.metrics import METRICS
from ..alerts.overview import preview
from ..alerts.rule import check_fields
from ..client import Client

#: The metrics the form can make (a quantile rule needs its quantile=, which
#: the form does not ask for).
FORM_METRICS = [metric for metric in METRICS if metric != "quantile"]
ACTIONS = ("check", "save", "pause", "delete")
#: The form's inputs, in the order its fields are declared.
INPUTS = ("name", "metric", "field", "side", "threshold", "window", "every", "minimum", "filters")


@dataclass
class AlertForm:
    """The form's inputs (in the handlers' order) and its buttons."""

    name: gr.Textbox
    metric: gr.Dropdown
    field: gr.Textbox
    side: gr.Dropdown
    threshold: gr.Textbox
    window: gr.Textbox
    every: gr.Textbox
    minimum: gr.Textbox
    filters: gr.Textbox
    buttons: dict[str, gr.Button]
    status: gr.Markdown

    def inputs(self) -> list:
        return [getattr(self, name) for name in INPUTS]

    def named(self, values: dict) -> dict[str, Any]:
        """The form's values by field name, from a handler's input dict."""
        return {name: values[getattr(self, name)] for name in INPUTS}


def build(accepted_field: str) -> AlertForm:
    """The form's components (call inside the tab's Alerts section)."""
    with gr.Row():
        name = gr.Textbox(label="Alert name (letters, digits, _)")
        metric = gr.Dropdown(
            FORM_METRICS,
            value="acceptance_rate",
            label="Metric",
            info="quantile rules: gantry.create_alert(..., quantile=0.95)",
            allow_custom_value=True,
        )
        field = gr.Textbox(value=accepted_field, label="Field (not for volume)")
        side = gr.Dropdown(
            ["below", "above"], value="below", label="Fires when", allow_custom_value=True
        )
        threshold = gr.Textbox(value="50", label="Threshold")
    with gr.Row():
        window = gr.Textbox(value="1h", label="Window")
        every = gr.Textbox(value="5min", label="Every")
        minimum = gr.Textbox(value="20", label="Minimum records")
        filters = gr.Textbox(
            label="Filters, one per line (with the saved view chosen above, if any)", lines=2
        )
    with gr.Row():
        buttons = {
            "check": gr.Button("Check value"),
            "save": gr.Button("Save alert"),
            "pause": gr.Button("Pause / resume alert"),
            "delete": gr.Button("Delete alert", variant="stop"),
        }
    status = gr.Markdown()
    return AlertForm(
        name, metric, field, side, threshold, window, every, minimum, filters, buttons, status
    )


def rule_from_form(app: str, values: dict[str, Any], view: str | None) -> AlertRule:
    """The rule the form describes (`values` by the form's field names)."""
    if values["side"] not in ("above", "below"):
        raise ValueError("an alert fires when its value is above or below the threshold")
    if values["metric"] not in FORM_METRICS:
        raise ValueError(
            f"the form makes {', '.join(FORM_METRICS)} rules, not {values['metric']!r}"
        )
    try:
        limit, least = float(values["threshold"]), int(values["minimum"] or 1)
    except (TypeError, ValueError):
        raise ValueError("threshold and minimum records must be numbers") from None
    lines = [line.strip() for line in (values["filters"] or "").splitlines() if line.strip()]
    return AlertRule(
        values["name"],
        app,
        values["metric"],
        field=values["field"] or None,
        **{values["side"]: limit},
        window=values["window"],
        every=values["every"],
        min_records=least,
        filters=lines,
        view=view or None,
    )


def act(client: Client, action: str, app: str, values: dict[str, Any], view: str | None) -> str:
    """Check, save, pause/resume or delete the alert the form describes."""
    if action in ("delete", "pause"):
        return _change_stored(client, action, app, values["name"])
    rule = rule_from_form(app, values, view)
    check_fields(client, rule)
    if action == "check":
        return preview(client, rule)
    create_alert(client, rule)
    return f"Saved alert **{rule.name}**: {preview(client, rule)} Refresh to see it listed."


def _change_stored(client: Client, action: str, app: str, name: Any) -> str:
    automation = next((a for a in stored_alerts(client, app) if a.name == name), None)
    if automation is None:
        raise gr.Error(f"No alert named {html.escape(str(name))} for {app!r}.")
    rule = automation.action
    if action == "delete":
        automation.delete(client)
        return f"Deleted alert **{rule.name}** (its history stays). Refresh to update."
    if automation.is_paused(client):
        automation.resume(client)
        return f"Resumed alert **{rule.name}**: missed windows are evaluated next pass."
    automation.pause(client)
    return f"Paused alert **{rule.name}**. Refresh to update."
