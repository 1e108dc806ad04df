"""What the monitoring tab shows of alerts: the firing ones first, every
rule of the application with its last evaluation, and each rule's value
over time beside its threshold."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pandas as pd

from ..automation import paused_automations
from ..store import Selection
from .rule import AlertRule, alert_history, stored_alerts

if TYPE_CHECKING:
    from ..handle import ClientHandle

RULE_COLUMNS = [
    "alert",
    "severity",
    "metric",
    "condition",
    "window",
    "every",
    "state",
    "value",
    "records",
    "last window end",
]


@dataclasses.dataclass(frozen=True)
class Overview:
    summary: str  # markdown: firing alerts first, or why there is nothing
    rules: pd.DataFrame  # one row per rule
    values: pd.DataFrame  # window_end, value, series (rule name, or "<name> threshold")
    #: Per rule with changes: its state now and when each change (fired,
    #: resolved) was made.
    changes: dict[str, tuple[str, list[pd.Timestamp]]] = dataclasses.field(default_factory=dict)

    def to_show(self, window: tuple[int | None, int | None]) -> list[str]:
        """The rules worth a chart above the headline: firing ones, and those
        that fired or resolved inside `window` (µs)."""
        low, high = window
        shown = []
        for name, (state, times) in self.changes.items():
            inside = low is not None and high is not None
            inside = inside and any(low <= when.value // 1_000 <= high for when in times)
            if state == "firing" or inside:
                shown.append(name)
        return shown


def changed_at(transition: str, window_end: pd.Timestamp) -> str:
    """How every alert time is told, in the tab and by backfill.py alike: the
    end of the evaluated window, when the alert could first know."""
    return f"{transition} {pd.Timestamp(window_end):%Y-%m-%d %H:%M} UTC"


def application_rules(client: ClientHandle, application: str) -> list[AlertRule]:
    return [automation.action for automation in stored_alerts(client, application)]


def overview(client: ClientHandle, application: str) -> Overview:
    rules = application_rules(client, application)
    if not rules:
        return Overview(
            "No alert rules for this application yet: add one under **Alerts** below, or with "
            "`gantry.create_alert(...)`.",
            pd.DataFrame(columns=RULE_COLUMNS),
            pd.DataFrame(columns=["window_end", "value", "series"]),
        )
    table, series, firing, recent, every_change = [], [], [], [], {}
    paused = paused_automations(client)
    for rule in rules:
        history = alert_history(client, rule.name)
        last = history.iloc[-1] if len(history) else None
        table.append(
            [
                rule.name,
                rule.severity,
                _measured(rule),
                rule.condition,
                _duration(rule.window),
                _duration(rule.every),
                _state(rule.name in paused, last),
                None if last is None else last["value"],
                None if last is None else last["records"],
                None if last is None else last["window_end"],
            ]
        )
        if last is not None and last["state"] == "firing":
            fired = history[history["transition"] == "fired"]["window_end"]
            since = fired.iloc[-1] if len(fired) else last["window_end"]
            firing.append(
                f"- **{rule.name}** ({rule.severity}) firing since {since:%Y-%m-%d %H:%M} UTC: "
                f"{_measured(rule)} = {_number(last['value'])} ({rule.condition}) over "
                f"{last['records']} records"
            )
        changes = history[history["transition"].notna()]
        for change in changes.tail(2).itertuples():
            recent.append((change.window_end, (rule.name, change.transition)))
        if len(changes):
            times = [pd.Timestamp(when) for when in changes["window_end"]]
            every_change[rule.name] = (last["state"], times)
        if len(history):
            threshold = rule.above if rule.above is not None else rule.below
            series.append(history.assign(series=rule.name)[["window_end", "value", "series"]])
            series.append(
                history.assign(value=float(threshold), series=f"{rule.name} threshold")[
                    ["window_end", "value", "series"]
                ]
            )
    if firing:
        summary = "**Firing alerts**\n\n" + "\n".join(firing)
    else:
        told = ", ".join(
            f"{name} {changed_at(what, when)}" for when, (name, what) in sorted(recent)[-3:]
        )
        count = f"{len(rules)} rule{'s' if len(rules) > 1 else ''}"
        summary = f"No alert is firing ({count})." + (f" Last changes: {told}." if told else "")
    values = (
        pd.concat(series, ignore_index=True)
        if series
        else pd.DataFrame(columns=["window_end", "value", "series"])
    )
    return Overview(summary, pd.DataFrame(table, columns=RULE_COLUMNS), values, every_change)


def preview(client: ClientHandle, rule: AlertRule) -> str:
    """The rule's value over its latest window before it is saved: ending now,
    or, when that window is empty, ending at the application's newest record."""
    now = pd.Timestamp.now(tz="UTC")
    value, records = _value_at(client, rule, now)
    where = "now"
    if records == 0:
        newest = client.store.rows(Selection(rule.application), limit=1, newest_first=True)
        if len(newest):
            end = pd.Timestamp(newest["timestamp"].iloc[0]) + pd.Timedelta(microseconds=1)
            value, records = _value_at(client, rule, end)
            where = f"at the newest record ({end:%Y-%m-%d %H:%M} UTC)"
    verdict = rule.breached(value, records)
    state = {None: "too few records to decide", True: "it would fire", False: "it would not fire"}
    return (
        f"{_measured(rule)} over the {_duration(rule.window)} window ending {where}: "
        f"**{_number(value)}** from {records} records; {state[verdict]} ({rule.condition})."
    )


def _value_at(client: ClientHandle, rule: AlertRule, end: pd.Timestamp) -> tuple[float | None, int]:
    return rule.measure(client, end - rule.window, end)


def _state(paused: bool, last: pd.Series | None) -> str:
    state = "not evaluated yet" if last is None else last["state"]
    return f"{state} (paused)" if paused else state


def _measured(rule: AlertRule) -> str:
    if rule.field is None:
        return rule.metric
    of = f" {rule.category!r}" if rule.category else ""
    return f"{rule.metric} of {rule.field}{of}"


def _duration(delta: pd.Timedelta) -> str:
    return str(delta).replace("0 days ", "").replace(" 00:00:00", "")


def _number(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.4g}"
