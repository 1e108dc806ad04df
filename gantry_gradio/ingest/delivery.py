"""The background worker that moves spool entries into the stores.

Order per batch: blobs first, then records, then the spool offset. A crash at
any point re-delivers the batch, which is harmless because every write is
idempotent. An outage (database or S3 down) stops the worker on the batch it
has, retrying with backoff, so nothing is skipped and nothing is lost; an entry
the store refuses for good is written to `rejected.jsonl` with the reason and
counted, never silently dropped."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy.exc as sa_exc

from .._timestamps import now_us
from ..blobs import BlobStore, BlobStoreError
from .bulk_entry import BulkEntry, check_bulk, expand, expand_checked, is_bulk
from .record_groups import group_plain
from .spool import Batch, Spool
from .spool_entry import BadEntry, check_entry
from .writer import RecordWriter

log = logging.getLogger("gantry_gradio")

try:  # boto3 is the optional [s3] extra; without it no S3 store exists to fail
    from botocore.exceptions import BotoCoreError, ClientError

    _S3_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
except ImportError:
    _S3_ERRORS = ()

#: Errors that say "not now" rather than "never": retry the same batch later.
#: A database error is judged by its code first (see `is_transient`).
TRANSIENT_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    BlobStoreError,
    *_S3_ERRORS,
    ConnectionError,
    TimeoutError,
)
#: SQLSTATE classes that say the data itself is refused (22 data exception, 23
#: integrity, 54 program limit: "row is too big", "index row size exceeds"):
#: retrying cannot help, so the entry is dead-lettered, not retried forever.
PERMANENT_SQLSTATE_CLASSES = ("22", "23", "54")
#: SQLite's equivalents: TOOBIG, CONSTRAINT, MISMATCH, RANGE.
PERMANENT_SQLITE_CODES = (18, 19, 20, 25)
MAX_BACKOFF_SECONDS = 10.0
IDLE_POLL_SECONDS = 0.05
_REPEAT_ERROR_LOG_SECONDS = 60.0


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same batch later can succeed. OperationalError is
    both "the server is down" and "this row is too big": the code decides."""
    original = getattr(exc, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str) and sqlstate[:2] in PERMANENT_SQLSTATE_CLASSES:
        return False
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int) and sqlite_code & 0xFF in PERMANENT_SQLITE_CODES:
        return False
    return isinstance(exc, TRANSIENT_ERRORS)


@dataclass
class DeliveryStats:
    delivered: int = 0
    duplicates: int = 0
    rejected: int = 0
    last_error: str | None = None
    failing_since: float | None = None


class DeliveryWorker(threading.Thread):
    def __init__(
        self, spool: Spool, writer: RecordWriter, blobs: BlobStore, *, batch_size: int = 1000
    ) -> None:
        super().__init__(name="gantry-delivery", daemon=True)
        self.spool = spool
        self.writer = writer
        self.blobs = blobs
        self.batch_size = batch_size
        self.stats = DeliveryStats()
        self.rejected_path = spool.directory / "rejected.jsonl"
        self._stop_requested = threading.Event()
        self._last_error_logged = 0.0

    def stop(self, timeout: float | None = None) -> None:
        self._stop_requested.set()
        self.spool.wake()
        self.join(timeout)

    def run(self) -> None:
        backoff = 0.2
        while not self._stop_requested.is_set():
            batch = self.spool.read_batch(self.batch_size)
            if batch is None:
                # Polling keeps log_record's append free of any wake-up
                # signalling; a bulk append (log_records) wakes the worker.
                self.spool.wait_for_append(IDLE_POLL_SECONDS)
                continue
            try:
                self._deliver(batch)
            except Exception as exc:
                if is_transient(exc):
                    self._note_failure(exc)
                    self._stop_requested.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                else:  # a bug of ours must not kill delivery for good
                    self._note_failure(exc, unexpected=True)
                    self._stop_requested.wait(MAX_BACKOFF_SECONDS)
                continue
            if self.stats.failing_since is not None:
                log.warning(
                    "gantry_gradio: delivery recovered after %.1f s",
                    time.monotonic() - self.stats.failing_since,
                )
                self.stats.failing_since = None
            backoff = 0.2

    def _deliver(self, batch: Batch) -> None:
        lines, entries = _parsed(batch.lines)
        for line in set(batch.lines).difference(lines):
            self._reject(line.decode("utf-8", "replace"), "spool line is not valid JSON")
        items: list[dict[str, Any] | BulkEntry] = []
        for item in group_plain(entries):
            if isinstance(item, BulkEntry):
                items.append(item)
                continue
            try:
                items.extend(self._checked(entries[item]))
            except BadEntry as exc:
                self._reject(lines[item].decode("utf-8", "replace"), str(exc))
        for torn_tail in batch.torn_tails:
            self._reject(
                torn_tail.decode("utf-8", "replace"),
                "partial entry left by a process killed mid-write (its log call never returned)",
            )
        items = self._upload_blobs(items)
        for run in _runs(items):
            if isinstance(run[0], BulkEntry):
                self._write_bulk(run)
            else:
                self._write(run)
        self.spool.commit(batch)
        for item in items:
            for _key, staged, _type in _blobs(item):
                self.spool.staged_path(staged).unlink(missing_ok=True)

    def _checked(self, entry: Any) -> list[dict[str, Any] | BulkEntry]:
        """A bulk entry whose records are all plain stays one item; otherwise
        its records go one by one, and only those that fail their check are
        rejected."""
        if not is_bulk(entry):
            return [check_entry(entry)]
        bulk = check_bulk(entry)
        if bulk.fast:
            return [bulk]
        kept, refused = expand_checked(bulk)
        for record, reason in refused:
            self._reject(record, reason)
        return kept

    def _upload_blobs(self, entries: list) -> list:
        kept = []
        for entry in entries:
            try:
                for key, staged, content_type in _blobs(entry):
                    self.blobs.put_file(key, self.spool.staged_path(staged), content_type)
            except FileNotFoundError as exc:
                self._reject(entry, f"staged blob is missing and not in the blob store: {exc}")
                continue
            kept.append(entry)
        return kept

    def _write(self, entries: list[dict]) -> None:
        """Write all; if the store refuses the batch for good, split it to find and
        reject only the entries it refuses."""
        if not entries:
            return
        try:
            result = self.writer.write(entries)
        except Exception as exc:
            if is_transient(exc):
                raise
            if len(entries) == 1:
                self._reject(entries[0], f"{type(exc).__name__}: {exc}")
                return
            middle = len(entries) // 2
            self._write(entries[:middle])
            self._write(entries[middle:])
            return
        self.stats.delivered += len(entries)
        self.stats.duplicates += result.duplicates

    def _write_bulk(self, entries: list[BulkEntry]) -> None:
        """If the store refuses the bulk insert for good, the records go one
        by one, so only those it refuses are rejected."""
        try:
            result = self.writer.write_bulk(entries)
        except Exception as exc:
            if is_transient(exc):
                raise
            self._write([record for entry in entries for record in expand(entry)])
            return
        self.stats.delivered += sum(entry.count for entry in entries)
        self.stats.duplicates += result.duplicates

    def _reject(self, entry: Any, reason: str) -> None:
        self.stats.rejected += 1
        log.error("gantry_gradio: rejected a record (%s); kept in %s", reason, self.rejected_path)
        line = json.dumps(
            {"rejected_at_us": now_us(), "reason": reason, "entry": entry}, default=str
        )
        with open(self.rejected_path, "a", encoding="utf-8") as out:
            out.write(line + "\n")

    def _note_failure(self, exc: BaseException, *, unexpected: bool = False) -> None:
        """Log loudly, but once a minute, not once per retry."""
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        now = time.monotonic()
        if self.stats.failing_since is None:
            self.stats.failing_since = now
        if now - self._last_error_logged >= _REPEAT_ERROR_LOG_SECONDS:
            self._last_error_logged = now
            log.error(
                "gantry_gradio: cannot deliver records yet (%s); they are kept in %s and retried",
                self.stats.last_error,
                self.spool.directory,
                exc_info=exc if unexpected else None,
            )


def _parsed(lines: list[bytes]) -> tuple[list[bytes], list[Any]]:
    """The lines that are JSON, and their values. All at once as one array
    when every line parses (the usual case: 40% less than a call per line);
    a damaged line fails that, or shows as a count that differs. orjson reads
    what the caller's orjson (or an older json.dumps) wrote; a line it refuses
    is read again alone by json, which accepts a little more."""
    try:
        entries = orjson.loads(b"[" + b",".join(lines) + b"]")
        if len(entries) == len(lines):
            return lines, entries
    except (ValueError, RecursionError):
        pass
    kept, entries = [], []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except (ValueError, RecursionError):
            continue
        kept.append(line)
    return kept, entries


def _blobs(item: dict[str, Any] | BulkEntry) -> list:
    """A bulk entry never carries blobs (values that need one go per record)."""
    return [] if isinstance(item, BulkEntry) else item.get("blobs", [])


def _runs(items: list) -> list[list]:
    """Consecutive items written together: per-record entries, or bulk entries
    of one application. Order is kept, so the first of two records logged with
    one join key is the one stored, as on the per-record path."""
    runs: list[list] = []
    for item in items:
        previous = runs[-1][-1] if runs else None
        same = (
            previous is not None
            and isinstance(item, BulkEntry) == isinstance(previous, BulkEntry)
            and (not isinstance(item, BulkEntry) or item.application == previous.application)
        )
        if same:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs
