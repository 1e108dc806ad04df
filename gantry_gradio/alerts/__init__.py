"""Alerts: rules over aggregates of logged records, evaluated by the
automation engine, with firing/resolved states and a stored history."""

from .rule import SEVERITIES, AlertRule, alert_history, create_alert
from .state import AlertState, advance

__all__ = ["SEVERITIES", "AlertRule", "AlertState", "advance", "alert_history", "create_alert"]
