"""Every statement on the store's `gantry_alert_evaluations` table: one row
per (alert, window end), the value it saw and the state it led to.

Why one home: the rule evaluates, the overview and `alert_history` read, a
reused name forgets; the window's primary key is what makes an evaluation
happen once however many schedulers run, and one module keeps that rule."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..store.schema import alert_evaluations
from . import outbox
from .state import AlertState
from .webhooks import Webhook


def get(engine: sa.Engine, alert: str, end_us: int) -> dict[str, Any] | None:
    table = alert_evaluations.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(alert_evaluations).where(table.alert == alert, table.window_end_us == end_us)
        ).first()
    return None if row is None else dict(row._mapping)


def previous_state(engine: sa.Engine, alert: str, end_us: int) -> AlertState:
    table = alert_evaluations.c
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(table.state, table.streak)
            .where(table.alert == alert, table.window_end_us < end_us)
            .order_by(table.window_end_us.desc())
            .limit(1)
        ).first()
    return AlertState() if row is None else AlertState(row.state, row.streak)


def store(
    engine: sa.Engine,
    values: dict[str, Any],
    payload: dict[str, Any] | None,
    webhooks: list[Webhook],
) -> dict[str, Any]:
    """The evaluation and its notifications in one transaction: both or neither."""
    try:
        with engine.begin() as conn:
            conn.execute(alert_evaluations.insert().values(**values))
            if payload is not None:
                outbox.queue(conn, values["alert"], webhooks, payload)
    except IntegrityError:  # another runner stored this window first: theirs stands
        return get(engine, values["alert"], values["window_end_us"])
    return values


def rows(engine: sa.Engine, alert: str) -> pd.DataFrame:
    """Every stored evaluation of `alert`, as stored, in time order."""
    table = alert_evaluations.c
    with engine.connect() as conn:
        result = conn.execute(
            sa.select(alert_evaluations).where(table.alert == alert).order_by(table.window_end_us)
        )
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def forget(conn: sa.Connection, alert: str) -> None:
    """Every evaluation of `alert`, in the caller's transaction."""
    conn.execute(alert_evaluations.delete().where(alert_evaluations.c.alert == alert))
