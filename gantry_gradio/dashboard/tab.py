"""`monitoring_tab`: the monitoring UI as a block for any `gr.Blocks`.

It shows every user's inputs, so every handler (refresh, save view, the
controls' own events, the page load, the timer) checks a credential first (see
`access.py`): the HTTP API behind the page is as closed as the page. A tab built
for one application is pinned to it: its handlers refuse any other name and
never list the store's other applications. None of its events is a public API
endpoint, so Gradio's run history (kept in the viewer's browser) never stores
the rows it shows."""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from ..alerts import AlertRule, create_alert, stored_alerts
from ..alerts.metrics import METRICS
from ..alerts.overview import overview, preview
from ..alerts.rule import check_fields
from ..client import Client
from . import panels, render
from .access import TOKEN_PARAM, AccessDenied, MonitoringAccess, is_loopback
from .cell_files import stored_file
from .charts import time_series
from .panels import PRESETS, Scope

__all__ = ["AccessDenied", "MonitoringTab", "is_loopback", "monitoring_tab"]

#: The errors a viewer can cause (a filter typo, an unknown view or field, a
#: bad date): the API raises them with a message that says what to fix.
USER_ERRORS = (ValueError, LookupError)
MAX_PAGE = 10**7
#: The metrics the tab's alert form can make (a quantile rule needs its
#: quantile=, which the form does not ask for).
FORM_METRICS = [metric for metric in METRICS if metric != "quantile"]
#: Table cells show this much; a click shows the rest.
_CELL_CHARS = 80
#: Gradio fills a handler's gr.Progress parameter; this default is its marker.
_PROGRESS = gr.Progress()
_EMPTY = pd.DataFrame()
#: Takes the token from the link (`#monitoring_token=`, or an older link's
#: `?monitoring_token=`) into the token field, and out of the address bar.
_TOKEN_FROM_ADDRESS = f"""(typed) => {{
    const search = new URLSearchParams(window.location.search);
    const hash = new URLSearchParams(window.location.hash.slice(1));
    const token = hash.get("{TOKEN_PARAM}") ?? search.get("{TOKEN_PARAM}");
    if (token === null) return typed;
    search.delete("{TOKEN_PARAM}");
    hash.delete("{TOKEN_PARAM}");
    const query = search.toString(), fragment = hash.toString();
    const rest = (query ? "?" + query : "") + (fragment ? "#" + fragment : "");
    window.history.replaceState(window.history.state, "", window.location.pathname + rest);
    return typed || token;
}}"""


@dataclass
class MonitoringTab:
    """The tab's components by name, to place events on or read in tests."""

    refresh: gr.Button
    status: gr.Markdown
    headline: gr.Markdown
    acceptance: gr.LinePlot
    flags: gr.LinePlot
    distribution: gr.BarPlot
    projection_over_time: gr.LinePlot
    projection_distribution: gr.BarPlot
    baseline: gr.LinePlot
    rows: gr.Dataframe
    selected_cell: gr.Textbox
    alerts_summary: gr.Markdown
    access: MonitoringAccess
    _load: Any
    _inputs: list
    _outputs: list

    @property
    def access_token(self) -> str | None:
        """The token a viewer needs (None when logins or access='loopback' decide)."""
        return self.access.token

    def load_with(self, demo: gr.Blocks) -> None:
        """Fill the panels when the page opens (call inside `with demo:`). A
        page opened with `#monitoring_token=...` moves the token into its field
        and out of the address bar first, so neither the browser's history nor
        Gradio's run history (which keeps each run's page URL) stores it."""
        token_box = self._inputs[-1]
        demo.load(
            None, token_box, token_box, js=_TOKEN_FROM_ADDRESS, api_visibility="private"
        ).then(self._load, self._inputs, self._outputs, api_name=False, api_visibility="private")


def _shown(handler: Callable) -> Callable:
    """Show a viewer's mistake as its message, not Gradio's bare "Error".
    Gradio renders an error's message as HTML and messages quote the viewer's
    input, so it is escaped."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except USER_ERRORS as exc:
            raise gr.Error(html.escape(str(exc), quote=False)) from None

    return wrapper


def _client(client: Client | None) -> Client:
    from .. import get_client

    return client or get_client()


def _join_key(shown_rows: Any, event: gr.SelectData) -> Any:
    """The join key of the clicked cell's row (None if the table has none)."""
    row = event.index[0] if isinstance(event.index, (list, tuple)) else None
    if isinstance(shown_rows, pd.DataFrame) and "join_key" in shown_rows and isinstance(row, int):
        if 0 <= row < len(shown_rows):
            return shown_rows["join_key"].iloc[row]
    return None


def _page_number(value: Any) -> int:
    try:
        page = int(value or 0)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"page must be a whole number, not {value!r}") from None
    if not 0 <= page <= MAX_PAGE:
        raise ValueError(f"page must be between 0 and {MAX_PAGE:,}")
    return page


def _scope(app, preset_name, bucket_name, view_name, start, end, filters) -> Scope:
    lines = [line.strip() for line in (filters or "").splitlines() if line.strip()]
    options = {"bucket": bucket_name, "view": view_name or None, "filters": lines}
    if start or end:
        return Scope(app, start=start or None, end=end or None, **options)
    return Scope.from_preset(app, preset_name, **options)


def monitoring_tab(
    application: str | None = None,
    *,
    client: Client | None = None,
    accepted_field: str = "feedback.accepted",
    flag_field: str = "feedback.flag",
    allowed_users: Sequence[str] | None = None,
    access: str = "token",
    access_token: str | None = None,
    page_size: int = 50,
    auto_refresh_seconds: float | None = None,
) -> MonitoringTab:
    """Place the monitoring UI in the current `gr.Blocks`. With `application`
    the tab shows that application only; without it, a picker lists every
    application in the store (the standalone dashboard).

    Access (one of): `allowed_users=[...]` (Gradio logins); an access token,
    the default (`access_token=`, else GANTRY_MONITORING_TOKEN, else generated
    and printed); `access="loopback"`, the opt-out for a trusted single-user
    machine (requests made on this machine, no credential)."""
    if application is not None and (not isinstance(application, str) or not application):
        raise TypeError("application must be a non-empty string, or None for every application")
    guard = MonitoringAccess.configure(
        allowed_users=allowed_users, access=access, access_token=access_token
    )
    guard.announce(application)
    with gr.Column():
        with gr.Row():
            app_choice = gr.Dropdown(
                label="Application",
                visible=application is None,
                value=application,
                choices=[application] if application else [],
                allow_custom_value=True,
            )
            token_box = gr.Textbox(
                label="Access token", type="password", visible=guard.mode == "token"
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
            split = gr.Dropdown(
                [""],
                value="",
                label="Split time series by (e.g. version)",
                allow_custom_value=True,
            )
            view_name = gr.Textbox(label="Save current selection as view", scale=2)
            save = gr.Button("Save view")
        status = gr.Markdown()
        alerts_summary = gr.Markdown()
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
                projection_distribution = gr.BarPlot(
                    x="bin", y="count", color="accepted", label="Projection distribution"
                )
        with gr.Row():
            projection_time = gr.LinePlot(x="start", y="mean", label="Projection mean over time")
            with gr.Column():
                baseline_text = gr.Markdown()
                # Two frequency polygons on shared bins: stacked bars would
                # add the shares up and read as one distribution.
                baseline_plot = gr.LinePlot(
                    x="bin", y="share", color="source", label="Production vs baseline"
                )
        with gr.Row():
            page = gr.Number(value=0, precision=0, label="Page (newest first)", minimum=0)
        rows = gr.Dataframe(
            label="Rows (click a cell for its full value; stored files open from there)",
            wrap=False,
            max_chars=_CELL_CHARS,
            max_height=600,
        )
        with gr.Row():
            selected_cell = gr.Textbox(label="Selected cell", lines=3, max_lines=12, scale=3)
            selected_file = gr.HTML(label="Selected file")
        with gr.Accordion("Alerts", open=False):
            alert_rules = gr.Dataframe(label="Alert rules and their last evaluation")
            alert_values = gr.LinePlot(
                x="window_end", y="value", color="series", label="Alert values and thresholds"
            )
            with gr.Row():
                alert_name = gr.Textbox(label="Alert name (letters, digits, _)")
                # Free-text controls: Gradio checks no choice or number before the
                # handler's access check runs; the handler checks the values.
                alert_metric = gr.Dropdown(
                    FORM_METRICS,
                    value="acceptance_rate",
                    label="Metric",
                    info="quantile rules: gantry.create_alert(..., quantile=0.95)",
                    allow_custom_value=True,
                )
                alert_field = gr.Textbox(value=accepted_field, label="Field (not for volume)")
                alert_side = gr.Dropdown(
                    ["below", "above"], value="below", label="Fires when", allow_custom_value=True
                )
                alert_threshold = gr.Textbox(value="50", label="Threshold")
            with gr.Row():
                alert_window = gr.Textbox(value="1h", label="Window")
                alert_every = gr.Textbox(value="5min", label="Every")
                alert_minimum = gr.Textbox(value="20", label="Minimum records")
                alert_filters = gr.Textbox(
                    label="Filters, one per line (with the saved view chosen above, if any)",
                    lines=2,
                )
            with gr.Row():
                check_alert = gr.Button("Check value")
                save_alert = gr.Button("Save alert")
                pause_alert = gr.Button("Pause / resume alert")
                delete_alert = gr.Button("Delete alert", variant="stop")
            alert_status = gr.Markdown()

    def pinned(requested: str | None) -> str | None:
        """The application this request may read: the tab's own when it was
        built for one (any other name is refused), else the requested one."""
        if application is None:
            return requested or None
        if requested not in (None, "", application):
            raise AccessDenied(f"This monitoring tab shows only {application!r}.")
        return application

    def stored(c: Client, app: str | None) -> tuple[bool, list[str]]:
        """Whether `app` has records, and the picker's choices. A pinned tab
        asks about its own application only: no other name is ever listed."""
        if application is not None:
            return c.store.has_application(application), [application]
        apps = c.list_applications()
        return app in apps, apps

    # The refresh's outputs, in the order of its API's positional result.
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
        alerts_summary,
        alert_rules,
        alert_values,
        projection_distribution,
        split,
    ]

    def empty(choices: list[str], message: str) -> dict:
        """Every panel cleared, and `message` in the status line."""
        cleared = {component: _EMPTY for component in outputs}
        for text in (headline, baseline_text, alerts_summary):
            cleared[text] = ""
        for control in (view, tag_field, projection, split):
            cleared[control] = gr.update()
        cleared[app_choice] = gr.update(choices=choices)
        cleared[status] = message
        return cleared

    def bars(frame: pd.DataFrame, field_name: str | None) -> dict:
        """A distribution chart: its bars, in value order, titled by the field."""
        order = render.bin_order(frame) or None
        return gr.update(value=render.distribution_bars(frame), sort=order, x_title=field_name)

    @_shown
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
        split_by,
        typed_token,
        request: gr.Request,
        progress: gr.Progress = _PROGRESS,
    ):
        guard.check(request, typed_token)
        app = pinned(app)
        c = _client(client)
        if application is None and not app:
            app = next(iter(c.list_applications()), None)
        exists, choices = stored(c, app)
        if not exists:
            return empty(choices, f"No data yet for {app!r}." if app else "No data yet.")
        scope = _scope(app, preset_name, bucket_name, view_name_, start_, end_, filters_)
        progress(0.1, desc="Counting the window's records")
        shown = panels.snapshot(
            c,
            scope,
            accepted_field=accepted_field,
            flag_field=flag_field,
            tag=tag,
            projection=proj,
            split=split_by or None,
            page=_page_number(page_number),
            page_size=page_size,
        )
        progress(0.8, desc="Evaluating alerts")
        baseline_md, baseline_frame = render.baseline_parts(shown.baseline, shown.projection)
        alerting = overview(c, app)
        series = "series" if shown.split else None
        table, datatypes = render.rows_table(shown.rows)
        return {
            app_choice: gr.update(choices=choices, value=app),
            view: gr.update(choices=[""] + shown.views),
            status: render.notes_markdown(shown.notes),
            headline: render.headline_markdown(shown.headline, shown.by_version),
            acceptance: gr.update(
                value=time_series(acceptance, shown.acceptance, series), color=series
            ),
            flags: gr.update(
                value=time_series(flags, shown.flags, series or "value"),
                color=series or "value",
                label=f"Flags by {shown.split}" if shown.split else "Flags by option",
            ),
            tag_field: gr.update(choices=shown.tags, value=shown.tag),
            distribution: bars(shown.distribution, shown.tag),
            projection: gr.update(choices=shown.projections, value=shown.projection),
            projection_time: gr.update(
                value=time_series(projection_time, shown.projection_over_time, series),
                color=series,
            ),
            baseline_text: baseline_md,
            baseline_plot: gr.update(
                value=baseline_frame,
                sort=list(dict.fromkeys(baseline_frame["bin"])) if len(baseline_frame) else None,
            ),
            rows: gr.update(value=table, datatype=datatypes or "str"),
            alerts_summary: alerting.summary,
            alert_rules: alerting.rules,
            alert_values: time_series(alert_values, alerting.values),
            projection_distribution: bars(shown.projection_distribution, shown.projection),
            split: gr.update(choices=["", *shown.split_fields], value=shown.split or ""),
        }

    def opened(
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
        split_by,
        typed_token,
        request: gr.Request,
        progress: gr.Progress = _PROGRESS,
    ):
        """The page load: take the token from an old `?monitoring_token=` link into the
        field, and say what is missing instead of raising at every visitor
        (most of whom came for the app, not the monitoring tab)."""
        typed = typed_token or guard.token_in(request)
        controls = (app, preset_name, bucket_name, view_name_, start_, end_, filters_)
        try:
            shown = load(
                *controls, tag, proj, page_number, split_by, typed, request=request,
                progress=progress,
            )
        except gr.Error as error:
            shown = empty([application] if application else [], error.message)
        return {**shown, token_box: typed}

    inputs = [
        app_choice,
        preset,
        bucket,
        view,
        start,
        end,
        filters,
        tag_field,
        projection,
        page,
        split,
        token_box,
    ]
    # A click is ignored while its refresh runs (no stacked refreshes); a
    # control changed during one refreshes once more, with its last value.
    refresh.click(
        load,
        inputs,
        outputs,
        api_name="monitoring_refresh",
        api_visibility="undocumented",
        trigger_mode="once",
    )
    token_box.submit(
        load, inputs, outputs, api_name=False, api_visibility="private", trigger_mode="once"
    )
    # `.input` fires on the user's own changes only: the refresh itself sets
    # these controls, and `.change` would refresh again in a loop.
    for control in (preset, bucket, view, tag_field, projection, page, split, app_choice):
        control.input(
            load,
            inputs,
            outputs,
            api_name=False,
            api_visibility="private",
            trigger_mode="always_last",
        )

    @_shown
    def show_cell(app, shown_rows, typed_token, event: gr.SelectData, request: gr.Request):
        """A clicked cell's full value, and the stored file it names if its
        own record stored it (a download link holding the file, in this
        access-checked answer only)."""
        guard.check(request, typed_token)
        app = pinned(app)
        value = event.value if isinstance(event.value, str) else json.dumps(event.value)
        if not app:
            return value, ""
        return value, stored_file(_client(client), app, _join_key(shown_rows, event), value)

    rows.select(
        show_cell,
        [app_choice, rows, token_box],
        [selected_cell, selected_file],
        api_name=False,
        api_visibility="private",
    )

    @_shown
    def save_view(
        app,
        preset_name,
        bucket_name,
        view_name_,
        start_,
        end_,
        filters_,
        name,
        typed_token,
        request: gr.Request,
    ):
        guard.check(request, typed_token)
        app = pinned(app)
        if not app:
            return "Pick an application first."
        if not name:
            return "Name the view first."
        c = _client(client)
        if not stored(c, app)[0]:
            raise gr.Error(f"No data yet for {app!r}: save views once it has records.")
        scope = _scope(app, preset_name, bucket_name, view_name_, start_, end_, filters_)
        c.create_view(scope.application, name, scope.start, scope.end, scope.filters, replace=True)
        return f"Saved view **{name}**."

    save.click(
        save_view,
        [app_choice, preset, bucket, view, start, end, filters, view_name, token_box],
        status,
        api_name="monitoring_save_view",
        api_visibility="undocumented",
    )
    def alert_rule(
        app, name, metric, field, side, threshold, window, every, minimum, filters_, view_
    ):
        if side not in ("above", "below"):
            raise ValueError("an alert fires when its value is above or below the threshold")
        if metric not in FORM_METRICS:
            raise ValueError(f"the form makes {', '.join(FORM_METRICS)} rules, not {metric!r}")
        try:
            limit, least = float(threshold), int(minimum or 1)
        except (TypeError, ValueError):
            raise ValueError("threshold and minimum records must be numbers") from None
        lines = [line.strip() for line in (filters_ or "").splitlines() if line.strip()]
        return AlertRule(
            name,
            app,
            metric,
            field=field or None,
            **{side: limit},
            window=window,
            every=every,
            min_records=least,
            filters=lines,
            view=view_ or None,
        )

    def alert_action(action: str, app, values: tuple, typed_token, request: gr.Request) -> str:
        """Check, save or delete the alert the form describes."""
        guard.check(request, typed_token)
        app = pinned(app)
        if not app:
            return "Pick an application first."
        c = _client(client)
        if action in ("delete", "pause"):
            automation = next((a for a in stored_alerts(c, app) if a.name == values[0]), None)
            if automation is None:
                raise gr.Error(f"No alert named {html.escape(str(values[0]))} for {app!r}.")
            rule = automation.action
            if action == "delete":
                automation.delete(c)
                return f"Deleted alert **{rule.name}** (its history stays). Refresh to update."
            if automation.is_paused(c):
                automation.resume(c)
                return f"Resumed alert **{rule.name}**: missed windows are evaluated next pass."
            automation.pause(c)
            return f"Paused alert **{rule.name}**. Refresh to update."
        rule = alert_rule(app, *values)
        check_fields(c, rule)
        if action == "check":
            return preview(c, rule)
        create_alert(c, rule)
        return f"Saved alert **{rule.name}**: {preview(c, rule)} Refresh to see it listed."

    def alert_handler(action: str) -> Callable:
        @_shown
        def handler(
            app,
            name,
            metric,
            field,
            side,
            threshold,
            window,
            every,
            minimum,
            filters_,
            view_,
            typed_token,
            request: gr.Request,
        ):
            values = (name, metric, field, side, threshold, window, every, minimum, filters_, view_)
            return alert_action(action, app, values, typed_token, request)

        return handler

    form = [
        app_choice,
        alert_name,
        alert_metric,
        alert_field,
        alert_side,
        alert_threshold,
        alert_window,
        alert_every,
        alert_minimum,
        alert_filters,
        view,  # the tab's saved view scopes the alert too
        token_box,
    ]
    buttons = (
        (check_alert, "check"),
        (save_alert, "save"),
        (pause_alert, "pause"),
        (delete_alert, "delete"),
    )
    for button, action in buttons:
        button.click(
            alert_handler(action), form, alert_status, api_name=False, api_visibility="private"
        )
    if auto_refresh_seconds:
        gr.Timer(auto_refresh_seconds).tick(
            load, inputs, outputs, api_name=False, api_visibility="private"
        )
    return MonitoringTab(
        refresh=refresh,
        status=status,
        headline=headline,
        acceptance=acceptance,
        flags=flags,
        distribution=distribution,
        projection_over_time=projection_time,
        projection_distribution=projection_distribution,
        baseline=baseline_plot,
        rows=rows,
        selected_cell=selected_cell,
        alerts_summary=alerts_summary,
        access=guard,
        _load=opened,
        _inputs=inputs,
        _outputs=outputs + [token_box],
    )
