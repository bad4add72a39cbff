"""The spool's files, as plain functions: segment paths, reading and scanning segments, the ack file.

Kept apart from :mod:`event_gateway.spool` (which owns state, threads and group commit) so each file-format rule
lives in one small place: records are read only below a known-valid limit, recovery keeps only the valid prefix of
a segment, and the ack file is replaced atomically.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Final, NamedTuple

from event_gateway.errors import SpoolError
from event_gateway.records import FRAME, Event, RecordError, check_frame, decode_payload, iter_ids

LOG = logging.getLogger(__name__)
READ_CHUNK: Final[int] = 256 * 1024


class Position(NamedTuple):
    """A place in the spool: segment number and byte offset within it."""

    segment: int
    offset: int


def segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:012d}.seg"


def segment_numbers(directory: Path) -> list[int]:
    return sorted(int(p.stem) for p in directory.glob("*.seg") if p.stem.isdigit())


def read_records(
    path: Path, segment: int, offset: int, limit: int, max_records: int
) -> tuple[list[tuple[Event, Position]], Position]:
    """Records of one segment between ``offset`` and the valid ``limit``, each with the position after it, and
    where the next read starts. A corrupt record (CRC) skips the rest of the segment, loudly."""
    out: list[tuple[Event, Position]] = []
    with open(path, "rb") as handle:
        while offset < limit and len(out) < max_records:
            chunk = os.pread(handle.fileno(), min(READ_CHUNK, limit - offset), offset)
            if len(chunk) >= FRAME.size and FRAME.size + FRAME.unpack_from(chunk)[0] > len(chunk):
                # one record larger than the chunk: read exactly that record
                chunk = os.pread(handle.fileno(), FRAME.size + FRAME.unpack_from(chunk)[0], offset)
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


def load_ack(path: Path) -> Position:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Position(int(raw["segment"]), int(raw["offset"]))
    except FileNotFoundError:
        return Position(0, 0)
    except (ValueError, KeyError, TypeError) as exc:
        raise SpoolError("spool ack file is unreadable; refusing to guess what was published") from exc


def write_ack(path: Path, position: Position) -> None:
    """Atomic replace; not fsynced: after a power loss an older ack only means re-publishing (at-least-once)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"segment": position.segment, "offset": position.offset}), encoding="utf-8")
    os.replace(tmp, path)


def fsync_dir(path: Path) -> None:
    """Make a created or renamed directory entry durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
