"""Runs lake export passes on a background thread.

Why in the process that reads: the dashboard (or app) holding a lake-backed
client is the one that benefits, and a pass only touches what changed since
the last one, so a pass a minute costs little. Several processes may each run
one: exports commit by compare-and-set (lake/export.py)."""

from __future__ import annotations

import logging
import threading

from .export import LakeExporter

log = logging.getLogger("gantry_gradio")


class LakeExportScheduler:
    def __init__(self, exporter: LakeExporter, interval_seconds: float = 60.0) -> None:
        self.exporter = exporter
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gantry-lake-export", daemon=True)
        self.passes = 0
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        # The first pass waits one interval too: a short-lived process (a
        # script, a test) then never exports, and a long-lived one has
        # delivered its spool's backlog by then.
        while not self._stop.wait(self.interval_seconds):
            try:
                for report in self.exporter.export():
                    if report.failed:
                        self.errors += len(report.failed)
                self.passes += 1
            except Exception as exc:  # noqa: BLE001 - next pass retries; reads fall back to SQL
                self.errors += 1
                log.warning("lake export pass failed: %s: %s", type(exc).__name__, exc)
