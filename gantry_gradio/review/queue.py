"""A review queue: reviewers take one item at a time, each under a lease so
two people do not label the same record by accident, and every label is
kept (a relabel adds a row; the earlier one stays in the history).

The database decides every race: an item is leased by a conditional UPDATE
that only one reviewer can win, and a label is one INSERT plus a counter
UPDATE in one transaction. Two reviewers saving at the same moment both keep
their labels; the second only learns that the item now has two.

Each saved label is also logged as feedback on the record it labels
(`feedback.label`, `label_verdict`, `reviewed_by`, `reviewed_at`, and
`label_comment` when given), so labels reach query, the tab, filters,
alerts, curators and the lake like any other feedback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from .._timestamps import now_us, to_timestamp
from ..store import Selection
from ..store.schema import review_actions, review_items
from .labeled import labeled_frame
from .sources import ReviewError

if TYPE_CHECKING:
    from ..datasets.registry import DatasetVersion
    from ..handle import ClientHandle

VERDICTS = ("right", "wrong", "unsure")
MIN_LEASE_SECONDS = 1.0
MAX_LABEL_CHARS = 100_000
#: How many open items one lease attempt considers: others may win some.
_CANDIDATES = 16


@dataclass(frozen=True)
class ReviewItem:
    """What a reviewer sees: the record (one row of `query`; empty if it is
    no longer stored) and, when they labeled it before, their current label."""

    queue: str
    position: int
    join_key: str
    record: dict[str, Any]
    own_label: dict[str, Any] | None
    labels: int


def check_reviewer(reviewer: Any) -> str:
    if not isinstance(reviewer, str) or not reviewer.strip() or len(reviewer) > 200:
        raise ReviewError("a reviewer is named by a non-empty login of at most 200 characters")
    return reviewer


class ReviewQueue:
    """Get one from `Client.create_review_queue` / `get_review_queue`."""

    def __init__(self, client: ClientHandle, row: sa.Row) -> None:
        self.client = client
        self._engine = client.engine
        self.name: str = row.name
        self.application: str = row.application
        self.total: int = row.items
        definition = json.loads(row.definition)
        self.labels_per_item: int = definition["labels_per_item"]
        self.lease_seconds: float = definition["lease_seconds"]
        self.source: dict[str, Any] = definition["source"]

    def __repr__(self) -> str:
        return f"ReviewQueue({self.name!r}, application={self.application!r}, items={self.total})"

    # -- taking items ----------------------------------------------------------------

    def next_item(self, reviewer: str) -> ReviewItem | None:
        """The reviewer's leased item if they still hold one, else the first
        open item nobody else holds that they have neither labeled nor
        skipped, leased to them; None when nothing is left for them."""
        check_reviewer(reviewer)
        now = now_us()
        items = review_items.c
        held = sa.select(items.position).where(
            items.queue == self.name,
            items.lease_holder == reviewer,
            items.lease_until_us > now,
            ~items.done,
            ~self._acted_on(reviewer),
        )
        with self._engine.connect() as conn:
            position = conn.scalar(held.order_by(items.position).limit(1))
        if position is None:
            position = self._lease_next(reviewer, now)
        return None if position is None else self.item(position, reviewer)

    def _acted_on(self, reviewer: str) -> sa.ColumnElement[bool]:
        actions = review_actions.c
        return sa.exists().where(
            actions.queue == self.name,
            actions.position == review_items.c.position,
            actions.reviewer == reviewer,
        )

    def _lease_next(self, reviewer: str, now: int) -> int | None:
        items = review_items.c
        free = sa.or_(items.lease_holder.is_(None), items.lease_until_us <= now)
        while True:
            candidates = (
                sa.select(items.position)
                .where(items.queue == self.name, ~items.done, free, ~self._acted_on(reviewer))
                .order_by(items.position)
                .limit(_CANDIDATES)
            )
            with self._engine.connect() as conn:
                positions = list(conn.scalars(candidates))
            if not positions:
                return None
            for position in positions:
                if self._take(position, reviewer, now, free):
                    return position

    def _take(self, position: int, reviewer: str, now: int, free: sa.ColumnElement) -> bool:
        items = review_items.c
        lease = (
            review_items.update()
            .where(items.queue == self.name, items.position == position, ~items.done, free)
            .values(lease_holder=reviewer, lease_until_us=now + int(self.lease_seconds * 1e6))
        )
        with self._engine.begin() as conn:
            return conn.execute(lease).rowcount == 1

    def renew(self, reviewer: str, position: int) -> bool:
        """Keep the item while the reviewer is still on it (the page calls
        this as they type); False when the lease has gone to someone else."""
        items = review_items.c
        now = now_us()
        mine = sa.or_(
            items.lease_holder == reviewer,
            items.lease_holder.is_(None),
            items.lease_until_us <= now,
        )
        renew = (
            review_items.update()
            .where(items.queue == self.name, items.position == position, mine)
            .values(lease_holder=reviewer, lease_until_us=now + int(self.lease_seconds * 1e6))
        )
        with self._engine.begin() as conn:
            return conn.execute(renew).rowcount == 1

    def item(self, position: int, reviewer: str | None = None) -> ReviewItem:
        """Item `position` (0-based) with its record as `query` returns it."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(review_items).where(
                    review_items.c.queue == self.name, review_items.c.position == position
                )
            ).first()
        if row is None:
            raise ReviewError(f"queue {self.name!r} has no item {position!r}")
        selection = Selection(self.application, filters=[("join_key", "==", row.join_key)])
        records = self.client.store.rows(selection)
        record = records.iloc[0].to_dict() if len(records) else {}  # deleted since queued
        own = self._current_labels(position).get(reviewer) if reviewer else None
        return ReviewItem(self.name, position, row.join_key, record, own, row.labels)

    # -- labeling --------------------------------------------------------------------

    def save(
        self,
        reviewer: str,
        position: int,
        label: str,
        verdict: str,
        comment: str | None = None,
    ) -> int:
        """Store `reviewer`'s label of item `position` (a relabel when they
        labeled it before: the earlier label stays in the history) and log it
        as feedback on the record. Returns how many reviewers have labeled it."""
        check_reviewer(reviewer)
        label, comment = _checked_text(label, "label"), _optional_text(comment)
        if verdict not in VERDICTS:
            raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        now = now_us()
        with self._engine.begin() as conn:
            join_key, labels = self._record_label(
                conn, reviewer, position, label, verdict, comment, now
            )
        feedback = {
            "label": label,
            "label_verdict": verdict,
            "reviewed_by": reviewer,
            "reviewed_at": to_timestamp(now).isoformat(),
        }
        if comment:
            feedback["label_comment"] = comment
        self.client.log_record(self.application, feedback=feedback, join_key=join_key)
        return labels

    def _record_label(self, conn, reviewer, position, label, verdict, comment, now):
        items, actions = review_items.c, review_actions.c
        row = conn.execute(
            sa.select(items.join_key).where(items.queue == self.name, items.position == position)
        ).first()
        if row is None:
            raise ReviewError(f"queue {self.name!r} has no item {position!r}")
        labeled_before = conn.scalar(
            sa.select(sa.func.count()).where(
                actions.queue == self.name,
                actions.position == position,
                actions.reviewer == reviewer,
                actions.action == "label",
            )
        )
        conn.execute(
            review_actions.insert().values(
                queue=self.name,
                position=position,
                join_key=row.join_key,
                reviewer=reviewer,
                action="label",
                label=label,
                verdict=verdict,
                comment=comment,
                at_us=now,
            )
        )
        added = 0 if labeled_before else 1
        labels = items.labels + added
        release = sa.case((items.lease_holder == reviewer, None), else_=items.lease_holder)
        conn.execute(
            review_items.update()
            .where(items.queue == self.name, items.position == position)
            .values(
                labels=labels,
                done=labels >= self.labels_per_item,
                lease_holder=release,
                lease_until_us=sa.case(
                    (items.lease_holder == reviewer, None), else_=items.lease_until_us
                ),
            )
        )
        count = conn.scalar(
            sa.select(items.labels).where(items.queue == self.name, items.position == position)
        )
        return row.join_key, count

    def skip(self, reviewer: str, position: int) -> None:
        """Not this one: it is not offered to this reviewer again, and goes
        back to the others at once."""
        check_reviewer(reviewer)
        items = review_items.c
        with self._engine.begin() as conn:
            join_key = conn.scalar(
                sa.select(items.join_key).where(
                    items.queue == self.name, items.position == position
                )
            )
            if join_key is None:
                raise ReviewError(f"queue {self.name!r} has no item {position!r}")
            conn.execute(
                review_actions.insert().values(
                    queue=self.name,
                    position=position,
                    join_key=join_key,
                    reviewer=reviewer,
                    action="skip",
                    at_us=now_us(),
                )
            )
            self._release(conn, reviewer, position)

    def release(self, reviewer: str, position: int) -> None:
        """Give the item back without a label (the reviewer went back or left)."""
        with self._engine.begin() as conn:
            self._release(conn, reviewer, position)

    def _release(self, conn: sa.Connection, reviewer: str, position: int) -> None:
        """End the reviewer's lease on the item, if they hold it."""
        items = review_items.c
        conn.execute(
            review_items.update()
            .where(
                items.queue == self.name,
                items.position == position,
                items.lease_holder == reviewer,
            )
            .values(lease_holder=None, lease_until_us=None)
        )

    def to_dataset(
        self,
        dataset: str,
        message: str | None = None,
        *,
        input_field: str | None = None,
        output_field: str | None = None,
    ) -> DatasetVersion:
        """A new version of `dataset` (made if missing) holding the labeled
        items: input, output, label, verdict, reviewers, tags and a split
        (train / validation / test by join key, stable across versions).
        `input_field` / `output_field`: which of several fields (e.g.
        "inputs.text") become input and output."""
        frame = labeled_frame(
            self.labels(),
            self.client.store,
            self.application,
            input_field=input_field,
            output_field=output_field,
        )
        if frame.empty:
            raise ReviewError(f"queue {self.name!r} has no labels yet")
        progress = self.progress()
        message = message or (
            f"{len(frame):,} labeled items of review queue {self.name!r} "
            f"({progress['done']:,} of {progress['total']:,} done)"
        )
        return self.client.create_dataset(dataset, exist_ok=True).push(frame, message)

    # -- reading ---------------------------------------------------------------------

    def visited(self, reviewer: str) -> list[int]:
        """The items this reviewer labeled or skipped, in the order they did,
        each once (its latest action): what "back" walks through."""
        actions = review_actions.c
        stmt = (
            sa.select(actions.position, sa.func.max(actions.id).label("last"))
            .where(actions.queue == self.name, actions.reviewer == reviewer)
            .group_by(actions.position)
            .order_by(sa.text("last"))
        )
        with self._engine.connect() as conn:
            return [row.position for row in conn.execute(stmt)]

    def labels(self, *, history: bool = False) -> pd.DataFrame:
        """Every reviewer's current label per item (with `history`, every
        label ever saved, relabels included), oldest first: position,
        join_key, reviewer, label, verdict, comment, labeled_at."""
        actions = review_actions.c
        stmt = (
            sa.select(
                actions.id,
                actions.position,
                actions.join_key,
                actions.reviewer,
                actions.label,
                actions.verdict,
                actions.comment,
                actions.at_us,
            )
            .where(actions.queue == self.name, actions.action == "label")
            .order_by(actions.id)
        )
        with self._engine.connect() as conn:
            frame = pd.DataFrame(
                conn.execute(stmt).fetchall(), columns=list(stmt.selected_columns.keys())
            )
        if not history:
            frame = frame.drop_duplicates(["position", "reviewer"], keep="last")
        frame["labeled_at"] = pd.to_datetime(frame.pop("at_us"), unit="us", utc=True)
        return frame.drop(columns="id").reset_index(drop=True)

    def _current_labels(self, position: int) -> dict[str, dict[str, Any]]:
        actions = review_actions.c
        stmt = (
            sa.select(actions.reviewer, actions.label, actions.verdict, actions.comment)
            .where(
                actions.queue == self.name,
                actions.position == position,
                actions.action == "label",
            )
            .order_by(actions.id)
        )
        with self._engine.connect() as conn:
            return {row.reviewer: row._asdict() for row in conn.execute(stmt)}

    def progress(self) -> dict[str, Any]:
        """done / total items (an item is done with labels_per_item labels),
        labels per reviewer, and the items leased right now."""
        items, actions = review_items.c, review_actions.c
        now = now_us()
        with self._engine.connect() as conn:
            done = conn.scalar(
                sa.select(sa.func.count()).where(items.queue == self.name, items.done)
            )
            leased = conn.scalar(
                sa.select(sa.func.count()).where(
                    items.queue == self.name, ~items.done, items.lease_until_us > now
                )
            )
            per_reviewer = conn.execute(
                sa.select(actions.reviewer, sa.func.count(sa.distinct(actions.position)))
                .where(actions.queue == self.name, actions.action == "label")
                .group_by(actions.reviewer)
                .order_by(actions.reviewer)
            ).fetchall()
        return {
            "done": done,
            "total": self.total,
            "leased": leased,
            "by_reviewer": {reviewer: count for reviewer, count in per_reviewer},
        }

    def agreement(self) -> dict[str, Any]:
        """Over items with more than one current label: how many, and the
        share of reviewer pairs that gave the same verdict and the same label."""
        current = self.labels()
        pairs = same_verdict = same_label = 0
        items = 0
        for _, group in current.groupby("position"):
            if len(group) < 2:
                continue
            items += 1
            rows = list(group.itertuples())
            for i, a in enumerate(rows):
                for b in rows[i + 1 :]:
                    pairs += 1
                    same_verdict += a.verdict == b.verdict
                    same_label += a.label == b.label
        return {
            "items": items,
            "pairs": pairs,
            "verdict_agreement": same_verdict / pairs if pairs else None,
            "label_agreement": same_label / pairs if pairs else None,
        }


def _checked_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ReviewError(f"the {what} must be text, not {type(value).__name__}")
    if len(value) > MAX_LABEL_CHARS:
        raise ReviewError(f"the {what} has {len(value):,} characters; at most {MAX_LABEL_CHARS:,}")
    return value


def _optional_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _checked_text(value, "comment")
