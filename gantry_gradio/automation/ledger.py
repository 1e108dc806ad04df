"""The run ledger: one row per (automation, interval) in the store's
`gantry_automation_runs` table. Its primary key is what stops a re-run, or a
second scheduler in another process, from running an interval twice; a run
left "running" by a process that died is taken over after STALE_RUN_US."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .._timestamps import now_us
from ..store.schema import automation_runs

#: A run still "running" after this long is taken to have died with its process.
STALE_RUN_US = 15 * 60 * 1_000_000


class RunLedger:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def last_done(self, automation: str) -> int | None:
        """The start of the latest interval done. Intervals run strictly in
        order, so every earlier one is done too: a pass starts after it
        instead of reading back the whole history of a long-lived rule."""
        stmt = sa.select(sa.func.max(automation_runs.c.interval_start_us)).where(
            automation_runs.c.automation == automation, automation_runs.c.status == "done"
        )
        with self.engine.connect() as conn:
            return conn.scalar(stmt)

    def claim(self, automation: str, start_us: int, end_us: int) -> bool:
        """True when this caller may run the interval: nobody had it, or its
        last attempt failed, or its runner stopped answering long ago."""
        now = now_us()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    automation_runs.insert().values(
                        automation=automation,
                        interval_start_us=start_us,
                        interval_end_us=end_us,
                        status="running",
                        attempts=1,
                        updated_at_us=now,
                    )
                )
            return True
        except IntegrityError:
            pass
        runs = automation_runs.c
        retake = (
            automation_runs.update()
            .where(
                runs.automation == automation,
                runs.interval_start_us == start_us,
                (runs.status == "failed")
                | ((runs.status == "running") & (runs.updated_at_us < now - STALE_RUN_US)),
            )
            .values(status="running", attempts=runs.attempts + 1, updated_at_us=now)
        )
        with self.engine.begin() as conn:
            return conn.execute(retake).rowcount == 1

    def finish(self, automation: str, start_us: int, reference: str | None) -> None:
        """Done; `reference` is the action's short result (a curator's dataset
        version), kept in the table's `version_id` column."""
        self._set(automation, start_us, status="done", version_id=reference, error=None)

    def fail(self, automation: str, start_us: int, error: str) -> None:
        self._set(automation, start_us, status="failed", error=error)

    def _set(self, automation: str, start_us: int, **values: Any) -> None:
        runs = automation_runs.c
        with self.engine.begin() as conn:
            conn.execute(
                automation_runs.update()
                .where(runs.automation == automation, runs.interval_start_us == start_us)
                .values(updated_at_us=now_us(), **values)
            )

    @staticmethod
    def forget(conn: sa.Connection, automation: str) -> None:
        """Every run of `automation`, in the caller's transaction (a deleted
        automation's history is not the next one's of the same name)."""
        conn.execute(automation_runs.delete().where(automation_runs.c.automation == automation))

    def runs(self, automation: str | None = None) -> pd.DataFrame:
        stmt = sa.select(automation_runs).order_by(
            automation_runs.c.automation, automation_runs.c.interval_start_us
        )
        if automation is not None:
            stmt = stmt.where(automation_runs.c.automation == automation)
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        for column in ("interval_start_us", "interval_end_us", "updated_at_us"):
            frame[column.removesuffix("_us")] = pd.to_datetime(
                frame.pop(column), unit="us", utc=True
            )
        return frame
