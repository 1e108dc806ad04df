"""One refresh of the tab: the panels' numbers (panels.py) into what each
component shows. Every chart is a whole new spec (vega.py), so whatever
control changed, every chart shows the current selection after one refresh."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from ..alerts.overview import Overview, overview
from ..client import Client
from ..store import BUCKETS
from . import panels, record_view, render, vega
from .controls import Controls
from .layout import RANGE_LABEL, Layout


def outputs(layout: Layout) -> list:
    """The refresh's outputs, in the order of its API's positional result
    (kept stable: scripts read results by position)."""
    return [
        layout.app_choice,
        layout.view,
        layout.status,
        layout.headline,
        layout.acceptance,
        layout.flags,
        layout.tag_field,
        layout.distribution,
        layout.projection,
        layout.projection_time,
        layout.baseline_text,
        layout.baseline_plot,
        layout.rows,
        layout.alerts_summary,
        layout.alert_rules,
        layout.alert_values,
        layout.projection_distribution,
        layout.split,
        layout.preset,
        layout.filter_message,
        layout.alert_banner,
        layout.window,
        layout.columns,
        layout.page_rows,
        layout.record,
    ]


def cleared(layout: Layout, choices: list[str], message: str) -> dict:
    """Every panel emptied, `message` in the status line (no records yet, or
    no access): nothing of an earlier answer stays on screen."""
    shown: dict = {}
    for component in outputs(layout):
        if isinstance(component, gr.Plot):
            shown[component] = gr.update(value=None, visible=component is not layout.alert_banner)
        elif isinstance(component, gr.Dataframe):
            shown[component] = gr.update(value=pd.DataFrame(), visible=False)
        elif isinstance(component, (gr.Markdown, gr.HTML)):
            shown[component] = ""
        else:
            shown[component] = gr.update()
    shown[layout.page_rows] = None
    shown[layout.app_choice] = gr.update(choices=choices)
    shown[layout.status] = message
    return shown


def fill(
    layout: Layout,
    client: Client,
    app: str,
    controls: Controls,
    *,
    accepted_field: str,
    flag_field: str,
    page_size: int,
) -> dict:
    """Every output of one refresh for `controls` (the caller checked access)."""
    dated = view_dated(client, app, controls.view)
    scope = controls.scope(app, view_dated=dated)
    shown = panels.snapshot(
        client,
        scope,
        accepted_field=accepted_field,
        flag_field=flag_field,
        tag=controls.tag,
        projection=controls.projection,
        split=controls.split or None,
        page=controls.page_number(),
        page_size=page_size,
    )
    alerting = overview(client, app)
    overridden = controls.overriding(view_dated=dated)
    source = f"set by {overridden}" if overridden else f"time range {controls.preset}"
    every_column = list(shown.rows.columns)
    chosen = [c for c in controls.columns if c in every_column] or record_view.compact_columns(
        every_column, accepted_field, flag_field, shown.tag
    )
    table, datatypes = record_view.table(shown.rows, chosen)
    return {
        layout.app_choice: gr.update(value=app),
        layout.view: gr.update(choices=["", *shown.views]),
        layout.status: render.notes_markdown(shown.notes),
        layout.headline: render.headline_markdown(shown.headline, shown.by_version),
        layout.window: render.window_markdown(shown.window, shown.bucket, source),
        **_time_charts(layout, shown),
        layout.tag_field: gr.update(choices=shown.tags, value=shown.tag),
        layout.distribution: _bars(shown.distribution, shown.tag),
        layout.projection: gr.update(choices=shown.projections, value=shown.projection),
        layout.projection_distribution: _bars(shown.projection_distribution, shown.projection),
        layout.baseline_text: render.baseline_text(shown.baseline, shown.projection),
        layout.baseline_plot: _baseline(shown),
        layout.rows: gr.update(
            value=table,
            datatype=datatypes or "str",
            column_widths=record_view.column_widths(list(table.columns)),
            visible=not table.empty,
        ),
        layout.columns: gr.update(choices=every_column, value=chosen),
        layout.page_rows: shown.rows,
        layout.record: "",
        layout.alerts_summary: alerting.summary,
        layout.alert_rules: alerting.rules,
        layout.alert_values: _alert_values(alerting.values, alerting.rules),
        layout.alert_banner: _banner(alerting, shown.window),
        layout.split: gr.update(choices=["", *shown.split_fields], value=shown.split or ""),
        layout.preset: gr.update(
            label=f"{RANGE_LABEL} (overridden by {overridden})" if overridden else RANGE_LABEL
        ),
        layout.filter_message: "",
    }


def view_dated(client: Client, app: str, view: str | None) -> bool:
    """Whether the saved view sets dates of its own (then they, not the time
    range, set the window). An unknown view is refused by the snapshot."""
    if not view:
        return False
    try:
        saved = client.store.get_view(app, view)
    except LookupError:
        return False
    return saved.start_time is not None or saved.end_time is not None


def _time_charts(layout: Layout, shown: panels.Snapshot) -> dict:
    series = "series" if shown.split else None
    common = {"step_us": BUCKETS[shown.bucket], "window": shown.window, "series": series}
    flags_by = series or ("value" if "value" in shown.flags else None)
    return {
        layout.acceptance: vega.time_series(
            shown.acceptance,
            y="percent_true",
            y_title="Accepted (%)",
            percent=True,
            message="No true/false feedback in this window.",
            **common,
        ),
        layout.flags: gr.update(
            value=vega.time_series(
                shown.flags,
                y="count",
                y_title="Flags",
                counts=True,
                message="No flags in this window.",
                **{**common, "series": flags_by},
            ),
            label=f"Flags by {shown.split}" if shown.split else "Flags by option",
        ),
        layout.projection_time: vega.time_series(
            shown.projection_over_time,
            y="mean",
            y_title=f"Mean of {shown.projection}" if shown.projection else "Mean",
            message="No projection values in this window.",
            **common,
        ),
    }


def _bars(frame: pd.DataFrame, field_name: str | None) -> Any:
    bars = render.distribution_bars(frame)
    return vega.bars(
        bars,
        title=field_name or "",
        order=render.bin_order(frame),
        message="No values in this window.",
    )


def _baseline(shown: panels.Snapshot) -> Any:
    frame = shown.baseline_shares
    order = list(dict.fromkeys(frame.sort_values("bin_start")["bin"])) if len(frame) else []
    return vega.shares(
        frame,
        title=shown.projection or "",
        order=order,
        message="No baseline to compare with (see the line above).",
    )


def _alert_values(values: pd.DataFrame, rules: pd.DataFrame) -> Any:
    """Each rule's value at each window's end beside its threshold; the axis
    says the unit when the rules share one (acceptance rates are percents)."""
    if values.empty:
        return vega.empty("No alert has been evaluated yet.")
    names = {series.removesuffix(" threshold") for series in values["series"]}
    metrics = set(rules[rules["alert"].isin(names)]["metric"])
    title = "Value"
    if metrics and all(metric.startswith("acceptance_rate") for metric in metrics):
        title = "Accepted (%)"
    elif len(metrics) == 1:
        title = metrics.pop()
    return vega.time_series(
        values,
        x="window_end",
        y="value",
        y_title=title,
        step_us=_alert_step(values),
        window=(None, None),
        series="series",
    )


def _banner(alerting: Overview, window: tuple[int | None, int | None]) -> Any:
    """The chart of each alert that is firing, or whose last change lies in
    the window shown, where the tab announces it; hidden otherwise."""
    names = alerting.to_show(window)
    if not names:
        return gr.update(value=None, visible=False)
    values = alerting.values[
        alerting.values["series"].isin([*names, *(f"{n} threshold" for n in names)])
    ]
    return gr.update(value=_alert_values(values, alerting.rules), visible=True)


def _alert_step(values: pd.DataFrame) -> int:
    """The usual gap between evaluations (the chart breaks its line past it)."""
    ends = pd.to_datetime(values["window_end"], utc=True).drop_duplicates().sort_values()
    gaps = ends.diff().dropna()
    if gaps.empty:
        return BUCKETS["day"]
    return int(gaps.median() / pd.Timedelta(microseconds=1))
