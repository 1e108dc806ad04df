"""Automations: a trigger (which intervals, when) and an action (a curator).

Each interval's run is claimed in the store's `gantry_automation_runs` table
before it starts; the table's primary key (automation, interval start) is
what stops a re-run, or a second scheduler, from curating an interval twice.
Versions of a curated dataset are cumulative (each adds one file to the
previous version), so intervals run strictly in order; a failed interval is
retried on the next pass, and later ones wait for it."""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .._timestamps import now_us, to_epoch_us, to_timestamp
from ..datasets import Dataset, check_name
from ..datasets.dataset import write_table
from ..store.schema import automation_runs, automations
from .curators import Curator, duration_us

if TYPE_CHECKING:
    from ..client import Client

log = logging.getLogger("gantry_gradio.curators")

#: A run still "running" after this long is taken to have died with its process.
STALE_RUN_US = 15 * 60 * 1_000_000


@dataclasses.dataclass(frozen=True)
class IntervalTrigger:
    """Fires `delay` after the end of every interval
    [start_on + k·interval, start_on + (k+1)·interval), up to `end_on` if given
    (e.g. curating a finished month of history). The delay lets records still
    on their way (in an app's spool) arrive before the interval is read."""

    start_on: Any
    interval: Any
    delay: Any = "5min"
    end_on: Any = None

    def intervals(self, now: Any) -> list[tuple[int, int]]:
        """Every interval due by `now`, as (start_us, end_us)."""
        start = to_epoch_us(self.start_on, what="start_on", allow_future=True)
        width = duration_us(self.interval)
        ready_at = to_epoch_us(now, what="now", allow_future=True) - duration_us(
            self.delay, what="delay", allow_zero=True
        )
        if self.end_on is not None:
            ready_at = min(ready_at, to_epoch_us(self.end_on, what="end_on", allow_future=True))
        count = max(0, (ready_at - start) // width)
        return [(start + k * width, start + (k + 1) * width) for k in range(count)]

    def to_dict(self) -> dict[str, Any]:
        start = to_timestamp(to_epoch_us(self.start_on, what="start_on", allow_future=True))
        end = (
            None
            if self.end_on is None
            else to_timestamp(to_epoch_us(self.end_on, what="end_on", allow_future=True))
        )
        return {
            "start_on": start.isoformat(),
            "interval": pd.Timedelta(microseconds=duration_us(self.interval)).isoformat(),
            "delay": pd.Timedelta(
                microseconds=duration_us(self.delay, what="delay", allow_zero=True)
            ).isoformat(),
            "end_on": None if end is None else end.isoformat(),
        }


@dataclasses.dataclass(frozen=True)
class IntervalOutcome:
    automation: str
    start: pd.Timestamp
    end: pd.Timestamp
    status: str  # done / failed
    added: int = 0
    total: int = 0
    version_id: str | None = None
    error: str | None = None


class Automation:
    def __init__(self, name: str, trigger: IntervalTrigger, action: Curator) -> None:
        self.name = check_name(name, "automation")
        self.trigger = trigger
        self.action = action

    def __repr__(self) -> str:
        return f"Automation({self.name!r}, {self.trigger!r}, {type(self.action).__name__})"

    def to_dict(self) -> dict[str, Any]:
        return {"trigger": self.trigger.to_dict(), "action": self.action.to_dict()}

    @staticmethod
    def from_definition(name: str, definition: str) -> Automation:
        spec = json.loads(definition)
        return Automation(
            name, IntervalTrigger(**spec["trigger"]), Curator.from_dict(spec["action"])
        )

    def create(self, client: Client | None = None, *, now: Any = None) -> list[IntervalOutcome]:
        """Store the automation (so schedulers run it from now on) and curate
        every interval already over. Creating the same automation again is a
        no-op apart from catching up; a different one under the same name is
        refused."""
        client = client or _default_client()
        client.catalog.ensure_tables()
        definition = json.dumps(self.to_dict(), sort_keys=True)
        try:
            with client.engine.begin() as conn:
                conn.execute(
                    automations.insert().values(
                        name=self.name, definition=definition, created_at_us=now_us()
                    )
                )
        except IntegrityError:
            with client.engine.connect() as conn:
                stored = conn.scalar(
                    sa.select(automations.c.definition).where(automations.c.name == self.name)
                )
            if stored != definition:
                raise ValueError(
                    f"an automation named {self.name!r} exists with another definition; "
                    "pick another name, or delete() the old one first"
                ) from None
        client.create_dataset(self.action.name, exist_ok=True)
        return self.run_pending(client, now=now)

    def run_pending(self, client: Client, *, now: Any = None) -> list[IntervalOutcome]:
        """Curate the intervals over by `now` (default: the clock) that are not
        done yet, in order; stop at the first that fails or that another
        process is running."""
        outcomes = []
        ledger = RunLedger(client.engine)
        done = ledger.done_intervals(self.name)
        dataset = client.get_dataset(self.action.name)
        for start_us, end_us in self.trigger.intervals(now if now is not None else now_us() / 1e6):
            if start_us in done:
                continue
            if not ledger.claim(self.name, start_us, end_us):
                break
            outcome = self._run_interval(client, dataset, ledger, start_us, end_us)
            outcomes.append(outcome)
            if outcome.status != "done":
                break
        return outcomes

    def delete(self, client: Client | None = None) -> None:
        """Stop scheduling it and forget its runs; its dataset and versions stay."""
        client = client or _default_client()
        client.catalog.ensure_tables()
        with client.engine.begin() as conn:
            conn.execute(automations.delete().where(automations.c.name == self.name))
            conn.execute(automation_runs.delete().where(automation_runs.c.automation == self.name))

    def runs(self, client: Client | None = None) -> pd.DataFrame:
        """Every interval's state: status, attempts, last error, version."""
        return RunLedger((client or _default_client()).engine).runs(self.name)

    def _run_interval(
        self, client: Client, dataset: Dataset, ledger: RunLedger, start_us: int, end_us: int
    ) -> IntervalOutcome:
        start, end = to_timestamp(start_us), to_timestamp(end_us)
        file_name = f"interval_{start.strftime('%Y-%m-%dT%H-%M-%S')}Z.parquet"
        try:
            latest = dataset.latest_version()
            previous = latest.files if latest else ()
            if any(f.name == file_name for f in previous):  # stored before a crash
                ledger.finish(self.name, start_us, latest.version_id)
                return IntervalOutcome(self.name, start, end, "done", version_id=latest.version_id)
            chosen, total = self.action.select(client, start, end)
            message = (
                f"Added data from {self.action.application} from start time "
                f"{start.isoformat()} to end time {end.isoformat()} - {len(chosen)} records "
                f"added from interval of size {total}."
            )
            rows_before = latest.row_count if latest else 0
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / file_name
                write_table(_parquet_ready(chosen), path)
                version = dataset.add_files(
                    [(file_name, path)],
                    message,
                    None if rows_before is None else rows_before + len(chosen),
                    keep=previous,
                )
        except Exception as exc:  # reported in the ledger and the log, retried next pass
            error = f"{type(exc).__name__}: {exc}"
            ledger.fail(self.name, start_us, error)
            log.error("automation %s: interval %s failed: %s", self.name, start.isoformat(), error)
            return IntervalOutcome(self.name, start, end, "failed", error=error)
        ledger.finish(self.name, start_us, version.version_id)
        log.info("automation %s: %s", self.name, message)
        return IntervalOutcome(
            self.name, start, end, "done", len(chosen), total, version.version_id
        )


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Nested values (JSON fields) as JSON text: Parquet columns need one type."""
    ready = frame.copy()
    for column in ready.columns[ready.dtypes.map(pd.api.types.is_object_dtype)]:
        if ready[column].map(lambda v: isinstance(v, (dict, list))).any():
            ready[column] = ready[column].map(
                lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v
            )
    return ready


class RunLedger:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def done_intervals(self, automation: str) -> set[int]:
        stmt = sa.select(automation_runs.c.interval_start_us).where(
            automation_runs.c.automation == automation, automation_runs.c.status == "done"
        )
        with self.engine.connect() as conn:
            return set(conn.scalars(stmt))

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

    def finish(self, automation: str, start_us: int, version_id: str) -> None:
        self._set(automation, start_us, status="done", version_id=version_id, error=None)

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


def stored_automations(client: Client) -> list[Automation]:
    client.catalog.ensure_tables()
    with client.engine.connect() as conn:
        rows = conn.execute(sa.select(automations).order_by(automations.c.name)).fetchall()
    return [Automation.from_definition(row.name, row.definition) for row in rows]


def _default_client() -> Client:
    from .. import get_client

    return get_client()
