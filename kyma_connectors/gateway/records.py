"""The event as the gateway keeps it, and its on-disk framing.

A spool record is ``[u32 length][u32 CRC-32][payload]`` (big-endian), payload ``[u16 id length][id][u32 header
length][header JSON][data]``: the id sits in front so recovery and dedup read it without parsing JSON.
The length+CRC frame is what lets recovery tell a complete record from one torn by SIGKILL or a power cut: a record
is valid only when its full length is present *and* its CRC matches.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

FRAME: Final[struct.Struct] = struct.Struct(">II")
HEADER_LEN: Final[struct.Struct] = struct.Struct(">I")
ID_LEN: Final[struct.Struct] = struct.Struct(">H")
MAX_RECORD_BYTES: Final[int] = (1 << 32) - 1


class RecordError(ValueError):
    """Bytes that are not a valid record (torn, corrupt or from another format)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One CloudEvent to publish (CloudEvents 1.0 attributes; ``data`` is the JSON payload's bytes, unchanged)."""

    id: str
    type: str
    source: str
    time: str
    """RFC 3339, UTC: when the gateway accepted the delivery."""
    data: bytes
    subject: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)
    """Extension attributes (``nativeevent``, ``nativeaction``, ``hookid``, ``traceparent``...), see the docs."""

    def header(self) -> dict[str, Any]:
        head: dict[str, Any] = {"id": self.id, "type": self.type, "source": self.source, "time": self.time}
        if self.subject is not None:
            head["subject"] = self.subject
        if self.extensions:
            head["ext"] = dict(self.extensions)
        return head


def encode(event: Event) -> bytes:
    """The framed record for ``event``."""
    event_id = event.id.encode("utf-8")
    head = event.header()
    del head["id"]
    try:
        head_bytes = orjson.dumps(head)
    except orjson.JSONEncodeError as exc:  # a str that is not Unicode text (an unpaired surrogate)
        raise RecordError(f"event header cannot be stored: {exc}") from exc
    front = b"".join((ID_LEN.pack(len(event_id)), event_id, HEADER_LEN.pack(len(head_bytes)), head_bytes))
    length = len(front) + len(event.data)
    if length > MAX_RECORD_BYTES:
        raise RecordError("event too large for one spool record")
    # the CRC continued over the data, and one join: the data (most of the record) is copied once, not twice
    return b"".join((FRAME.pack(length, zlib.crc32(event.data, zlib.crc32(front))), front, event.data))


def peek_id(payload: bytes | memoryview) -> str:
    """Only the event id of a record payload (recovery and dedup need nothing else)."""
    if len(payload) < ID_LEN.size:
        raise RecordError("record payload shorter than its id length")
    (id_len,) = ID_LEN.unpack_from(payload)
    if ID_LEN.size + id_len > len(payload):
        raise RecordError("record id overruns the payload")
    return bytes(payload[ID_LEN.size : ID_LEN.size + id_len]).decode("utf-8", "replace")


def decode_payload(payload: bytes) -> Event:
    """The event in a record's payload (frame already checked)."""
    event_id = peek_id(payload)
    cursor = ID_LEN.size + ID_LEN.unpack_from(payload)[0]
    if len(payload) < cursor + HEADER_LEN.size:
        raise RecordError("record payload shorter than its header length")
    (head_len,) = HEADER_LEN.unpack_from(payload, cursor)
    start = cursor + HEADER_LEN.size
    end = start + head_len
    if end > len(payload):
        raise RecordError("record header overruns the payload")
    try:
        head = orjson.loads(payload[start:end])
    except orjson.JSONDecodeError as exc:
        raise RecordError("record header is not JSON") from exc
    if not isinstance(head, dict) or not all(isinstance(head.get(k), str) for k in ("type", "source", "time")):
        raise RecordError("record header lacks type, source or time")
    return Event(
        id=event_id,
        type=head["type"],
        source=head["source"],
        time=head["time"],
        subject=head.get("subject"),
        extensions={str(k): str(v) for k, v in (head.get("ext") or {}).items()},
        data=payload[end:],
    )


def valid_frame(buffer: bytes | memoryview, offset: int) -> tuple[int, str] | None:
    """``(end, id)`` when a complete record with a matching CRC starts at ``offset``, else ``None``."""
    if len(buffer) - offset < FRAME.size:
        return None
    length, crc = FRAME.unpack_from(buffer, offset)
    start = offset + FRAME.size
    end = start + length
    if length < ID_LEN.size or end > len(buffer):
        return None
    payload = memoryview(buffer)[start:end]
    if zlib.crc32(payload) != crc:
        return None
    try:
        return end, peek_id(payload)
    except RecordError:
        return None


def resync(buffer: bytes | memoryview, offset: int) -> int | None:
    """The first offset after ``offset`` where a valid record starts (``None``: none follows).

    Why this is safe: a record counts only when its whole length is present *and* its CRC-32 matches, so a false
    start inside damaged bytes has a chance of about 2**-32 per position. The cheap length test comes first.
    """
    size = len(buffer)
    for candidate in range(offset + 1, size - FRAME.size + 1):
        length = FRAME.unpack_from(buffer, candidate)[0]
        if candidate + FRAME.size + length <= size and valid_frame(buffer, candidate) is not None:
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class Scan:
    """What a segment's bytes hold: its valid records, the damaged ranges between them, and a trailing rest."""

    records: list[tuple[str, int]]
    """``(id, end offset)`` of each valid record, in order."""
    damaged: list[tuple[int, int]]
    """``[start, end)`` of byte ranges that are not valid records but are followed by valid ones."""
    size: int
    """Where the last valid record ends (everything after it is ``tail``)."""

    @property
    def ids(self) -> list[str]:
        return [event_id for event_id, _end in self.records]


def scan(buffer: bytes | memoryview) -> Scan:
    """Every valid record of ``buffer``, resynchronising past damaged ones instead of stopping at the first."""
    records: list[tuple[str, int]] = []
    damaged: list[tuple[int, int]] = []
    offset = 0
    while offset < len(buffer):
        frame = valid_frame(buffer, offset)
        if frame is not None:
            records.append((frame[1], frame[0]))
            offset = frame[0]
            continue
        following = resync(buffer, offset)
        if following is None:
            break
        damaged.append((offset, following))
        offset = following
    return Scan(records, damaged, offset)


def scan_written(data: bytes) -> Scan:
    """:func:`scan` of a segment file whose end may be preallocated zeros: the zeros are not searched for records
    (a resync through a megabyte of them would take a second), unless what precedes them is damaged or torn -- then
    the whole file is scanned, so a record is never cut short."""
    end = len(data.rstrip(b"\0"))
    found = scan(memoryview(data)[:end]) if end < len(data) else scan(data)
    return found if found.size == end else scan(data)


def check_frame(buffer: bytes | memoryview, offset: int) -> tuple[bytes, int] | None:
    """The payload of the record at ``offset`` and the offset after it, or ``None`` when the record is incomplete.

    Raises :class:`RecordError` when the record is complete but its CRC does not match.
    """
    if len(buffer) - offset < FRAME.size:
        return None
    length, crc = FRAME.unpack_from(buffer, offset)
    start = offset + FRAME.size
    end = start + length
    if end > len(buffer):
        return None
    payload = bytes(buffer[start:end])
    if zlib.crc32(payload) != crc:
        raise RecordError(f"CRC mismatch in record at offset {offset}")
    return payload, end
