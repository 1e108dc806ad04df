"""Durable notification delivery. A notification is queued in the same
transaction as the evaluation that changed the alert's state, so it exists
exactly when the transition does, whatever process dies when; any
scheduler process then delivers it, retrying with backoff while the
receiver is down, and never in the app's request path.

Delivery is at least once: a process killed after the receiver answered and
before the row is marked sent delivers it again; the
`X-Gantry-Notification-Id` header is the same both times, for the receiver
to drop the repeat."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .._timestamps import now_us
from ..store.schema import alert_notifications
from .destinations import DEADLINE_SECONDS, DestinationError, destination, post
from .webhooks import Webhook

if TYPE_CHECKING:
    from ..handle import ClientHandle

log = logging.getLogger("gantry_gradio.alerts")

SECOND_US = 1_000_000
#: A claimed notification is another process's for this long: well past one
#: post's total deadline, so no other scheduler posts it again meanwhile.
LEASE_US = 60 * SECOND_US
assert LEASE_US > 3 * DEADLINE_SECONDS * SECOND_US
#: Retries wait 10 s, 20 s, 40 s ... up to an hour; after this many attempts (about two
#: days) the notification is marked failed and left for a person to read.
MAX_ATTEMPTS = 60
FIRST_RETRY_US = 10 * SECOND_US
LONGEST_RETRY_US = 3600 * SECOND_US


def queue(conn: sa.Connection, alert: str, webhooks: list[Webhook], payload: dict) -> None:
    """Insert one notification per webhook, in the caller's transaction."""
    now = now_us()
    for index, webhook in enumerate(webhooks):
        ident = f"{payload['id']}:{index}"
        conn.execute(
            alert_notifications.insert().values(
                id=ident,
                alert=alert,
                webhook=json.dumps(dataclasses.asdict(webhook), sort_keys=True),
                payload=json.dumps({**payload, "id": ident}, sort_keys=True),
                status="pending",
                attempts=0,
                next_attempt_us=now,
                created_at_us=now,
            )
        )


@dataclasses.dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def forget(conn: sa.Connection, alert: str) -> None:
    """Every notification of `alert`, in the caller's transaction."""
    conn.execute(alert_notifications.delete().where(alert_notifications.c.alert == alert))


def deliver_pending(client: ClientHandle, *, deadline: float = DEADLINE_SECONDS) -> DeliveryReport:
    """Post every notification that is due, one claim at a time, each post
    within `deadline` seconds (destinations.py)."""
    report = DeliveryReport()
    client.catalog.ensure_tables()
    table = alert_notifications.c
    with client.engine.connect() as conn:
        due = conn.execute(
            sa.select(table.id, table.next_attempt_us)
            .where(table.status == "pending", table.next_attempt_us <= now_us())
            .order_by(table.created_at_us, table.id)
        ).fetchall()
    for ident, due_at in due:
        row = _claim(client.engine, ident, due_at)
        if row is not None:
            _deliver(client.engine, row, deadline, report)
    return report


def _claim(engine: sa.Engine, ident: str, due_at: int) -> Any:
    """Compare-and-set on next_attempt_us: of processes racing for a row, one wins."""
    table = alert_notifications.c
    with engine.begin() as conn:
        taken = conn.execute(
            alert_notifications.update()
            .where(table.id == ident, table.status == "pending", table.next_attempt_us == due_at)
            .values(next_attempt_us=now_us() + LEASE_US)
        ).rowcount
        if taken != 1:
            return None
        return conn.execute(sa.select(alert_notifications).where(table.id == ident)).first()


def _deliver(engine: sa.Engine, row: Any, deadline: float, report: DeliveryReport) -> None:
    payload = json.loads(row.payload)
    attempts = row.attempts + 1
    try:
        webhook = Webhook(**json.loads(row.webhook))
        body, headers = webhook.request(payload, now_us() // SECOND_US)
        url = webhook.target()
        status = post(url, body, headers, deadline=deadline)
        if not 200 <= status < 300:
            raise DestinationError(f"HTTP {status} from {destination(url)}")
    except Exception as exc:  # noqa: BLE001 - recorded on the row and retried
        # Our own errors say what failed without a secret; any other may
        # quote the URL or the receiver's answer, so only its class is kept.
        error = str(exc) if isinstance(exc, DestinationError) else type(exc).__name__
        failed = attempts >= MAX_ATTEMPTS
        wait = min(FIRST_RETRY_US * 2 ** (attempts - 1), LONGEST_RETRY_US)
        _update(
            engine,
            row.id,
            status="failed" if failed else "pending",
            attempts=attempts,
            next_attempt_us=now_us() + wait,
            last_error=error,
        )
        log.warning("alert notification %s: attempt %d failed: %s", row.id, attempts, error)
        if failed:
            report.failed += 1
        else:
            report.retrying += 1
        return
    _update(engine, row.id, status="sent", attempts=attempts, sent_at_us=now_us(), last_error=None)
    report.sent += 1


def _update(engine: sa.Engine, ident: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            alert_notifications.update().where(alert_notifications.c.id == ident).values(**values)
        )


def notifications(client: ClientHandle, alert: str | None = None) -> list[dict[str, Any]]:
    """Every queued notification (status, attempts, last error, payload)."""
    client.catalog.ensure_tables()
    stmt = sa.select(alert_notifications).order_by(alert_notifications.c.created_at_us)
    if alert is not None:
        stmt = stmt.where(alert_notifications.c.alert == alert)
    with client.engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(stmt)]
    for row in rows:
        row["payload"] = json.loads(row["payload"])
        row["webhook"] = json.loads(row["webhook"])
    return rows
