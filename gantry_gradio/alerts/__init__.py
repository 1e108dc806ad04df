"""Alerts: rules over aggregates of logged records, evaluated by the
automation engine, with firing/resolved states and a stored history."""

from .outbox import DeliveryReport, deliver_pending, notifications
from .rule import (
    SEVERITIES,
    AlertRule,
    alert_history,
    create_alert,
    create_alert_signature,
    stored_alerts,
)
from .state import AlertState, advance
from .webhooks import Webhook, signature

__all__ = [
    "SEVERITIES",
    "AlertRule",
    "AlertState",
    "DeliveryReport",
    "Webhook",
    "advance",
    "alert_history",
    "create_alert",
    "create_alert_signature",
    "deliver_pending",
    "notifications",
    "signature",
    "stored_alerts",
]
