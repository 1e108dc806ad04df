"""`monitoring_tab`: the monitoring UI as a block for any `gr.Blocks`.

It shows every user's inputs, so every handler (refresh, save view, the
controls' own events, the page load, the timer) checks a credential first (see
`access.py`): the HTTP API behind the page is as closed as the page. A tab built
for one application is pinned to it: its handlers refuse any other name and
never list the store's other applications. None of its events is a public API
endpoint, so Gradio's run history (kept in the viewer's browser) never stores
the rows it shows.

This module wires the parts together: layout.py places the components,
controls.py names the viewer's choices, refresh.py fills the panels,
record_view.py the rows and the record detail, alert_form.py the form."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr
import pandas as pd

from .. import default_client
from ..client import Client
from . import evaluations, record_view, refresh
from . import layout as tab_layout
from .access import (
    PRIVATE_EVENT,
    TOKEN_FROM_ADDRESS_JS,
    AccessDenied,
    MonitoringAccess,
    is_loopback,
)
from .alert_form import ACTIONS, AlertForm, act
from .controls import Controls
from .layout import Layout

__all__ = ["AccessDenied", "MonitoringTab", "is_loopback", "monitoring_tab"]

#: The errors a viewer can cause (a filter typo, an unknown view or field, a
#: bad date): the API raises them with a message that says what to fix.
USER_ERRORS = (ValueError, LookupError)
#: Gradio fills a handler's gr.Progress parameter; this default is its marker.
_PROGRESS = gr.Progress()


@dataclass
class MonitoringTab:
    """The tab's components by name, to place events on or read in tests."""

    refresh: gr.Button
    status: gr.Markdown
    headline: gr.Markdown
    acceptance: gr.Plot
    flags: gr.Plot
    distribution: gr.Plot
    projection_over_time: gr.Plot
    projection_distribution: gr.Plot
    baseline: gr.Plot
    rows: gr.Dataframe
    record: gr.HTML
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
        demo.load(None, token_box, token_box, js=TOKEN_FROM_ADDRESS_JS, **PRIVATE_EVENT).then(
            self._load, set(self._inputs), self._outputs, **PRIVATE_EVENT
        )


def _shown(handler: Callable) -> Callable:
    """Raise a viewer's mistake as its message, not Gradio's bare "Error"
    (the script API's answer). Gradio renders an error's message as HTML and
    messages quote the viewer's input, so it is escaped."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except USER_ERRORS as exc:
            raise gr.Error(html.escape(str(exc), quote=False)) from None

    return wrapper


@dataclass
class _Tab:
    """What every handler of one tab shares."""

    application: str | None
    client: Client | None
    guard: MonitoringAccess
    layout: Layout
    accepted_field: str
    flag_field: str
    page_size: int
    #: The view the tab opens on; skipped while the store does not have it.
    initial_view: str | None = None

    def store_client(self) -> Client:
        return self.client or default_client.get_client()

    def pinned(self, requested: str | None) -> str | None:
        """The application this request may read: the tab's own when it was
        built for one (any other name is refused), else the requested one."""
        if self.application is None:
            return requested or None
        if requested not in (None, "", self.application):
            raise AccessDenied(f"This monitoring tab shows only {self.application!r}.")
        return self.application

    def stored(self, client: Client, app: str | None) -> tuple[bool, list[str]]:
        """Whether `app` has records, and the picker's choices. A pinned tab
        asks about its own application only: no other name is ever listed."""
        if self.application is not None:
            return client.store.has_application(self.application), [self.application]
        apps = client.list_applications()
        return app in apps, apps

    def load(self, controls: Controls, request: gr.Request, progress: Any = None) -> dict:
        """Every panel for `controls`; raises on a mistake or a refused access."""
        self.guard.check(request, controls.token)
        app = self.pinned(controls.application)
        client = self.store_client()
        if self.application is None and not app:
            app = next(iter(client.list_applications()), None)
        exists, choices = self.stored(client, app)
        if not exists:
            message = f"No data yet for {app!r}." if app else "No data yet."
            return refresh.cleared(self.layout, choices, message)
        # Only the view the tab opens on may be missing quietly (looked up for
        # it alone, not on every refresh).
        skipped = bool(controls.view) and controls.view == self.initial_view
        if skipped and controls.view in {v.name for v in client.store.list_views(app)}:
            skipped = False
        if skipped:
            controls = replace(controls, view=None)
        if progress is not None:
            progress(0.1, desc="Counting the window's records")
        shown = refresh.fill(
            self.layout,
            client,
            app,
            controls,
            accepted_field=self.accepted_field,
            flag_field=self.flag_field,
            page_size=self.page_size,
        )
        shown[self.layout.app_choice] = gr.update(choices=choices, value=app)
        if skipped:
            shown[self.layout.view]["value"] = ""  # fill listed the views there are
        return shown

    def on_page(self, controls: Controls, request: gr.Request, progress: Any = None) -> dict:
        """A refresh the viewer started: a mistake is shown next to the filters
        until fixed, and the panels keep what they showed (marked not
        refreshed) instead of each turning into an error badge."""
        try:
            return self.load(controls, request, progress)
        except AccessDenied as denied:
            return refresh.cleared(self.layout, self.own_choices(), denied.message)
        except gr.Error as error:
            return {self.layout.filter_message: _not_refreshed(error.message)}
        except USER_ERRORS as mistake:
            return {self.layout.filter_message: _not_refreshed(html.escape(str(mistake)))}

    def own_choices(self) -> list[str]:
        return [self.application] if self.application else []


def _not_refreshed(message: str) -> str:
    return f"**Not refreshed** (the panels show the last good selection): {message}"


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
    view: str | None = None,
) -> MonitoringTab:
    """Place the monitoring UI in the current `gr.Blocks`. With `application`
    the tab shows that application only; without it, a picker lists every
    application in the store (the standalone dashboard). `view` is the saved
    view the tab opens on (the demo opens on its month of history).

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
        parts = tab_layout.build(application, guard.mode == "token", accepted_field, view)
        api_refresh = gr.Button(visible=False)
    tab = _Tab(application, client, guard, parts, accepted_field, flag_field, page_size, view)
    inputs = tab_layout.control_inputs(parts)
    outputs = refresh.outputs(parts)
    opened = _wire_refresh(tab, inputs, outputs, api_refresh, auto_refresh_seconds)
    _wire_rows(tab)
    _wire_save_view(tab)
    _wire_alert_form(tab, parts.alert_form)
    _wire_evaluations(tab)
    return MonitoringTab(
        refresh=parts.refresh,
        status=parts.status,
        headline=parts.headline,
        acceptance=parts.acceptance,
        flags=parts.flags,
        distribution=parts.distribution,
        projection_over_time=parts.projection_time,
        projection_distribution=parts.projection_distribution,
        baseline=parts.baseline_plot,
        rows=parts.rows,
        record=parts.record,
        alerts_summary=parts.alerts_summary,
        access=guard,
        _load=opened,
        _inputs=inputs,
        _outputs=outputs + [parts.token_box],
    )


def _wire_refresh(
    tab: _Tab, inputs: list, outputs: list, api_refresh: gr.Button, every: float | None
) -> Callable:
    """The refresh on every control, the button, the token field and the
    timer; the script API (/monitoring_refresh) raises a mistake instead.
    Handlers take their inputs as one dict (`set(inputs)`), named by Controls."""

    def on_page(values: dict, request: gr.Request, progress: gr.Progress = _PROGRESS) -> dict:
        return tab.on_page(Controls.of(values, inputs), request, progress)

    @_shown
    def for_scripts(values: dict, request: gr.Request) -> dict:
        return tab.load(Controls.of(values, inputs), request)

    def opened(values: dict, request: gr.Request, progress: gr.Progress = _PROGRESS) -> dict:
        """The page load: take the token from an old `?monitoring_token=` link into
        the field, and say what is missing instead of raising at every visitor
        (most of whom came for the app, not the monitoring tab)."""
        controls = Controls.of(values, inputs)
        controls = replace(controls, token=controls.token or tab.guard.token_in(request))
        shown = tab.on_page(controls, request, progress)
        return {**shown, tab.layout.token_box: controls.token}

    events = {"inputs": set(inputs), "outputs": outputs}
    api_refresh.click(
        for_scripts, **events, api_name="monitoring_refresh", api_visibility="undocumented"
    )
    # A click is ignored while its refresh runs (no stacked refreshes); a
    # control changed during one refreshes once more, with its last value.
    parts = tab.layout
    parts.refresh.click(on_page, **events, trigger_mode="once", **PRIVATE_EVENT)
    parts.token_box.submit(on_page, **events, trigger_mode="once", **PRIVATE_EVENT)
    parts.filters.submit(on_page, **events, trigger_mode="always_last", **PRIVATE_EVENT)
    # `.input` fires on the user's own changes only: the refresh itself sets
    # these controls, and `.change` would refresh again in a loop.
    for control in (
        parts.preset,
        parts.bucket,
        parts.view,
        parts.tag_field,
        parts.projection,
        parts.page,
        parts.split,
        parts.app_choice,
        parts.columns,
    ):
        control.input(on_page, **events, trigger_mode="always_last", **PRIVATE_EVENT)
    if every:
        gr.Timer(every).tick(on_page, **events, **PRIVATE_EVENT)
    return opened


def _wire_rows(tab: _Tab) -> None:
    parts = tab.layout

    @_shown
    def show_record(app, page_rows, typed_token, event: gr.SelectData, request: gr.Request):
        """The clicked row's whole record, from this tab's own page of rows
        (kept on the server): every field, its files, its feedback events."""
        tab.guard.check(request, typed_token)
        app = tab.pinned(app)
        row = event.index[0] if isinstance(event.index, (list, tuple)) else None
        if not app or not isinstance(page_rows, pd.DataFrame) or not isinstance(row, int):
            return ""
        if not 0 <= row < len(page_rows) or "join_key" not in page_rows:
            return ""
        join_key = page_rows["join_key"].iloc[row]
        return record_view.detail(tab.store_client(), app, join_key)

    parts.rows.select(
        show_record,
        [parts.app_choice, parts.page_rows, parts.token_box],
        parts.record,
        **PRIVATE_EVENT,
    )


def _wire_save_view(tab: _Tab) -> None:
    parts = tab.layout
    inputs = tab_layout.control_inputs(parts)

    @_shown
    def save_view(values: dict, request: gr.Request) -> str:
        controls, name = Controls.of(values, inputs), values[parts.view_name]
        tab.guard.check(request, controls.token)
        app = tab.pinned(controls.application)
        if not app:
            return "Pick an application first."
        if not name:
            return "Name the view first."
        client = tab.store_client()
        if not tab.stored(client, app)[0]:
            raise gr.Error(f"No data yet for {app!r}: save views once it has records.")
        dated = refresh.view_dated(client, app, controls.view)
        scope = client.store.resolve(controls.scope(app, view_dated=dated))
        client.create_view(app, name, scope.start, scope.end, scope.filters, replace=True)
        return f"Saved view **{name}**."

    parts.save.click(
        save_view,
        {*inputs, parts.view_name},
        parts.status,
        api_name="monitoring_save_view",
        api_visibility="undocumented",
    )


def _wire_alert_form(tab: _Tab, form: AlertForm) -> None:
    parts = tab.layout

    def handler(action: str) -> Callable:
        @_shown
        def run(values: dict, request: gr.Request) -> str:
            tab.guard.check(request, values[parts.token_box])
            app = tab.pinned(values[parts.app_choice])
            if not app:
                return "Pick an application first."
            # The tab's saved view scopes the alert too.
            return act(tab.store_client(), action, app, form.named(values), values[parts.view])

        return run

    form_inputs = {parts.app_choice, *form.inputs(), parts.view, parts.token_box}
    for action in ACTIONS:
        form.buttons[action].click(handler(action), form_inputs, form.status, **PRIVATE_EVENT)


def _wire_evaluations(tab: _Tab) -> None:
    """Opening the section lists the application's runs; choosing a run (or
    a metric for the slice chart) shows it. A run of another application
    is not found, as the tab is pinned to its own."""
    parts, panel = tab.layout, tab.layout.evaluations

    @_shown
    def listed(values: dict, request: gr.Request) -> list:
        tab.guard.check(request, values[parts.token_box])
        app = tab.pinned(values[parts.app_choice])
        if not app:
            return [gr.update(choices=[], value=None), *[gr.skip()] * 6]
        choices = evaluations.run_choices(tab.store_client(), app)
        if not choices:
            message = "No evaluation runs yet: `gantry.evaluate(..., application=...)` makes one."
            return [gr.update(choices=[], value=None), gr.skip(), message, *[gr.skip()] * 4]
        return [gr.update(choices=choices, value=choices[0][1]), *[gr.skip()] * 6]

    @_shown
    def show(values: dict, request: gr.Request) -> list:
        tab.guard.check(request, values[parts.token_box])
        app = tab.pinned(values[parts.app_choice])
        run_id = values[panel.run]
        if not app or not run_id:
            return [gr.skip()] * 7
        run = tab.store_client().get_evaluation(run_id, application=app)
        return evaluations.shown(run, values[panel.metric])

    base = {parts.app_choice, parts.token_box}
    panel.accordion.expand(listed, base, panel.outputs(), **PRIVATE_EVENT)
    chosen = {*base, panel.run, panel.metric}
    panel.run.change(show, chosen, panel.outputs(), **PRIVATE_EVENT)
    panel.metric.change(show, chosen, panel.outputs(), **PRIVATE_EVENT)
