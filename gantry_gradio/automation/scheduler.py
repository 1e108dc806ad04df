"""Runs every automation stored in a record store (curators, alerts) as time
passes: on a daemon thread inside the app's process
(`gantry.start_automations()`), or in the foreground (`python -m
gantry_gradio automations run`). Several schedulers on one store are safe:
the run ledger hands each interval to one of them."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from .engine import IntervalOutcome, after_pass_hooks, stored_automations

if TYPE_CHECKING:
    from ..handle import ClientHandle

log = logging.getLogger("gantry_gradio.automation")


#: Intervals one automation may run in one pass. Why a share: a rule created
#: over a long past (or a 1-minute rule after a day of downtime) has thousands
#: of intervals to catch up, and every other rule of every application would
#: wait for them; with a share each gets its turn, and passes follow each
#: other without the poll pause until everything has caught up.
INTERVALS_PER_PASS = 50
#: How often the background scheduler runs the after-pass steps (at most).
DELIVERY_SECONDS = 5.0


class AutomationScheduler:
    def __init__(self, client: ClientHandle, *, poll_seconds: float = 60.0) -> None:
        self.client = client
        self.poll_seconds = poll_seconds
        self.failures = 0  # intervals that failed (each is retried on the next pass)
        #: Whether the last pass left intervals due (an automation used its share).
        self.behind = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: Any = None, *, deliver: bool = True) -> list[IntervalOutcome]:
        """One pass over every stored automation that is not paused, each
        running at most INTERVALS_PER_PASS intervals, then (`deliver`) the
        after-pass steps. One automation's failure does not keep the others
        from running."""
        outcomes: list[IntervalOutcome] = []
        unreadable: list[str] = []
        self.behind = False
        for automation in stored_automations(self.client, paused=False, unreadable=unreadable):
            try:
                ran = automation.run_pending(self.client, now=now, limit=INTERVALS_PER_PASS)
            except Exception:  # noqa: BLE001 - reported, and the pass goes on
                self.failures += 1
                log.exception("automation %s could not run", automation.name)
                continue
            outcomes.extend(ran)
            self.behind |= len(ran) == INTERVALS_PER_PASS and ran[-1].status == "done"
        self.failures += len(unreadable) + sum(o.status == "failed" for o in outcomes)
        if deliver:
            self.after_pass()
        return outcomes

    def after_pass(self) -> None:
        """The steps actions registered to run after passes (alerts deliver
        their notifications here)."""
        for hook in after_pass_hooks():
            try:
                hook(self.client)
            except Exception:  # noqa: BLE001 - e.g. the database is down; next pass retries
                self.failures += 1
                log.exception("after-pass step %s failed", getattr(hook, "__name__", hook))

    def start(self) -> AutomationScheduler:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.run_forever, name="gantry-automations", daemon=True
            )
            self._thread.start()
        return self

    def run_forever(self) -> None:
        """Passes on this thread; the after-pass steps (posting notifications
        to receivers that may be slow or down) on a thread of their own, so
        no receiver delays an evaluation."""
        steps = threading.Thread(target=self._after_passes, name="gantry-deliveries", daemon=True)
        steps.start()
        while not self._stop.is_set():
            try:
                self.run_once(deliver=False)
            except Exception:  # noqa: BLE001 - e.g. the database is down; try again later
                self.failures += 1
                log.exception("automation pass failed; retrying in %.0f s", self.poll_seconds)
            self._stop.wait(0 if self.behind else self.poll_seconds)
        steps.join(DELIVERY_SECONDS * 2)

    def _after_passes(self) -> None:
        while not self._stop.is_set():
            self.after_pass()
            self._stop.wait(min(self.poll_seconds, DELIVERY_SECONDS))

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
