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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from ..alerts import AlertRule, create_alert, stored_alerts
from ..alerts.metrics import METRICS
from ..alerts.overview import overview, preview
from ..client import Client
from . import panels, render
from .access import TOKEN_PARAM, AccessDenied, MonitoringAccess, is_loopback
from .panels import PRESETS, Scope

__all__ = ["AccessDenied", "MonitoringTab", "is_loopback", "monitoring_tab"]

#: The errors a viewer can cause (a filter typo, an unknown view or field, a
#: bad date): the API raises them with a message that says what to fix.
USER_ERRORS = (ValueError, LookupError)
MAX_PAGE = 10**7
_EMPTY = pd.DataFrame()
_TOKEN_FROM_ADDRESS = f"""(typed) => {{
    const params = new URLSearchParams(window.location.search);
    const token = params.get("{TOKEN_PARAM}");
    if (token === null) return typed;
    params.delete("{TOKEN_PARAM}");
    const query = params.toString();
    const rest = (query ? "?" + query : "") + window.location.hash;
    window.history.replaceState(window.history.state, "", window.location.pathname + rest);
    return typed || token;
}}"""


@dataclass
class MonitoringTab:
    refresh: gr.Button
    headline: gr.Markdown
    rows: gr.Dataframe
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
        page opened with `?monitoring_token=...` moves the token into its field
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
                projection_time = gr.LinePlot(x="start", y="mean", label="Projection over time")
                baseline_text = gr.Markdown()
                baseline_plot = gr.BarPlot(
                    x="bin", y="share", color="source", label="Production vs baseline"
                )
        with gr.Row():
            page = gr.Number(value=0, precision=0, label="Page (newest first)", minimum=0)
        rows = gr.Dataframe(label="Rows", wrap=True)
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
                    list(METRICS), value="acceptance_rate", label="Metric", allow_custom_value=True
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

    def empty(choices: list[str], message: str) -> tuple:
        return (
            gr.update(choices=choices),
            gr.update(),
            message,
            "",
            _EMPTY,
            _EMPTY,
            gr.update(),
            _EMPTY,
            gr.update(),
            _EMPTY,
            "",
            _EMPTY,
            _EMPTY,
            "",
            _EMPTY,
            _EMPTY,
        )

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
        typed_token,
        request: gr.Request,
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
        shown = panels.snapshot(
            c,
            scope,
            accepted_field=accepted_field,
            flag_field=flag_field,
            tag=tag,
            projection=proj,
            page=_page_number(page_number),
            page_size=page_size,
        )
        baseline_md, baseline_frame = render.baseline_parts(shown.baseline, shown.projection)
        alerting = overview(c, app)
        return (
            gr.update(choices=choices, value=app),
            gr.update(choices=[""] + shown.views),
            render.notes_markdown(shown.notes),
            render.headline_markdown(shown.headline),
            shown.acceptance,
            shown.flags,
            gr.update(choices=shown.tags, value=shown.tag),
            render.distribution_bars(shown.distribution),
            gr.update(choices=shown.projections, value=shown.projection),
            shown.projection_over_time,
            baseline_md,
            baseline_frame,
            shown.rows,
            alerting.summary,
            alerting.rules,
            alerting.values,
        )

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
        typed_token,
        request: gr.Request,
    ):
        """The page load: take the token from `?monitoring_token=` into the
        field, and say what is missing instead of raising at every visitor
        (most of whom came for the app, not the monitoring tab)."""
        typed = typed_token or guard.token_in(request)
        controls = (app, preset_name, bucket_name, view_name_, start_, end_, filters_)
        try:
            shown = load(*controls, tag, proj, page_number, typed, request=request)
        except gr.Error as error:
            return (*empty([application] if application else [], error.message), typed)
        return (*shown, typed)

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
        token_box,
    ]
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
    ]
    refresh.click(
        load, inputs, outputs, api_name="monitoring_refresh", api_visibility="undocumented"
    )
    token_box.submit(load, inputs, outputs, api_name=False, api_visibility="private")
    # `.input` fires on the user's own changes only: the refresh itself sets
    # these controls, and `.change` would refresh again in a loop.
    for control in (preset, bucket, view, tag_field, projection, page, app_choice):
        control.input(load, inputs, outputs, api_name=False, api_visibility="private")

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
    return MonitoringTab(refresh, headline, rows, guard, opened, inputs, outputs + [token_box])
