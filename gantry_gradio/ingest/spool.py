"""The write-ahead spool: the only I/O on the caller's thread.

Why: a log call must return in microseconds and survive the process being
killed right after. A JSON line copied into the segment file's shared memory
mapping is in the kernel's page cache before `log_record` returns, so SIGKILL
loses nothing; the delivery worker reads segments from their committed offset
and moves the offset on only after the stores accepted the entries. Each
process writes its own segment and holds an `flock` on it; a segment whose lock
can be taken belongs to a dead process and is adopted and delivered by the next
one to start.

Why a mapping, and a segment per appending thread: a system call releases
the GIL, and a thread preempted while it holds a lock others need makes them
all queue on it; with 8 threads logging into one segment by `os.write`,
appending cost ~25 µs a record instead of ~1. A copy into the mapping is a
memcpy under the GIL, and each thread appends to its own segment (up to
MAX_STRIPES segments; more threads share them), so threads do not wait for
each other. Order holds within a thread; across threads there was none to
keep (the writer joins feedback and predictions in either order). The file
grows ahead of the copy by reserving its blocks (`posix_fallocate`, from
FIRST_RESERVE doubling up to MAX_RESERVE bytes at a time) and only then
mapping them, so a full disk or a file size limit is an error at the
reservation (nothing written), never a SIGBUS on a page the disk cannot hold.
Bytes past the written end are zeros; a JSON line never holds a zero byte, so
the first one marks the end of a dead process's data."""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import logging
import mimetypes
import mmap
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..blobs.keys import STAGED_NAME, blob_key

SEGMENT_SUFFIX = ".log"
OFFSET_SUFFIX = ".offset"
_OFFSET_WIDTH = 20
_READ_CHUNK = 4 * 2**20
#: Bytes a segment's file grows by at a time: the first step, and the largest.
FIRST_RESERVE = 16 * 2**10
MAX_RESERVE = 2**20
#: Active segments at most: the threads beyond this share them.
MAX_STRIPES = 16

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
    mapping: mmap.mmap | None = None  # the active segment's file, all of it reserved

    def size(self) -> int:
        """Where its data ends: the mapped file is longer, with zeros past it."""
        return self.written if self.active else os.fstat(self.fd).st_size

    def reserve(self, end: int) -> None:
        """Make the file and its mapping at least `end` bytes long, its blocks
        allocated: raises OSError (and changes nothing) if the disk cannot."""
        reserved = len(self.mapping)
        grown = max(end, reserved + min(reserved, MAX_RESERVE))
        os.posix_fallocate(self.fd, reserved, grown - reserved)
        self.mapping.resize(grown)


@dataclass
class _Stripe:
    """The active segment some threads append to, and the lock they share."""

    segment: _Segment | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Batch:
    """Entries read from one or more segments, delivered and committed
    together (in one transaction, whichever thread logged them)."""

    lines: list[bytes] = field(default_factory=list)
    #: partial last lines left by killed processes
    torn_tails: list[bytes] = field(default_factory=list)
    #: (segment, offset its entries here end at)
    ends: list[tuple[_Segment, int]] = field(default_factory=list)


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
        self._lock = threading.Lock()  # the segment list and the pending count
        self._pending = 0
        self.pending_changed = threading.Condition()
        self._appended = threading.Event()
        self._segments: list[_Segment] = self._adopt_orphans()
        self._stripes: dict[int, _Stripe] = {}
        self._stripe_numbers = itertools.count()
        self._thread = threading.local()
        self._read_turn = 0

    # -- caller side ---------------------------------------------------------------

    def append(self, data: bytes, entries: int, *, wake: bool = False) -> None:
        """Append whole lines with one copy into the thread's segment, after
        reserving the disk blocks they need: a full disk refuses the whole
        append, never leaving half an entry for the worker to trip on.
        `wake`: the worker starts on them now rather than at its next poll
        (bulk calls, whose thousands of records dwarf the cost of the signal)."""
        stripe = self._stripe()
        with stripe.lock:
            segment = stripe.segment
            try:
                full = segment is not None and segment.written >= self.segment_bytes
                if segment is None or segment.mapping is None or full:
                    segment = self._start_segment(stripe)
                end = segment.written + len(data)
                if end > len(segment.mapping):
                    segment.reserve(end)
            except OSError as exc:
                raise SpoolError(
                    f"cannot append to the spool in {self.directory}: {exc}; "
                    "free disk space or fix the folder's permissions"
                ) from exc
            with self._lock:  # counted before the worker can see the lines
                self._pending += entries
            segment.mapping[segment.written : end] = data
            segment.written = end
        if wake:
            self._appended.set()

    def _stripe(self) -> _Stripe:
        """The calling thread's stripe, given round-robin at its first append."""
        stripe = getattr(self._thread, "stripe", None)
        if stripe is None:
            number = next(self._stripe_numbers) % MAX_STRIPES
            with self._lock:
                stripe = self._stripes.setdefault(number, _Stripe())
            self._thread.stripe = stripe
        return stripe

    def _start_segment(self, stripe: _Stripe) -> _Segment:
        """Seal the stripe's segment at its written end (under the stripe's
        lock) and start a new one."""
        new = self._new_segment()
        if stripe.segment is not None:
            self._seal(stripe.segment)
        stripe.segment = new
        with self._lock:
            self._segments.append(new)
        return new

    @staticmethod
    def _seal(segment: _Segment) -> None:
        """Cut the zeros past the data, so the file's size is its data's end."""
        if segment.mapping is not None:
            segment.mapping.close()
            segment.mapping = None
            os.ftruncate(segment.fd, segment.written)
        segment.active = False

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
        """Up to `max_entries` undelivered entries (and about _READ_CHUNK
        bytes), taking the segments in turn so that a busy thread's segment
        starves no other."""
        with self._lock:
            segments = list(self._segments)
        batch, read, first = Batch(), 0, self._read_turn
        for turn in range(len(segments)):
            index = (first + turn) % len(segments)
            segment = segments[index]
            sealed = not segment.active  # before its size: then that size is final
            size = segment.size()
            if segment.offset < size:
                self._read_turn = index + 1
                read += self._read(segment, size, max_entries - len(batch.lines), batch)
                if len(batch.lines) >= max_entries or read >= _READ_CHUNK:
                    break
            elif sealed:
                self._retire(segment)
        return batch if batch.ends else None

    def _read(self, segment: _Segment, size: int, max_entries: int, batch: Batch) -> int:
        """Add the segment's next entries to the batch; return the bytes read."""
        chunk_size = _READ_CHUNK
        while True:
            data = os.pread(segment.fd, min(chunk_size, size - segment.offset), segment.offset)
            last_newline = data.rfind(b"\n")
            if last_newline >= 0:
                break
            if segment.offset + len(data) >= size:
                # No newline up to the end: only a killed writer leaves this.
                if not segment.active:
                    batch.torn_tails.append(data)
                    batch.ends.append((segment, size))
                return len(data)
            chunk_size *= 2
        # maxsplit: a 4 MB read of small lines is not split to the end for 1,000
        lines = data[:last_newline].split(b"\n", max_entries)[:max_entries]
        batch.lines.extend(lines)
        batch.ends.append((segment, segment.offset + sum(len(line) + 1 for line in lines)))
        return len(data)

    def commit(self, batch: Batch) -> None:
        """Record that a batch's entries are stored (or dead-lettered)."""
        for segment, end in batch.ends:
            segment.offset = end
            os.pwrite(segment.offset_fd, str(end).zfill(_OFFSET_WIDTH).encode(), 0)
        with self._lock:
            self._pending -= len(batch.lines) + len(batch.torn_tails)
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
            stripes = list(self._stripes.values())
        for stripe in stripes:
            with stripe.lock:  # no append is halfway through a segment it seals
                if stripe.segment is not None:
                    self._seal(stripe.segment)
        for segment in segments:
            self._seal(segment)
            if segment.offset >= segment.size():
                segment.path.unlink(missing_ok=True)
                segment.path.with_suffix(OFFSET_SUFFIX).unlink(missing_ok=True)
            os.close(segment.fd)
            os.close(segment.offset_fd)

    # -- segment files -------------------------------------------------------------

    def _new_segment(self) -> _Segment:
        """A file of FIRST_RESERVE reserved bytes, mapped; it grows as appends need."""
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        path = self.directory / f"{name}{SEGMENT_SUFFIX}"
        fd = _open_locked(path, os.O_RDWR | os.O_CREAT | os.O_EXCL)
        assert fd is not None, "a freshly created segment cannot be locked by anyone else"
        try:
            os.posix_fallocate(fd, 0, FIRST_RESERVE)
            mapping = mmap.mmap(fd, FIRST_RESERVE)
            offset_fd = os.open(path.with_suffix(OFFSET_SUFFIX), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return _Segment(path, fd, offset_fd, 0, active=True, mapping=mapping)

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
        _cut_at_data_end(fd)
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


def _cut_at_data_end(fd: int) -> None:
    """A process killed while it was writing leaves its mapped file at full
    length, zeros past its data: the first zero byte is where the data ends."""
    size = os.fstat(fd).st_size
    position = 0
    while position < size:
        chunk = os.pread(fd, _READ_CHUNK, position)
        zero = chunk.find(0)
        if zero >= 0:
            os.ftruncate(fd, position + zero)
            return
        position += len(chunk)


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
