"""`monitoring_tab`: the monitoring UI as a block for any `gr.Blocks`.

It shows every user's inputs, so it is closed by default: without
`allowed_users`, its data is served only to requests made on this machine
(loopback, no proxy, no share link); with `allowed_users`, only to those Gradio
logins. Every handler checks, so the HTTP API is as closed as the page."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from ..client import Client
from . import panels
from .panels import PRESETS, Scope

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


class AccessDenied(gr.Error):
    pass


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or the name localhost."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_access(request: gr.Request | None, allowed_users: Sequence[str] | None) -> None:
    """Raise AccessDenied unless this request may see monitoring data."""
    if request is None:
        raise AccessDenied("Monitoring data is only served to Gradio requests.")
    if allowed_users:
        if request.username not in set(allowed_users):
            raise AccessDenied(
                "You are not allowed to see monitoring data; log in as a user "
                "listed in allowed_users."
            )
        return
    headers = {k.lower(): v for k, v in dict(request.headers or {}).items()}
    host = headers.get("host", "").rsplit(":", 1)[0]
    loopback = is_loopback(getattr(request.client, "host", "") or "")
    proxied = any(h in headers for h in ("x-forwarded-for", "x-forwarded-host", "forwarded"))
    if not (loopback and host in _LOCAL_HOSTS and not proxied):
        raise AccessDenied(
            "The monitoring tab is served only on localhost unless you set "
            "allowed_users=[...] and launch with auth=..."
        )


@dataclass
class MonitoringTab:
    refresh: gr.Button
    headline: gr.Markdown
    rows: gr.Dataframe
    _load: Any
    _inputs: list
    _outputs: list

    def load_with(self, demo: gr.Blocks) -> None:
        """Fill the panels when the page opens (call inside `with demo:`)."""
        demo.load(self._load, self._inputs, self._outputs, api_name=False)


def _distribution_bars(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    labels = {True: "accepted", False: "not accepted"}
    return frame.assign(bin=frame["bin_start"].round(4), accepted=frame["accepted"].map(labels))


def _baseline_parts(comparison: Any) -> tuple[str, pd.DataFrame]:
    """The distance numbers as text, and both histograms as shares for one chart."""
    if comparison is None:
        return "", pd.DataFrame()
    text = (
        f"**vs baseline:** PSI {comparison.psi:.3f} · JS {comparison.js:.3f} · "
        f"KS {comparison.ks:.3f} (p={comparison.ks_pvalue:.3g})"
    )
    hist = comparison.histogram
    shares = [
        pd.DataFrame(
            {
                "bin": hist["bin_start"].round(4),
                "share": hist[source] / max(hist[source].sum(), 1),
                "source": source,
            }
        )
        for source in ("production", "baseline")
    ]
    return text, pd.concat(shares, ignore_index=True)


def _client(client: Client | None) -> Client:
    from .. import get_client

    return client or get_client()


def _headline_markdown(numbers: dict[str, Any]) -> str:
    def fmt(key: str, value: Any, signed: bool = False) -> str:
        if value is None:
            return "–"
        sign = "+" if signed else ""
        return f"{value:{sign}.1%}" if key == "acceptance" else f"{value:{sign},}"

    previous = numbers.get("previous") or {}
    cells = []
    for key, label in (
        ("predictions", "Predictions"),
        ("feedback", "Feedback"),
        ("acceptance", "Acceptance rate"),
        ("flags", "Flags"),
    ):
        change = ""
        if previous.get(key) is not None and numbers[key] is not None:
            change = f" ({fmt(key, numbers[key] - previous[key], signed=True)} vs previous)"
        cells.append(f"**{label}:** {fmt(key, numbers[key])}{change}")
    return " · ".join(cells)


def monitoring_tab(
    application: str | None = None,
    *,
    client: Client | None = None,
    accepted_field: str = "feedback.accepted",
    flag_field: str = "feedback.flag",
    allowed_users: Sequence[str] | None = None,
    page_size: int = 50,
    auto_refresh_seconds: float | None = None,
) -> MonitoringTab:
    """Place the monitoring UI in the current `gr.Blocks`. Without `application`,
    a picker lists every application in the store (the standalone dashboard)."""
    with gr.Column():
        with gr.Row():
            app_choice = gr.Dropdown(
                label="Application",
                visible=application is None,
                value=application,
                allow_custom_value=True,
            )
            preset = gr.Radio(list(PRESETS), value="all", label="Time range")
            bucket = gr.Radio(["hour", "day", "week"], value="day", label="Bucket")
            view = gr.Dropdown(label="Saved view", allow_custom_value=True)
        with gr.Row():
            start = gr.Textbox(label="Custom start (ISO, overrides the range)")
            end = gr.Textbox(label="Custom end (ISO)")
            filters = gr.Textbox(
                label="Filters, one per line (e.g. tags.account_age_days < 30)", lines=2
            )
        with gr.Row():
            refresh = gr.Button("Refresh", variant="primary")
            view_name = gr.Textbox(label="Save current selection as view", scale=2)
            save = gr.Button("Save view")
        status = gr.Markdown()
        headline = gr.Markdown()
        with gr.Row():
            acceptance = gr.LinePlot(
                x="start", y="percent_true", label="Acceptance rate", y_lim=[0, 1]
            )
            flags = gr.LinePlot(x="start", y="count", color="value", label="Flags by option")
        with gr.Row():
            with gr.Column():
                tag_field = gr.Dropdown(label="Distribution of", allow_custom_value=True)
                distribution = gr.BarPlot(
                    x="bin", y="count", color="accepted", label="Accepted vs not accepted"
                )
            with gr.Column():
                projection = gr.Dropdown(label="Projection", allow_custom_value=True)
                projection_time = gr.LinePlot(x="start", y="mean", label="Projection over time")
                baseline_text = gr.Markdown()
                baseline_plot = gr.BarPlot(
                    x="bin", y="share", color="source", label="Production vs baseline"
                )
        with gr.Row():
            page = gr.Number(value=0, precision=0, label="Page (newest first)", minimum=0)
        rows = gr.Dataframe(label="Rows", wrap=True)

    def scope_of(app, preset_name, bucket_name, view_name_, start_, end_, filters_):
        lines = [line.strip() for line in (filters_ or "").splitlines() if line.strip()]
        options = {"bucket": bucket_name, "view": view_name_ or None, "filters": lines}
        if start_ or end_:
            return Scope(app, start=start_ or None, end=end_ or None, **options)
        return Scope.from_preset(app, preset_name, **options)

    def load(
        app,
        preset_name,
        bucket_name,
        view_name_,
        start_,
        end_,
        filters_,
        tag,
        proj,
        page_number,
        request: gr.Request,
    ):
        check_access(request, allowed_users)
        c = _client(client)
        apps = c.list_applications()
        app = app or application or (apps[0] if apps else None)
        if not app or app not in apps:
            empty = pd.DataFrame()
            return (
                gr.update(choices=apps),
                gr.update(),
                "No data yet for this application.",
                "",
                empty,
                empty,
                gr.update(),
                empty,
                gr.update(),
                empty,
                "",
                empty,
                empty,
            )
        scope = scope_of(app, preset_name, bucket_name, view_name_, start_, end_, filters_)
        shown = panels.snapshot(
            c,
            scope,
            accepted_field=accepted_field,
            flag_field=flag_field,
            tag=tag,
            projection=proj,
            page=int(page_number or 0),
            page_size=page_size,
        )
        baseline_md, baseline_frame = _baseline_parts(shown.baseline)
        return (
            gr.update(choices=apps, value=app),
            gr.update(choices=[""] + shown.views),
            "",
            _headline_markdown(shown.headline),
            shown.acceptance,
            shown.flags,
            gr.update(choices=shown.tags, value=shown.tag),
            _distribution_bars(shown.distribution),
            gr.update(choices=shown.projections, value=shown.projection),
            shown.projection_over_time,
            baseline_md,
            baseline_frame,
            shown.rows,
        )

    inputs = [app_choice, preset, bucket, view, start, end, filters, tag_field, projection, page]
    outputs = [
        app_choice,
        view,
        status,
        headline,
        acceptance,
        flags,
        tag_field,
        distribution,
        projection,
        projection_time,
        baseline_text,
        baseline_plot,
        rows,
    ]
    refresh.click(load, inputs, outputs, api_name="monitoring_refresh")
    # `.input` fires on the user's own changes only: the refresh itself sets
    # these controls, and `.change` would refresh again in a loop.
    for control in (preset, bucket, view, tag_field, projection, page, app_choice):
        control.input(load, inputs, outputs, api_name=False)

    def save_view(
        app, preset_name, bucket_name, view_name_, start_, end_, filters_, name, request: gr.Request
    ):
        check_access(request, allowed_users)
        if not name:
            return "Name the view first."
        scope = scope_of(
            app or application, preset_name, bucket_name, view_name_, start_, end_, filters_
        )
        _client(client).create_view(
            scope.application, name, scope.start, scope.end, scope.filters, replace=True
        )
        return f"Saved view **{name}**."

    save.click(
        save_view,
        [app_choice, preset, bucket, view, start, end, filters, view_name],
        status,
        api_name="monitoring_save_view",
    )
    if auto_refresh_seconds:
        gr.Timer(auto_refresh_seconds).tick(load, inputs, outputs, api_name=False)
    return MonitoringTab(refresh, headline, rows, load, inputs, outputs)
