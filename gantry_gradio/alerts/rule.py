"""Alert rules: an aggregate of one application's records over a sliding
window, compared with a threshold every interval. A rule is an action of
the automation engine, so evaluations run once per interval whatever the
number of schedulers, in order, catching up after downtime; created with a
start in the past, it evaluates the history and shows the alerts that would
have fired."""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .._timestamps import now_us, to_epoch_us, to_timestamp
from ..automation import (
    MIN_INTERVAL_US,
    ActionResult,
    Automation,
    IntervalTrigger,
    duration_us,
    register_action,
    stored_automations,
)
from ..names import check_name
from ..store import Selection
from ..store.filters import parse_filter
from . import evaluations, outbox
from .metrics import METRICS, measure
from .state import advance
from .webhooks import Webhook

if TYPE_CHECKING:
    from ..handle import ClientHandle

SEVERITIES = ("info", "warning", "critical")
#: Windows that ended more than two intervals (plus this) ago are history: their
#: transitions are stored, not notified.
LIVE_GRACE_US = 15 * 60 * 1_000_000


@dataclasses.dataclass
class AlertRule:
    """Fires when `metric` over the last `window` is above `above` or below
    `below` (one of them) for `for_evaluations` evaluations in a row, with at
    least `min_records` records in the window (fewer decide nothing);
    resolves after as many evaluations in a row on the right side. With
    `compare_to="previous"` the value is the change in percent against the
    window before (e.g. below=-20: acceptance fell by more than a fifth);
    with "baseline", against the same mean or quantile of the registered
    baseline's values (e.g. above=50: toxicity half again the baseline's)."""

    name: str
    application: str
    metric: str
    field: str | None = None
    above: float | None = None
    below: float | None = None
    window: Any = "1h"
    every: Any = "5min"
    min_records: int = 1
    for_evaluations: int = 1
    category: str | None = None
    view: str | None = None
    filters: list = dataclasses.field(default_factory=list)
    severity: str = "warning"
    notify: list = dataclasses.field(default_factory=list)
    link: str | None = None
    quantile: float | None = None
    baseline: str = "default"
    compare_to: str | None = None

    action_type: ClassVar[str] = "alert"

    def __post_init__(self) -> None:
        check_name(self.name, "alert")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {self.metric!r}")
        if METRICS[self.metric] is None:
            self.field = None
        elif not self.field:
            raise ValueError(f"metric {self.metric!r} needs field=: {METRICS[self.metric]}")
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one threshold: above= or below=")
        threshold = self.above if self.above is not None else self.below
        if not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
            raise ValueError(f"the threshold must be a finite number, not {threshold!r}")
        for what in ("min_records", "for_evaluations"):
            value = getattr(self, what)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{what} must be a positive integer, not {value!r}")
        if self.metric == "quantile" and not (
            isinstance(self.quantile, (int, float)) and 0 <= self.quantile <= 1
        ):
            raise ValueError(
                f"metric 'quantile' needs quantile= between 0 and 1, not {self.quantile!r}"
            )
        if self.metric != "quantile":
            self.quantile = None
        if self.compare_to not in (None, "previous", "baseline"):
            raise ValueError(
                f"compare_to must be None, 'previous' or 'baseline', not {self.compare_to!r}"
            )
        if self.compare_to == "baseline" and self.metric not in ("mean", "quantile"):
            raise ValueError("compare_to='baseline' compares a mean or a quantile of a projection")
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        self.window = pd.Timedelta(
            microseconds=duration_us(self.window, what="window", at_least_us=MIN_INTERVAL_US)
        )
        self.every = pd.Timedelta(
            microseconds=duration_us(self.every, what="every", at_least_us=MIN_INTERVAL_US)
        )
        self.filters = [parse_filter(f).to_dict() for f in self.filters or []]
        self.notify = [dataclasses.asdict(Webhook.parse(w)) for w in self.notify or []]

    @property
    def condition(self) -> str:
        return f"above {self.above}" if self.above is not None else f"below {self.below}"

    def breached(self, value: float | None, records: int) -> bool | None:
        if value is None or records < self.min_records:
            return None
        return value > self.above if self.above is not None else value < self.below

    def to_dict(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)
        fields["window"] = self.window.isoformat()
        fields["every"] = self.every.isoformat()
        return fields

    @staticmethod
    def from_dict(definition: dict[str, Any]) -> AlertRule:
        return AlertRule(**definition)

    def automation(self, start_on: Any, end_on: Any = None) -> Automation:
        """This rule evaluated at the end of every `every` from `start_on`
        (up to `end_on`, e.g. the end of a month of history)."""
        trigger = IntervalTrigger(start_on, self.every, delay=0, end_on=end_on)
        return Automation(self.name, trigger, self)

    # -- the automation engine's action ---------------------------------------------

    def prepare(self, client: ClientHandle) -> None:
        """Nothing to make: evaluations go to a table every store has."""

    def forget_history(self, conn: sa.Connection) -> None:
        """Evaluations and notifications belong to one rule, not to its name:
        a rule created under a deleted rule's name (of any application, with
        any definition) must not start "firing since" the old rule's dip."""
        evaluations.forget(conn, self.name)
        outbox.forget(conn, self.name)

    def run(self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp) -> ActionResult:
        """Evaluate the window ending at `end` and store the result with the
        state it leads to. An evaluation stored by a run that died before the
        ledger heard of it is returned as it was, not evaluated twice."""
        end_us = to_epoch_us(end, what="end", allow_future=True)
        stored = evaluations.get(client.engine, self.name, end_us)
        if stored is None:
            window_start = end - self.window
            value, records = self.measure(client, window_start, end)
            if self.compare_to is not None and value is not None:
                value = _percent_change(value, self.reference(client, window_start))
            breached = self.breached(value, records)
            state = advance(
                evaluations.previous_state(client.engine, self.name, end_us),
                breached,
                self.for_evaluations,
            )
            evaluation = {
                "alert": self.name,
                "window_end_us": end_us,
                "window_start_us": to_epoch_us(window_start, what="start", allow_future=True),
                "value": value,
                "records": records,
                "breached": breached,
                "state": state.state,
                "streak": state.streak,
                "transition": state.transition,
                "evaluated_at_us": now_us(),
            }
            stored = evaluations.store(
                client.engine,
                evaluation,
                self._notifications(evaluation),
                [Webhook(**w) for w in self.notify],
            )
        message = (
            f"alert {self.name}: {self.metric} = {stored['value']} over {stored['records']} "
            f"records to {end.isoformat()}; {stored['state']}"
            + (f" ({stored['transition']})" if stored["transition"] else "")
        )
        return ActionResult(message, stored["state"], dict(stored))

    def reference(self, client: ClientHandle, window_start: pd.Timestamp) -> float | None:
        """What `compare_to` compares with: the window before (when it has
        `min_records`), or the same statistic of the registered baseline."""
        if self.compare_to == "previous":
            before, records = self.measure(client, window_start - self.window, window_start)
            return before if records >= self.min_records else None
        values = client.store.baseline_values(self.application, self.baseline, self.field)
        if values.size == 0:
            raise LookupError(
                f"baseline {self.baseline!r} of {self.application!r} has no values for "
                f"{self.field!r}: register_baseline(...) first"
            )
        if self.metric == "quantile":
            return float(np.quantile(values, self.quantile, method="inverted_cdf"))
        return float(values.mean())

    def measure(
        self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[float | None, int]:
        """(the metric over [start, end), the records it was computed from)."""
        return measure(
            client.store,
            Selection(self.application, start, end, self.view, self.filters),
            self.metric,
            self.field,
            self.category,
            quantile=self.quantile,
            baseline=self.baseline,
        )

    def _notifications(self, evaluation: dict[str, Any]) -> dict[str, Any] | None:
        """The payload to send for this evaluation, or None: no transition, no
        webhook, or a window long past (creating a rule over last month's
        history shows its timeline; it does not page anyone about it)."""
        if not evaluation["transition"] or not self.notify:
            return None
        every_us = int(self.every.total_seconds() * 1_000_000)
        if evaluation["window_end_us"] < now_us() - 2 * every_us - LIVE_GRACE_US:
            return None
        return {
            "id": f"{self.name}:{evaluation['window_end_us']}",
            "alert": self.name,
            "application": self.application,
            "severity": self.severity,
            "state": evaluation["state"],
            "transition": evaluation["transition"],
            "metric": self.metric,
            "field": self.field,
            "condition": self.condition,
            "value": evaluation["value"],
            "records": evaluation["records"],
            "window_start": to_timestamp(evaluation["window_start_us"]).isoformat(),
            "window_end": to_timestamp(evaluation["window_end_us"]).isoformat(),
            "view": self.view,
            "filters": self.filters,
            "link": self.link,
        }


def _percent_change(value: float, reference: float | None) -> float | None:
    if reference is None or reference == 0:
        return None
    return 100.0 * (value - reference) / abs(reference)


def stored_alerts(client: ClientHandle, application: str | None = None) -> list[Automation]:
    """The store's alert automations (of `application` when given), by name."""
    return [
        automation
        for automation in stored_automations(client)
        if isinstance(automation.action, AlertRule)
        and application in (None, automation.action.application)
    ]


def create_alert(
    client: ClientHandle,
    rule: AlertRule,
    *,
    start_on: Any = None,
    end_on: Any = None,
    now: Any = None,
) -> Automation:
    """Store `rule` as an automation evaluated every `rule.every` from
    `start_on` (default: the current interval's start, so nothing is
    backfilled) up to `end_on` (default: on forever), and evaluate every
    interval already over: with a start in the past, the alert timeline of
    that history."""
    clock = to_epoch_us(now if now is not None else now_us() / 1e6, what="now", allow_future=True)
    if start_on is None:
        width = int(rule.every.total_seconds() * 1_000_000)
        start_on = to_timestamp(clock // width * width)
    automation = rule.automation(start_on, end_on)
    automation.create(client, now=now)
    return automation


def check_fields(client: ClientHandle, rule: AlertRule) -> None:
    """Refuse a rule on a field its application has never logged, with the
    fields it has: the tab's form checks this on save (a typo there would
    never fire). `create_alert` does not, so code may set a rule up for
    feedback that has not arrived yet; an application without records yet is
    not checked."""
    if not client.store.has_application(rule.application):
        return
    logged = set(client.store.fields(rule.application))
    named = [rule.field] + [f["field"] for f in rule.filters]
    for name in named:
        if name is not None and name not in logged | {"timestamp", "join_key", "version"}:
            fields = ", ".join(sorted(logged)) or "none yet"
            raise ValueError(f"{rule.application!r} has no field {name!r}; its fields: {fields}")


def alert_history(client: ClientHandle, name: str) -> pd.DataFrame:
    """Every evaluation of alert `name` in time order: window_start,
    window_end, value, records, breached, state, transition."""
    client.catalog.ensure_tables()
    frame = evaluations.rows(client.engine, name)
    frame["value"] = frame["value"].astype(float)  # NaN where a window had no value
    for column in ("breached", "transition"):  # None stays None, not NaN
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    for column in ("window_start_us", "window_end_us", "evaluated_at_us"):
        frame[column.removesuffix("_us")] = pd.to_datetime(frame.pop(column), unit="us", utc=True)
    return frame[
        [
            "window_start",
            "window_end",
            "value",
            "records",
            "breached",
            "state",
            "streak",
            "transition",
            "evaluated_at",
        ]
    ]


register_action("alert", AlertRule.from_dict, after_pass=outbox.deliver_pending)


def create_alert_signature() -> inspect.Signature:
    """`create_alert`'s parameters: AlertRule's (those after `metric`
    keyword-only), then the schedule's. One source for both, so the call and
    the rule cannot drift apart."""
    made_by = {f.name: f.default_factory for f in dataclasses.fields(AlertRule)}
    rule = [
        p.replace(default=made_by[p.name]())  # `filters=[]`, not `filters=<factory>`
        if made_by.get(p.name, dataclasses.MISSING) is not dataclasses.MISSING
        else p
        for p in inspect.signature(AlertRule).parameters.values()
    ]
    keyword = inspect.Parameter.KEYWORD_ONLY
    schedule = [
        inspect.Parameter(name, keyword, default=None, annotation=Any)
        for name in ("start_on", "end_on")
    ]
    return inspect.Signature(
        rule[:3] + [p.replace(kind=keyword) for p in rule[3:]] + schedule,
        return_annotation=Automation,
    )
