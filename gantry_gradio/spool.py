"""The write-ahead spool: the only I/O on the caller's thread.

Why: a log call must return in microseconds and survive the process being
killed right after. One `os.write` of a JSON line to an append-only segment file
reaches the kernel before `log_record` returns, so SIGKILL loses nothing; the
delivery worker reads segments from their committed offset and moves the offset
on only after the stores accepted the entries. Each process writes its own
segment and holds an `flock` on it; a segment whose lock can be taken belongs to
a dead process and is adopted and delivered by the next one to start."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mimetypes
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .spool_entry import STAGED_NAME, blob_key

SEGMENT_SUFFIX = ".log"
OFFSET_SUFFIX = ".offset"
_OFFSET_WIDTH = 20
_READ_CHUNK = 4 * 2**20

log = logging.getLogger("gantry_gradio")


class SpoolError(OSError):
    """The spool folder cannot be written: monitoring cannot promise delivery."""


@dataclass
class _Segment:
    path: Path
    fd: int
    offset_fd: int
    offset: int
    active: bool
    written: int = 0  # bytes appended by this process (only the active segment needs it)

    def size(self) -> int:
        return os.fstat(self.fd).st_size


@dataclass
class Batch:
    """Entries read from one segment, delivered and committed together."""

    segment: _Segment
    end_offset: int
    lines: list[bytes] = field(default_factory=list)
    torn_tail: bytes | None = None  # a partial last line left by a killed process


def _open_locked(path: Path, flags: int) -> int | None:
    fd = os.open(path, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class Spool:
    def __init__(self, directory: str | Path, *, segment_bytes: int = 64 * 2**20) -> None:
        self.directory = Path(directory).absolute()
        self.blob_directory = self.directory / "blobs"
        try:
            self.blob_directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise SpoolError(f"cannot create spool folder {self.directory}: {exc}") from exc
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._pending = 0
        self.pending_changed = threading.Condition()
        self._appended = threading.Event()
        self._segments: list[_Segment] = self._adopt_orphans()
        self._segments.append(self._new_segment())

    # -- caller side ---------------------------------------------------------------

    def append(self, data: bytes, entries: int, *, wake: bool = False) -> None:
        """Append whole lines with one write; on a short write undo it, so a full
        disk never leaves half an entry for the worker to trip on. `wake`: the
        worker starts on them now rather than at its next poll (bulk calls,
        whose thousands of records dwarf the cost of the signal)."""
        with self._lock:
            active = self._segments[-1]
            start = active.written
            try:
                written = os.write(active.fd, data)
                if written != len(data):
                    raise OSError(f"short write ({written} of {len(data)} bytes)")
            except OSError as exc:
                os.ftruncate(active.fd, start)
                raise SpoolError(
                    f"cannot append to the spool in {self.directory}: {exc}; "
                    "free disk space or fix the folder's permissions"
                ) from exc
            active.written = start + written
            self._pending += entries
            if active.written >= self.segment_bytes:
                active.active = False
                self._segments.append(self._new_segment())
        if wake:
            self._appended.set()

    def wake(self) -> None:
        """End the worker's wait now (an append, or a stop)."""
        self._appended.set()

    def wait_for_append(self, timeout: float) -> None:
        """The worker's idle wait: until a waking append, or `timeout`."""
        self._appended.wait(timeout)
        self._appended.clear()

    def stage_blob(self, content: bytes | Path, content_type: str) -> tuple[str, str]:
        """Keep a private copy of a blob beside the spool (the caller's file may be
        a temp file deleted right after) and return (key, staged name). The key is
        the content's sha256 plus an extension from the content type, never a
        user's file name."""
        extension = mimetypes.guess_extension(content_type) or ".bin"
        if not STAGED_NAME.fullmatch(f"{'0' * 64}{extension}"):
            extension = ".bin"  # delivery accepts only names of this shape
        partial = self.blob_directory / f".{uuid.uuid4().hex}.partial"
        digest = hashlib.sha256()
        with open(partial, "wb") as out:
            if isinstance(content, Path):
                with open(content, "rb") as source:
                    while chunk := source.read(2**20):
                        digest.update(chunk)
                        out.write(chunk)
            else:
                digest.update(content)
                out.write(content)
        sha = digest.hexdigest()
        staged = f"{sha}{extension}"
        os.replace(partial, self.blob_directory / staged)
        return blob_key(staged), staged

    # -- worker side ---------------------------------------------------------------

    @property
    def pending(self) -> int:
        return self._pending

    def read_batch(self, max_entries: int) -> Batch | None:
        """The next undelivered entries of the oldest segment that has any."""
        with self._lock:
            segments = list(self._segments)
        for segment in segments:
            size = segment.size()
            if segment.offset < size:
                return self._read(segment, size, max_entries)
            if not segment.active:
                self._retire(segment)
        return None

    def _read(self, segment: _Segment, size: int, max_entries: int) -> Batch:
        chunk_size = _READ_CHUNK
        while True:
            data = os.pread(segment.fd, min(chunk_size, size - segment.offset), segment.offset)
            last_newline = data.rfind(b"\n")
            if last_newline >= 0:
                break
            if segment.offset + len(data) >= size:
                # No newline up to the end: only a killed writer leaves this.
                if segment.active:
                    return Batch(segment, segment.offset)
                return Batch(segment, size, torn_tail=data)
            chunk_size *= 2
        # maxsplit: a 4 MB read of small lines is not split to the end for 1,000
        lines = data[:last_newline].split(b"\n", max_entries)[:max_entries]
        end = segment.offset + sum(len(line) + 1 for line in lines)
        return Batch(segment, end, lines)

    def commit(self, batch: Batch) -> None:
        """Record that a batch's entries are stored (or dead-lettered)."""
        segment = batch.segment
        segment.offset = batch.end_offset
        os.pwrite(segment.offset_fd, str(segment.offset).zfill(_OFFSET_WIDTH).encode(), 0)
        with self._lock:
            self._pending -= len(batch.lines) + (batch.torn_tail is not None)
        with self.pending_changed:
            self.pending_changed.notify_all()

    def wait_until_empty(self, timeout: float | None) -> bool:
        with self.pending_changed:
            return self.pending_changed.wait_for(lambda: self._pending <= 0, timeout)

    def staged_path(self, staged: str) -> Path:
        return self.blob_directory / staged

    def close(self) -> None:
        """Remove fully delivered segments; keep the rest for the next start."""
        with self._lock:
            segments, self._segments = self._segments, []
        for segment in segments:
            if segment.offset >= segment.size():
                segment.path.unlink(missing_ok=True)
                segment.path.with_suffix(OFFSET_SUFFIX).unlink(missing_ok=True)
            os.close(segment.fd)
            os.close(segment.offset_fd)

    # -- segment files -------------------------------------------------------------

    def _new_segment(self) -> _Segment:
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        path = self.directory / f"{name}{SEGMENT_SUFFIX}"
        fd = _open_locked(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL)
        assert fd is not None, "a freshly created segment cannot be locked by anyone else"
        offset_fd = os.open(path.with_suffix(OFFSET_SUFFIX), os.O_RDWR | os.O_CREAT, 0o600)
        return _Segment(path, fd, offset_fd, 0, active=True)

    def _adopt_orphans(self) -> list[_Segment]:
        """Segments of dead processes. A damaged one is recovered like a database
        recovers a torn log (warn, resync, deliver what can be read), never
        allowed to stop the app from starting."""
        adopted = []
        for path in sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}"), key=_modified_time):
            try:
                segment = self._adopt(path)
            except OSError as exc:
                log.warning("gantry_gradio: cannot read spool segment %s (%s); skipped", path, exc)
                continue
            if segment is not None:
                adopted.append(segment)
        return adopted

    def _adopt(self, path: Path) -> _Segment | None:
        fd = _open_locked(path, os.O_RDWR)
        if fd is None:
            return None  # a live process is still writing it
        try:
            offset_fd = os.open(path.with_suffix(OFFSET_SUFFIX), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            os.close(fd)
            raise
        segment = _Segment(path, fd, offset_fd, 0, active=False)
        segment.offset = _committed_offset(segment)
        tail = os.pread(fd, segment.size() - segment.offset, segment.offset)
        self._pending += tail.count(b"\n") + (bool(tail) and not tail.endswith(b"\n"))
        return segment

    def _retire(self, segment: _Segment) -> None:
        """A delivered segment is removed with its offset file."""
        with self._lock:
            self._segments.remove(segment)
        segment.path.unlink(missing_ok=True)
        segment.path.with_suffix(OFFSET_SUFFIX).unlink(missing_ok=True)
        os.close(segment.fd)
        os.close(segment.offset_fd)


def _modified_time(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0  # gone meanwhile (retired by another process): skipped when opened


def _committed_offset(segment: _Segment) -> int:
    """The offset file's value if it is a line boundary inside the segment.
    Otherwise (garbled, past the end, mid-line) delivery resumes at the start
    of the line it points into, or of the segment: re-delivering stored
    entries is harmless, since every write is idempotent."""
    raw = os.pread(segment.offset_fd, _OFFSET_WIDTH, 0)
    size = segment.size()
    try:
        offset = int(raw or b"0")
    except ValueError:
        offset = -1
    if offset in (0, size) or (0 < offset < size and os.pread(segment.fd, 1, offset - 1) == b"\n"):
        return offset
    resumed = os.pread(segment.fd, offset, 0).rfind(b"\n") + 1 if 0 < offset <= size else 0
    log.warning(
        "gantry_gradio: spool offset file of %s is damaged (%r, segment has %d bytes); "
        "resuming delivery at byte %d (stored entries are not stored twice)",
        segment.path,
        raw[:40],
        size,
        resumed,
    )
    return resumed
