"""The spool's files, as plain functions: segment paths, reading and scanning segments, the ack file.

Kept apart from :mod:`kyma_connectors.gateway.spool` (which owns state, threads and group commit) so each
file-format rule lives in one small place: records are read only below a known-valid limit, damaged records are
skipped (their bytes kept in ``quarantine/``) while the records after them are still read, anything in
``segments/`` that is not a segment file is moved aside rather than trusted, and the ack file is written in slots.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Final, NamedTuple

from kyma_connectors.gateway.records import FRAME, Event, RecordError, check_frame, decode_payload

LOG = logging.getLogger(__name__)
READ_CHUNK: Final[int] = 256 * 1024
ACK_SLOT: Final[struct.Struct] = struct.Struct(">QQQI")
SEGMENT_NAME: Final[re.Pattern[str]] = re.compile(r"^([0-9]{12,})\.seg$")


class Position(NamedTuple):
    """A place in the spool: segment number and byte offset within it."""

    segment: int
    offset: int


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:012d}.seg"


def list_segments(directory: Path) -> tuple[list[int], list[Path]]:
    """Segment numbers in ``directory`` (regular files named as :func:`segment_path` names them), and every other
    entry (directories, links, foreign names): those are for :func:`quarantine`, never read or written."""
    numbers: list[int] = []
    strays: list[Path] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            match = SEGMENT_NAME.match(entry.name)
            if match and entry.is_file(follow_symlinks=False) and entry.name == f"{int(match[1]):012d}.seg":
                numbers.append(int(match[1]))
            else:
                strays.append(Path(entry.path))
    return sorted(numbers), sorted(strays)


def quarantine(directory: Path, name: str, *, move: Path | None = None, data: bytes = b"") -> Path:
    """Keep ``data`` (or the entry ``move``) as ``quarantine/<name>`` for inspection: durable, never overwritten
    by a different item (a numeric suffix is added), the same damage found again at a restart is written once."""
    directory.mkdir(exist_ok=True)
    target = directory / name
    if move is None and target.is_file() and target.read_bytes() == data:
        return target
    number = 1
    while target.exists() or target.is_symlink():
        target, number = directory / f"{name}.{number}", number + 1
    if move is not None:
        os.rename(move, target)
    else:
        with open(target, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    fsync_dir(directory)
    return target


class Damaged(RecordError):
    """Bytes at ``offset`` that are not a valid record although the segment goes on (found while reading)."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        super().__init__(f"damaged record at offset {offset}")


def read_records(
    fd: int, segment: int, offset: int, limit: int, max_records: int, skips: Mapping[int, int]
) -> tuple[list[tuple[Event, Position]], Position, Damaged | None]:
    """Records of one segment (open as ``fd``; ``pread`` only, so the descriptor can be shared) between ``offset``
    and the valid ``limit``, each with the position after it, and where the next read starts.

    ``skips`` maps the start of each known damaged range to its end: those are stepped over. Damage not known yet
    ends the read with a :class:`Damaged` (third item) at its offset; the caller resynchronises and records it."""
    out: list[tuple[Event, Position]] = []
    while offset < limit and len(out) < max_records:
        if offset in skips:
            offset = skips[offset]
            continue
        chunk = os.pread(fd, min(READ_CHUNK, limit - offset), offset)
        if len(chunk) >= FRAME.size and FRAME.size + FRAME.unpack_from(chunk)[0] > len(chunk):
            # one record larger than the chunk: read exactly that record (never beyond the valid limit)
            chunk = os.pread(fd, min(FRAME.size + FRAME.unpack_from(chunk)[0], limit - offset), offset)
        cursor = 0
        try:
            while len(out) < max_records and offset + cursor not in skips:
                framed = check_frame(chunk, cursor)
                if framed is None:
                    break
                payload, cursor = framed
                out.append((decode_payload(payload), Position(segment, offset + cursor)))
        except RecordError:
            return out, Position(segment, offset + cursor), Damaged(offset + cursor)
        if cursor == 0 and offset not in skips:  # not even one complete record below a valid limit: damage
            return out, Position(segment, offset), Damaged(offset)
        offset += cursor
    return out, Position(segment, offset), None


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
