"""The stored automations and their pauses: every statement on the store's
`gantry_automations` and `gantry_automation_pauses` tables.

Why one home: creating, pausing, deleting and listing automations happen
from the engine, the schedulers and the alerts' overview; each writes the
same rows, and one module keeps their rules (a name is stored once, a pause
is a row) in one place, as `RunLedger` does for the runs."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .._timestamps import now_us
from ..store.schema import automation_pauses, automations


class AutomationTable:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @staticmethod
    def insert(conn: sa.Connection, name: str, definition: str) -> None:
        """Store a new automation; `IntegrityError` when the name is taken.
        Takes the caller's transaction, which also clears what a deleted
        automation of the same name left."""
        conn.execute(
            automations.insert().values(name=name, definition=definition, created_at_us=now_us())
        )

    def definition(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(
                sa.select(automations.c.definition).where(automations.c.name == name)
            )

    def rows(self, *, paused: bool = True) -> list[sa.Row]:
        """(name, definition) of every automation by name; without the paused
        ones when `paused` is False."""
        stmt = sa.select(automations.c.name, automations.c.definition).order_by(automations.c.name)
        if not paused:
            stmt = stmt.where(automations.c.name.not_in(sa.select(automation_pauses.c.name)))
        with self.engine.connect() as conn:
            return conn.execute(stmt).fetchall()

    def pause(self, name: str) -> None:
        """Pausing twice is a no-op."""
        try:
            with self.engine.begin() as conn:
                conn.execute(automation_pauses.insert().values(name=name, paused_at_us=now_us()))
        except IntegrityError:
            pass

    def resume(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(automation_pauses.delete().where(automation_pauses.c.name == name))

    def paused(self) -> set[str]:
        """The names of the paused automations, in one read."""
        with self.engine.connect() as conn:
            return set(conn.scalars(sa.select(automation_pauses.c.name)))

    @staticmethod
    def delete(conn: sa.Connection, name: str) -> None:
        """The automation and its pause, in the caller's transaction."""
        conn.execute(automations.delete().where(automations.c.name == name))
        conn.execute(automation_pauses.delete().where(automation_pauses.c.name == name))
