"""The automation engine: triggers, actions, the run ledger, the scheduler."""

from .engine import (
    Action,
    ActionResult,
    Automation,
    IntervalOutcome,
    action_from_dict,
    paused_automations,
    register_action,
    stored_automations,
)
from .scheduler import AutomationScheduler
from .trigger import MIN_INTERVAL_US, IntervalTrigger, duration_us

__all__ = [
    "MIN_INTERVAL_US",
    "Action",
    "ActionResult",
    "Automation",
    "AutomationScheduler",
    "IntervalOutcome",
    "IntervalTrigger",
    "action_from_dict",
    "duration_us",
    "paused_automations",
    "register_action",
    "stored_automations",
]
