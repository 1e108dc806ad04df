"""Automations: a trigger (which intervals, when) and an action (what to do
with one interval): curators snapshot an interval into a dataset version,
alerts evaluate a rule over it. One engine runs them all.

Each interval's run is claimed in the run ledger before it starts, so it
runs once whatever the number of schedulers; intervals run strictly in
order (a curator's versions are cumulative, an alert's state follows the
previous evaluation), a failed interval is retried on the next pass and
later ones wait for it, and intervals missed while nothing ran are caught up
on the next pass. An action's `run` must tolerate being called again for an
interval whose earlier attempt died half-way (its process was killed)."""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import pandas as pd
from sqlalchemy.exc import IntegrityError

from .. import default_client
from .._timestamps import to_timestamp
from ..names import check_name
from ..store.clock import store_now_us
from .definitions import AutomationTable
from .ledger import RunLedger
from .trigger import IntervalTrigger

if TYPE_CHECKING:
    from ..handle import ClientHandle

log = logging.getLogger("gantry_gradio.automation")


@dataclasses.dataclass(frozen=True)
class ActionResult:
    """What one interval's run produced: a line for the log, a short
    `reference` kept in the ledger (a dataset version id, an alert state),
    and counts for callers (records added, the rule's value...)."""

    message: str
    reference: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


#: A record reaches the store a moment after it happens (the app's spool
#: delivers it): by the clock, an interval is final only this long after it
#: ended. A record later still is not counted in an interval already run
#: (alerts: the tab and `query` have it; the evaluation stays as made).
SETTLE_US = 30 * 1_000_000


class Action(Protocol):
    """Anything an automation can run per interval. `action_type` names it in
    stored definitions; `from_dict(to_dict())` must rebuild an equal action."""

    action_type: ClassVar[str]
    application: str

    def prepare(self, client: ClientHandle) -> None:
        """Called once when the automation is created (e.g. make the dataset)."""

    def run(self, client: ClientHandle, start: pd.Timestamp, end: pd.Timestamp) -> ActionResult: ...

    def to_dict(self) -> dict[str, Any]: ...

    # Optional: `forget_history(conn)`, called in the transaction that stores a
    # new automation, removes what an earlier automation of the same name
    # left behind (alerts: evaluations and notifications).


#: action_type -> module that registers it on import, so stored automations
#: load in a process that has not imported that module yet.
_BUILT_IN_ACTIONS = {"curator": "gantry_gradio.curators", "alert": "gantry_gradio.alerts"}
_ACTION_LOADERS: dict[str, Any] = {}
_AFTER_PASS: dict[str, Any] = {}


def register_action(action_type: str, from_dict: Any, after_pass: Any = None) -> None:
    """Make stored definitions of `action_type` loadable with `from_dict`;
    `after_pass(client)`, if given, runs after every scheduler pass (alerts
    deliver their queued notifications there)."""
    _ACTION_LOADERS[action_type] = from_dict
    if after_pass is not None:
        _AFTER_PASS[action_type] = after_pass


def after_pass_hooks() -> list[Any]:
    return list(_AFTER_PASS.values())


def action_from_dict(action_type: str, spec: dict[str, Any]) -> Action:
    if action_type not in _ACTION_LOADERS and action_type in _BUILT_IN_ACTIONS:
        importlib.import_module(_BUILT_IN_ACTIONS[action_type])
    try:
        loader = _ACTION_LOADERS[action_type]
    except KeyError:
        raise ValueError(f"unknown automation action type {action_type!r}") from None
    return loader(spec)


@dataclasses.dataclass(frozen=True)
class IntervalOutcome:
    automation: str
    start: pd.Timestamp
    end: pd.Timestamp
    status: str  # done / failed
    result: ActionResult | None = None
    error: str | None = None


class Automation:
    def __init__(self, name: str, trigger: IntervalTrigger, action: Action) -> None:
        self.name = check_name(name, "automation")
        self.trigger = trigger
        self.action = action

    def __repr__(self) -> str:
        return f"Automation({self.name!r}, {self.trigger!r}, {type(self.action).__name__})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger.to_dict(),
            "action_type": self.action.action_type,
            "action": self.action.to_dict(),
        }

    @staticmethod
    def from_definition(name: str, definition: str) -> Automation:
        spec = json.loads(definition)
        # Definitions stored before alerts existed name no action type: curators.
        action = action_from_dict(spec.get("action_type", "curator"), spec["action"])
        return Automation(name, IntervalTrigger(**spec["trigger"]), action)

    def create(
        self, client: ClientHandle | None = None, *, now: Any = None
    ) -> list[IntervalOutcome]:
        """Store the automation (so schedulers run it from now on) and run
        every interval already over. Creating the same automation again is a
        no-op apart from catching up; a different one under the same name is
        refused."""
        client = client or _default_client()
        client.catalog.ensure_tables()
        definition = json.dumps(self.to_dict(), sort_keys=True)
        table = AutomationTable(client.engine)
        try:
            with client.engine.begin() as conn:
                table.insert(conn, self.name, definition)
                # A new automation under a reused name starts with no history:
                # nothing a deleted one left (its runs, an alert's evaluations
                # and notifications, maybe of another application) is its own.
                RunLedger.forget(conn, self.name)
                forget = getattr(self.action, "forget_history", None)
                if forget is not None:
                    forget(conn)
        except IntegrityError:
            stored = table.definition(self.name)
            if stored is None or _normalised(self.name, stored) != definition:
                raise ValueError(
                    f"an automation named {self.name!r} exists with another definition; "
                    "pick another name, or delete() the old one first"
                ) from None
        self.action.prepare(client)
        return self.run_pending(client, now=now)

    def run_pending(
        self, client: ClientHandle, *, now: Any = None, limit: int | None = None
    ) -> list[IntervalOutcome]:
        """Run the intervals over by `now` (default: the store's clock less
        SETTLE_US) that are not done yet, in order, at most `limit` of them
        (a scheduler's share per pass; None: all); stop at the first that
        fails or that another process is running."""
        outcomes: list[IntervalOutcome] = []
        ledger = RunLedger(client.engine)
        if now is None:  # the clocks say when; records may still be on their way
            now = (store_now_us(client.engine) - SETTLE_US) / 1e6
        due = self.trigger.intervals(now, after_us=ledger.last_done(self.name))
        for start_us, end_us in due:
            if limit is not None and len(outcomes) >= limit:
                break
            if not ledger.claim(self.name, start_us, end_us):
                break
            outcome = self._run_interval(client, ledger, start_us, end_us)
            outcomes.append(outcome)
            if outcome.status != "done":
                break
        return outcomes

    def pause(self, client: ClientHandle | None = None) -> None:
        """Schedulers skip it until `resume()`; pausing twice is a no-op."""
        client = client or _default_client()
        client.catalog.ensure_tables()
        AutomationTable(client.engine).pause(self.name)

    def resume(self, client: ClientHandle | None = None) -> None:
        """Run again from the next pass, catching up the intervals missed."""
        client = client or _default_client()
        client.catalog.ensure_tables()
        AutomationTable(client.engine).resume(self.name)

    def is_paused(self, client: ClientHandle | None = None) -> bool:
        client = client or _default_client()
        client.catalog.ensure_tables()
        return self.name in AutomationTable(client.engine).paused()

    def delete(self, client: ClientHandle | None = None) -> None:
        """Stop scheduling it and forget its runs; what it made (datasets,
        alert history) stays."""
        client = client or _default_client()
        client.catalog.ensure_tables()
        with client.engine.begin() as conn:
            AutomationTable.delete(conn, self.name)
            RunLedger.forget(conn, self.name)

    def runs(self, client: ClientHandle | None = None) -> pd.DataFrame:
        """Every interval's state: status, attempts, last error, reference."""
        return RunLedger((client or _default_client()).engine).runs(self.name)

    def _run_interval(
        self, client: ClientHandle, ledger: RunLedger, start_us: int, end_us: int
    ) -> IntervalOutcome:
        start, end = to_timestamp(start_us), to_timestamp(end_us)
        try:
            result = self.action.run(client, start, end)
        except Exception as exc:  # reported in the ledger and the log, retried next pass
            error = f"{type(exc).__name__}: {exc}"
            ledger.fail(self.name, start_us, error)
            log.error("automation %s: interval %s failed: %s", self.name, start.isoformat(), error)
            return IntervalOutcome(self.name, start, end, "failed", error=error)
        ledger.finish(self.name, start_us, result.reference)
        log.info("automation %s: %s", self.name, result.message)
        return IntervalOutcome(self.name, start, end, "done", result)


def _normalised(name: str, definition: str) -> str:
    """A stored definition as this version writes it (older ones lack fields
    that have defaults), so re-creating an unchanged automation matches."""
    try:
        return json.dumps(Automation.from_definition(name, definition).to_dict(), sort_keys=True)
    except (ValueError, KeyError, TypeError):
        return definition


def stored_automations(
    client: ClientHandle, *, paused: bool = True, unreadable: list[str] | None = None
) -> list[Automation]:
    """Every stored automation by name (without the paused ones: `paused=False`).
    A definition this version refuses (e.g. stored by an older one with a
    schedule below the minimum) is left out and logged, its name added to
    `unreadable`: one bad row must not stop every other automation."""
    client.catalog.ensure_tables()
    found = []
    for row in AutomationTable(client.engine).rows(paused=paused):
        try:
            found.append(Automation.from_definition(row.name, row.definition))
        except (ValueError, KeyError, TypeError) as exc:
            log.error("automation %r is not run: %s; delete it and create it again", row.name, exc)
            if unreadable is not None:
                unreadable.append(row.name)
    return found


def paused_automations(client: ClientHandle) -> set[str]:
    """The names of the paused automations, in one read."""
    client.catalog.ensure_tables()
    return AutomationTable(client.engine).paused()


def _default_client() -> ClientHandle:
    return default_client.get_client()
