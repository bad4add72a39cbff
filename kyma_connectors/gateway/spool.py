"""The durable spool: append-only segment files, group-committed, drained in order by the forwarder.

Why group commit: one ``fdatasync`` per delivery would cap the gateway at the disk's sync rate. Instead every request
that arrives while a sync is running joins the next batch; each request still gets its 2xx only after *its* bytes are
synced, so durability is per delivery while the cost is per batch.

Files under ``GATEWAY_SPOOL_DIR``: ``segments/<n>.seg`` (framed records, see ``records``), ``ack`` (the forwarder's
position: every record before it is published or dead-lettered), ``dedup.log`` (ids of deleted segments) and
``dead-letter/``; the file-format helpers are in :mod:`event_gateway.segments`. File I/O runs on three threads, never
on the event loop except two cheap ones (``pwrite`` of the ack slot, ``pread`` of a few KB just written): the writer
(appends, in order), the reader (larger reads) and housekeeping (segment deletion, readiness probes), so a commit
never waits behind a deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from kyma_connectors.gateway.dedup import DedupLog, DedupWindow
from kyma_connectors.gateway.errors import ShuttingDownError, SpoolError, SpoolFullError
from kyma_connectors.gateway.records import Event, encode
from kyma_connectors.gateway.segments import (
    AckFile,
    Position,
    count_records,
    fsync_dir,
    read_records,
    scan_segment,
    segment_numbers,
    segment_path,
)

LOG = logging.getLogger(__name__)
FULL_ERRNOS: Final[frozenset[int]] = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
INLINE_READ_BYTES: Final[int] = 64 * 1024
"""Reads up to this size run on the event loop (page-cache hits); larger ones on the reader thread."""
PROBE_INTERVAL: Final[float] = 5.0
PROBE_HEADROOM: Final[int] = 1024 * 1024
"""Free space (and quota room) a probe wants before the spool counts as writable again."""


class Appended(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, kw_only=True)
class Recovery:
    """What startup found on disk (logged, and asserted on in tests)."""

    segments: int
    backlog: int
    truncated_bytes: int
    known_ids: int


class Spool:
    """Append (with dedup) for the HTTP side, read and acknowledge for the forwarder."""

    def __init__(self, directory: Path, *, segment_bytes: int, max_bytes: int, dedup_window: int) -> None:
        self.directory = directory
        self.segments_dir = directory / "segments"
        self.dead_letter_dir = directory / "dead-letter"
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.window = DedupWindow(dedup_window)
        self.dedup_log = DedupLog(directory / "dedup.log", dedup_window)
        self.backlog = 0
        """Records committed and not yet acknowledged by the forwarder."""
        self.healthy = True
        """False after a failed write until the next successful one (``/readyz``)."""
        self.full = False
        self._failed_at = 0.0
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="spool-writer")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="spool-reader")
        self._housekeeper = ThreadPoolExecutor(1, thread_name_prefix="spool-housekeeping")
        self._lock = threading.Lock()
        """Guards ``_total_bytes`` and ``_segment_sizes``, shared by the writer and housekeeping threads."""
        self._fd = -1
        self._segment = 0
        self._size = 0
        self._total_bytes = 0
        self._segment_sizes: dict[int, int] = {}
        self._ack = Position(0, 0)
        self._ack_file = AckFile(directory / "ack")
        self._reading: tuple[int, int] | None = None
        """(segment, descriptor) the forwarder reads; only the forwarder's reads (one at a time) touch it."""
        self._batch: list[bytes] = []
        self._batch_ids: list[str] = []
        self._batch_futures: list[asyncio.Future[None]] = []
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._committer: asyncio.Task[None] | None = None
        self._committed = asyncio.Event()
        self._closing = False
        self.committed = Position(0, 0)

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def open(self) -> Recovery:
        """Recover the spool (synchronously, before serving): truncate torn tails, load the ack, rebuild dedup."""
        self.segments_dir.mkdir(parents=True, exist_ok=True)
        self.dead_letter_dir.mkdir(parents=True, exist_ok=True)
        self.window.extend(self.dedup_log.load())
        self._ack = self._ack_file.load()
        numbers = segment_numbers(self.segments_dir)
        truncated = 0
        for number in numbers:
            if number < self._ack.segment:  # published before the restart, deletion was cut short
                self.window.extend(self._retire(number))
                continue
            ids, size, cut = scan_segment(self._path(number), truncate=True)
            truncated += cut
            self._segment_sizes[number] = size
            self._total_bytes += size
            self.window.extend(ids)
            start = self._ack.offset if number == self._ack.segment else 0
            self.backlog += len(ids) if start == 0 else count_records(self._path(number), start)
        live = [n for n in numbers if n >= self._ack.segment]
        self._segment = live[-1] if live else max(self._ack.segment, 1)
        if not live:
            self._ack = Position(self._segment, 0)
            self._ack_file.write(self._ack)
        self._open_segment(self._segment)
        self.committed = Position(self._segment, self._size)
        return Recovery(segments=len(live), backlog=self.backlog, truncated_bytes=truncated, known_ids=len(self.window))

    async def close(self) -> None:
        """Refuse new appends, let the running commit finish, release files."""
        self._closing = True
        if self._committer is not None:
            await asyncio.shield(self._committer)
        self._writer.submit(self._close_fd).result()
        self._ack_file.close()
        if self._reading is not None:
            os.close(self._reading[1])
            self._reading = None
        for executor in (self._writer, self._reader, self._housekeeper):
            executor.shutdown(wait=True)

    # --- append side (HTTP requests) ---------------------------------------------------------------------------
    async def append(self, event: Event) -> Appended:
        """Durably store ``event`` unless its id was seen; returns after the fsync that covers it.

        A concurrent delivery of an id still being written waits for that write's outcome instead of being
        acknowledged early (an early 2xx for a write that then fails would lose it).
        """
        if self._closing:
            raise ShuttingDownError("the gateway is shutting down")
        running = self._pending.get(event.id)
        if running is not None:
            await asyncio.shield(running)
            return Appended.DUPLICATE
        if event.id in self.window:
            return Appended.DUPLICATE
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[event.id] = future
        self._batch.append(encode(event))
        self._batch_ids.append(event.id)
        self._batch_futures.append(future)
        if self._committer is None:
            self._committer = asyncio.ensure_future(self._commit_loop())
        try:
            await asyncio.shield(future)
        finally:
            self._pending.pop(event.id, None)
        return Appended.ACCEPTED

    async def _commit_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._batch:
                records, ids, futures = self._batch, self._batch_ids, self._batch_futures
                self._batch, self._batch_ids, self._batch_futures = [], [], []
                try:
                    position = await loop.run_in_executor(self._writer, self._write, records)
                except SpoolError as exc:
                    self.healthy = False
                    self.full = isinstance(exc, SpoolFullError)
                    self._failed_at = time.monotonic()
                    for future in futures:
                        future.set_exception(type(exc)(str(exc)))
                        future.exception()  # retrieved here: waiters that went away must not warn
                    continue
                self.healthy, self.full = True, False
                self.window.extend(ids)
                self.backlog += len(ids)
                self.committed = position
                self._committed.set()
                for future in futures:
                    future.set_result(None)
        finally:
            self._committer = None

    def _write(self, records: list[bytes]) -> Position:
        """Writer thread: append one batch and fdatasync it; undo a partial write on failure."""
        blob = b"".join(records)
        if self._unpublished_bytes() + len(blob) > self.max_bytes:
            raise SpoolFullError("spool quota reached (GATEWAY_SPOOL_MAX_BYTES)")
        if self._fd < 0 or (self._size > 0 and self._size + len(blob) > self.segment_bytes):
            self._rotate()
        start = self._size
        try:
            view = memoryview(blob)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fdatasync(self._fd)
        except OSError as exc:
            self._undo(start)
            if exc.errno in FULL_ERRNOS:
                raise SpoolFullError(f"spool disk full ({errno.errorcode.get(exc.errno or 0, exc.errno)})") from exc
            raise SpoolError(f"spool write failed ({errno.errorcode.get(exc.errno or 0, exc.errno)})") from exc
        self._size += len(blob)
        with self._lock:
            self._total_bytes += len(blob)
            self._segment_sizes[self._segment] = self._size
        return Position(self._segment, self._size)

    def _unpublished_bytes(self) -> int:
        """Bytes not yet acknowledged: what the quota limits (published bytes go when their segment is retired)."""
        ack = self._ack
        with self._lock:
            retained = sum(size for number, size in self._segment_sizes.items() if number < ack.segment)
            return self._total_bytes - retained - ack.offset

    async def recheck(self) -> None:
        """After a failed write, probe (at most every ``PROBE_INTERVAL`` s) whether the spool can take writes again.

        Without this a pod made unready by a full disk would never get the traffic whose success makes it ready.
        """
        if (self.healthy and not self.full) or time.monotonic() - self._failed_at < PROBE_INTERVAL:
            return
        self._failed_at = time.monotonic()
        if await asyncio.get_running_loop().run_in_executor(self._housekeeper, self._probe):
            self.healthy, self.full = True, False

    def _probe(self) -> bool:
        if self._unpublished_bytes() + min(PROBE_HEADROOM, self.max_bytes // 10) > self.max_bytes:
            return False
        try:
            stats = os.statvfs(self.directory)
            if stats.f_bavail * stats.f_frsize < PROBE_HEADROOM:
                return False
            probe = self.directory / "probe"
            with open(probe, "wb") as handle:
                handle.write(b"\0" * 4096)
                handle.flush()
                os.fsync(handle.fileno())
            probe.unlink()
        except OSError:
            return False
        return True

    def _undo(self, start: int) -> None:
        try:
            os.ftruncate(self._fd, start)
        except OSError:
            LOG.exception("cannot truncate a failed spool write; starting a new segment")
            self._close_fd()  # recovery truncates the garbage; new writes go to a fresh segment

    def _rotate(self) -> None:
        """Start the next segment; also after a failed write left the current one closed (and perhaps dirty)."""
        self._close_fd()
        self._segment += 1
        self._open_segment(self._segment)

    def _open_segment(self, number: int) -> None:
        self._fd = os.open(self._path(number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        with self._lock:
            self._segment_sizes.setdefault(number, self._size)
        fsync_dir(self.segments_dir)

    def _close_fd(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # --- read side (forwarder) ---------------------------------------------------------------------------------
    @property
    def ack_position(self) -> Position:
        return self._ack

    async def wait_committed(self, seen: Position, timeout: float) -> None:
        """Return once something was committed past ``seen`` (or after ``timeout``)."""
        if self.committed > seen:
            return
        self._committed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._committed.wait(), timeout)

    async def read(self, position: Position, max_records: int) -> tuple[list[tuple[Event, Position]], Position]:
        """Committed records from ``position`` on, each with the position after it (its ack position), and where
        the next read starts.

        A forwarder that keeps up reads a few KB just written (page cache): that is cheaper on the event loop than
        a round trip to the reader thread, which is kept for larger reads.
        """
        committed = self.committed
        if position.segment == committed.segment and 0 <= committed.offset - position.offset <= INLINE_READ_BYTES:
            return self._read(position, committed, max_records)
        return await asyncio.get_running_loop().run_in_executor(
            self._reader, self._read, position, committed, max_records
        )

    def _read(
        self, position: Position, committed: Position, max_records: int
    ) -> tuple[list[tuple[Event, Position]], Position]:
        segment, offset = position
        while segment < committed.segment and offset >= self._segment_sizes.get(segment, 0):
            segment, offset = segment + 1, 0  # finished (or vanished) segment: continue in the next one
        limit = committed.offset if segment == committed.segment else self._segment_sizes.get(segment, 0)
        if offset >= limit:
            return [], Position(segment, offset)
        return read_records(self._read_fd(segment), segment, offset, limit, max_records)

    def _read_fd(self, segment: int) -> int:
        """A read-only descriptor of ``segment``, kept while the forwarder reads it (an open per read is ~0.1 ms)."""
        cached = self._reading
        if cached is not None and cached[0] == segment:
            return cached[1]
        fd = os.open(self._path(segment), os.O_RDONLY)
        self._reading = (segment, fd)
        if cached is not None:
            os.close(cached[1])
        return fd

    async def acknowledge(self, position: Position) -> None:
        """Persist the forwarder's position and retire segments entirely before it."""
        if position <= self._ack:
            return
        self._ack = position
        with self._lock:
            retiring = any(number < position.segment for number in self._segment_sizes)
        self._ack_file.write(position)  # a few microseconds: inline, not worth a thread round trip
        if retiring:
            await asyncio.get_running_loop().run_in_executor(self._housekeeper, self._retire_before, position)

    def _retire_before(self, position: Position) -> None:
        """Housekeeping thread (never the writer's, so commits do not wait behind segment deletion)."""
        with self._lock:
            finished = sorted(number for number in self._segment_sizes if number < position.segment)
        for number in finished:
            self._retire(number)

    def _retire(self, number: int) -> list[str]:
        """Delete a finished segment after persisting its ids to the dedup log (so dedup outlives the segment)."""
        ids, _size, _cut = scan_segment(self._path(number), truncate=False)
        self.dedup_log.append(ids)
        with self._lock:
            self._total_bytes -= self._segment_sizes.pop(number, 0)
        with contextlib.suppress(FileNotFoundError):
            self._path(number).unlink()
        return ids

    def _path(self, number: int) -> Path:
        return segment_path(self.segments_dir, number)
