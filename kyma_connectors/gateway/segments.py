"""The spool's files, as plain functions: segment paths, reading and scanning segments, the ack file.

Kept apart from :mod:`event_gateway.spool` (which owns state, threads and group commit) so each file-format rule
lives in one small place: records are read only below a known-valid limit, recovery keeps only the valid prefix of
a segment, and the ack file is replaced atomically.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Final, NamedTuple

from kyma_connectors.gateway.records import FRAME, Event, RecordError, check_frame, decode_payload, iter_ids

LOG = logging.getLogger(__name__)
READ_CHUNK: Final[int] = 256 * 1024
ACK_SLOT: Final[struct.Struct] = struct.Struct(">QQQI")


class Position(NamedTuple):
    """A place in the spool: segment number and byte offset within it."""

    segment: int
    offset: int


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:012d}.seg"


def segment_numbers(directory: Path) -> list[int]:
    return sorted(int(p.stem) for p in directory.glob("*.seg") if p.stem.isdigit())


def read_records(
    fd: int, segment: int, offset: int, limit: int, max_records: int
) -> tuple[list[tuple[Event, Position]], Position]:
    """Records of one segment (open as ``fd``; ``pread`` only, so the descriptor can be shared) between ``offset``
    and the valid ``limit``, each with the position after it, and where the next read starts. A corrupt record
    (CRC) skips the rest of the segment, loudly."""
    out: list[tuple[Event, Position]] = []
    while offset < limit and len(out) < max_records:
        chunk = os.pread(fd, min(READ_CHUNK, limit - offset), offset)
        if len(chunk) >= FRAME.size and FRAME.size + FRAME.unpack_from(chunk)[0] > len(chunk):
            # one record larger than the chunk: read exactly that record
            chunk = os.pread(fd, FRAME.size + FRAME.unpack_from(chunk)[0], offset)
        cursor = 0
        try:
            while len(out) < max_records and (framed := check_frame(chunk, cursor)) is not None:
                payload, cursor = framed
                out.append((decode_payload(payload), Position(segment, offset + cursor)))
        except RecordError:
            LOG.error("corrupt record in spool segment %d at %d; skipping the rest", segment, offset + cursor)
            return out, Position(segment, limit)
        if cursor == 0:
            break  # nothing complete (cannot happen below a valid limit; defensive)
        offset += cursor
    return out, Position(segment, offset)


def scan_segment(path: Path, *, truncate: bool) -> tuple[list[str], int, int]:
    """Ids of a segment's valid records, its valid size, and how many torn/corrupt tail bytes were cut.

    ``truncate=False`` (retiring an already verified segment) skips the CRC check and changes nothing.
    """
    data = path.read_bytes()
    ids, offset = iter_ids(data, verify=truncate)
    cut = len(data) - offset
    if cut and truncate:
        LOG.warning("spool segment %s: truncating %d bytes of torn or corrupt tail", path.name, cut)
        os.truncate(path, offset)
    return ids, offset, cut if truncate else 0


def count_records(path: Path, start: int) -> int:
    data = path.read_bytes()
    count, offset = 0, start
    while (framed := check_frame(data, offset)) is not None:
        count, offset = count + 1, framed[1]
    return count


class AckFile:
    """The forwarder's position, in two alternating fixed-size slots ``[u64 sequence][u64 segment][u64 offset]
    [u32 CRC-32]`` written in place with ``pwrite``.

    Why not write-and-rename: on ext4 a rename over an existing file forces the new file's data out first
    (``auto_da_alloc``), about a millisecond per ack under load. A slot write is a few microseconds; alternating
    slots means a torn write (CRC mismatch) still leaves the previous position. Not fsynced: after a power loss an
    older position only means re-publishing (at-least-once), never losing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._sequence = 0

    def load(self) -> Position:
        """The newest valid position (``(0, 0)`` for a new spool); opens the file for :meth:`write`."""
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        data = os.pread(self._fd, 2 * ACK_SLOT.size, 0)
        best: tuple[int, Position] = (0, Position(0, 0))
        for start in (0, ACK_SLOT.size):
            if len(data) < start + ACK_SLOT.size:
                continue
            sequence, segment, offset, crc = ACK_SLOT.unpack_from(data, start)
            if crc == zlib.crc32(data[start : start + ACK_SLOT.size - 4]) and sequence > best[0]:
                best = (sequence, Position(segment, offset))
        if data.strip(b"\0") and best[0] == 0:
            # both slots torn (only a power cut can do that): re-publish everything kept rather than guess
            LOG.error("spool ack file unreadable; re-publishing every event still in the spool")
        self._sequence = best[0]
        return best[1]

    def write(self, position: Position) -> None:
        self._sequence += 1
        body = ACK_SLOT.pack(self._sequence, position.segment, position.offset, 0)[:-4]
        os.pwrite(self._fd, body + zlib.crc32(body).to_bytes(4, "big"), (self._sequence % 2) * ACK_SLOT.size)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def fsync_dir(path: Path) -> None:
    """Make a created or renamed directory entry durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
