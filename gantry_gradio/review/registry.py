"""Making, finding and deleting review queues. A queue's items are written
in the same transaction as its row, so a queue is never seen half made; a
name reused after delete starts with no items, labels or leases (the labels
logged as feedback stay on the records: they are data, not queue state)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .._timestamps import now_us
from ..datasets.registry import current_user
from ..names import check_name
from ..store.schema import review_actions, review_items, review_queues
from .queue import MIN_LEASE_SECONDS, ReviewQueue
from .sources import QueueSource, ReviewError

if TYPE_CHECKING:
    from ..handle import ClientHandle

#: Rows per INSERT when a queue is made (well under every parameter limit).
_INSERT_CHUNK = 5_000


def create_queue(
    client: ClientHandle,
    name: str,
    application: str,
    source: QueueSource,
    *,
    labels_per_item: int = 1,
    lease_seconds: float = 600.0,
    exist_ok: bool = False,
) -> ReviewQueue:
    check_name(name, "review queue", ReviewError)
    if (
        not isinstance(labels_per_item, int)
        or isinstance(labels_per_item, bool)
        or not (1 <= labels_per_item <= 20)
    ):
        raise ReviewError(
            f"labels_per_item must be an integer from 1 to 20, not {labels_per_item!r}"
        )
    if not isinstance(lease_seconds, (int, float)) or not (
        MIN_LEASE_SECONDS <= lease_seconds <= 86_400
    ):
        raise ReviewError(
            f"lease_seconds must be from {MIN_LEASE_SECONDS:g} to 86400, not {lease_seconds!r}"
        )
    client.catalog.ensure_tables()
    if exist_ok and (existing := find_queue(client, name)) is not None:
        return _same_application(existing, application)
    keys = source.join_keys(client, application)
    definition = {
        "source": source.to_dict(),
        "labels_per_item": labels_per_item,
        "lease_seconds": float(lease_seconds),
    }
    try:
        with client.engine.begin() as conn:
            conn.execute(
                review_queues.insert().values(
                    name=name,
                    application=application,
                    definition=json.dumps(definition),
                    items=len(keys),
                    created_at_us=now_us(),
                    created_by=current_user(),
                )
            )
            rows = [
                {"queue": name, "position": i, "join_key": key, "labels": 0, "done": False}
                for i, key in enumerate(keys)
            ]
            for at in range(0, len(rows), _INSERT_CHUNK):
                conn.execute(review_items.insert(), rows[at : at + _INSERT_CHUNK])
    except IntegrityError:
        if exist_ok and (existing := find_queue(client, name)) is not None:
            return _same_application(existing, application)
        raise ReviewError(f"review queue {name!r} exists already; use get_review_queue") from None
    return get_queue(client, name)


def _same_application(queue: ReviewQueue, application: str) -> ReviewQueue:
    """exist_ok finds the queue of that name only if it reviews the same
    application: names are shared by the whole store."""
    if queue.application != application:
        raise ReviewError(
            f"review queue {queue.name!r} exists already for {queue.application!r}; "
            "queue names are shared by every application of the store"
        )
    return queue


def find_queue(client: ClientHandle, name: str) -> ReviewQueue | None:
    client.catalog.ensure_tables()
    with client.engine.connect() as conn:
        row = conn.execute(sa.select(review_queues).where(review_queues.c.name == name)).first()
    return None if row is None else ReviewQueue(client, row)


def get_queue(client: ClientHandle, name: str) -> ReviewQueue:
    queue = find_queue(client, name)
    if queue is None:
        known = ", ".join(list_queues(client)) or "none yet"
        raise ReviewError(f"no review queue named {name!r} (queues: {known})")
    return queue


def list_queues(client: ClientHandle, application: str | None = None) -> list[str]:
    client.catalog.ensure_tables()
    stmt = sa.select(review_queues.c.name).order_by(review_queues.c.name)
    if application is not None:
        stmt = stmt.where(review_queues.c.application == application)
    with client.engine.connect() as conn:
        return list(conn.scalars(stmt))


def delete_queue(client: ClientHandle, name: str) -> None:
    get_queue(client, name)
    with client.engine.begin() as conn:
        for table in (review_actions, review_items):
            conn.execute(table.delete().where(table.c.queue == name))
        conn.execute(review_queues.delete().where(review_queues.c.name == name))


def source_of(**selection: Any) -> QueueSource:
    return QueueSource(**{k: v for k, v in selection.items() if v is not None})
