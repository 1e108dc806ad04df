"""Where each part of the monitoring tab sits, and nothing else: the
components, built in reading order, named in one dataclass the handlers and
tests refer to. The alert form (alert_form.py) follows inside the Alerts
section this opens."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from . import alert_form, evaluations
from .panels import BUCKET_CHOICES, PRESETS

#: Table cells show this much; the record detail shows the rest.
CELL_CHARS = 60
#: vega-embed sizes a chart to its container, which Gradio leaves without a
#: width for gr.Plot specs; this makes each chart as wide as its panel.
_CHART_CSS = "<style>.gantry-chart .vega-embed { width: 100%; }</style>"
RANGE_LABEL = "Time range"


def chart(label: str) -> gr.Plot:
    return gr.Plot(label=label, elem_classes=["gantry-chart"], show_label=True)


@dataclass
class Layout:
    """Every component of the tab but the alert form, by name."""

    app_choice: gr.Dropdown
    token_box: gr.Textbox
    preset: gr.Radio
    bucket: gr.Radio
    view: gr.Dropdown
    start: gr.Textbox
    end: gr.Textbox
    filters: gr.Textbox
    filter_message: gr.Markdown
    refresh: gr.Button
    split: gr.Dropdown
    view_name: gr.Textbox
    save: gr.Button
    status: gr.Markdown
    alerts_summary: gr.Markdown
    alert_banner: gr.Plot
    window: gr.Markdown
    headline: gr.Markdown
    acceptance: gr.Plot
    flags: gr.Plot
    tag_field: gr.Dropdown
    distribution: gr.Plot
    projection: gr.Dropdown
    projection_distribution: gr.Plot
    projection_time: gr.Plot
    baseline_text: gr.Markdown
    baseline_plot: gr.Plot
    page: gr.Number
    columns: gr.Dropdown
    rows: gr.Dataframe
    page_rows: gr.State
    record: gr.HTML
    alert_rules: gr.Dataframe
    alert_values: gr.Plot
    alert_form: alert_form.AlertForm
    evaluations: evaluations.EvaluationsPanel


def build(
    application: str | None, token_visible: bool, accepted_field: str, view: str | None = None
) -> Layout:
    """The tab's components (call inside a `gr.Blocks`), top to bottom."""
    gr.HTML(_CHART_CSS, padding=False)
    parts = _controls(application, token_visible, view)
    parts.update(_charts())
    parts.update(_rows())
    with gr.Accordion("Alerts", open=False):
        parts["alert_rules"] = gr.Dataframe(label="Alert rules and their last evaluation")
        parts["alert_values"] = chart("Alert values and thresholds")
        parts["alert_form"] = alert_form.build(accepted_field)
    parts["evaluations"] = evaluations.build(chart)
    return Layout(**parts)


def _controls(application: str | None, token_visible: bool, view: str | None) -> dict:
    parts: dict = {}
    with gr.Row():
        parts["app_choice"] = gr.Dropdown(
            label="Application",
            visible=application is None,
            value=application,
            choices=[application] if application else [],
            allow_custom_value=True,
        )
        parts["token_box"] = gr.Textbox(
            label="Access token", type="password", visible=token_visible
        )
        parts["preset"] = gr.Radio(list(PRESETS), value="all", label=RANGE_LABEL)
        parts["bucket"] = gr.Radio(BUCKET_CHOICES, value="auto", label="Bucket")
        parts["view"] = gr.Dropdown(label="Saved view", value=view, allow_custom_value=True)
    with gr.Row():
        parts["start"] = gr.Textbox(label="Custom start (ISO, overrides the range)")
        parts["end"] = gr.Textbox(label="Custom end (ISO)")
        with gr.Column(scale=2):
            parts["filters"] = gr.Textbox(
                label="Filters, one per line (e.g. tags.account_age_days < 30)", lines=2
            )
            parts["filter_message"] = gr.Markdown()
    with gr.Row():
        parts["refresh"] = gr.Button("Refresh", variant="primary")
        parts["split"] = gr.Dropdown(
            [""], value="", label="Split time series by (e.g. version)", allow_custom_value=True
        )
        parts["view_name"] = gr.Textbox(label="Save current selection as view", scale=2)
        parts["save"] = gr.Button("Save view")
    return parts


def _charts() -> dict:
    """The status lines, the alert's chart where it is announced, the
    headline, and the charts."""
    parts = {
        "status": gr.Markdown(),
        "alerts_summary": gr.Markdown(),
        "alert_banner": chart("Alert value and threshold"),
        "window": gr.Markdown(),
        "headline": gr.Markdown(),
    }
    with gr.Row():
        parts["acceptance"] = chart("Acceptance rate (%)")
        parts["flags"] = chart("Flags by option")
    with gr.Row():
        with gr.Column():
            parts["tag_field"] = gr.Dropdown(label="Distribution of", allow_custom_value=True)
            parts["distribution"] = chart("Accepted vs not accepted")
        with gr.Column():
            parts["projection"] = gr.Dropdown(label="Projection", allow_custom_value=True)
            parts["projection_distribution"] = chart("Projection distribution")
    with gr.Row():
        parts["projection_time"] = chart("Projection mean over time")
        with gr.Column():
            parts["baseline_text"] = gr.Markdown()
            parts["baseline_plot"] = chart("Production vs baseline")
    return parts


def _rows() -> dict:
    parts: dict = {}
    with gr.Row():
        parts["page"] = gr.Number(value=0, precision=0, label="Page (newest first)", minimum=0)
        parts["columns"] = gr.Dropdown(
            label="Columns shown (add or remove; empty: the compact set)",
            multiselect=True,
            allow_custom_value=True,
            scale=3,
        )
    parts["rows"] = gr.Dataframe(
        label="Rows (click a row for the whole record)",
        wrap=True,
        max_chars=CELL_CHARS,
        max_height=600,
        visible=False,  # until a refresh has rows: no placeholder headers
    )
    parts["page_rows"] = gr.State()
    parts["record"] = gr.HTML(label="Record detail")
    return parts


def control_inputs(layout: Layout) -> list:
    """The components whose values make a `Controls`, in its field order."""
    return [
        layout.app_choice,
        layout.preset,
        layout.bucket,
        layout.view,
        layout.start,
        layout.end,
        layout.filters,
        layout.tag_field,
        layout.projection,
        layout.page,
        layout.split,
        layout.columns,
        layout.token_box,
    ]
