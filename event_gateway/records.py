"""The event as the gateway keeps it, and its on-disk framing.

A spool record is ``[u32 length][u32 CRC-32][payload]`` (big-endian), payload ``[u32 header length][header JSON]
[data]``. The length+CRC frame is what lets recovery tell a complete record from one torn by SIGKILL or a power cut:
a record is valid only when its full length is present *and* its CRC matches.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

FRAME: Final[struct.Struct] = struct.Struct(">II")
HEADER_LEN: Final[struct.Struct] = struct.Struct(">I")
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
    head = json.dumps(event.header(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    payload = b"".join((HEADER_LEN.pack(len(head)), head, event.data))
    if len(payload) > MAX_RECORD_BYTES:
        raise RecordError("event too large for one spool record")
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def decode_payload(payload: bytes) -> Event:
    """The event in a record's payload (frame already checked)."""
    if len(payload) < HEADER_LEN.size:
        raise RecordError("record payload shorter than its header length")
    (head_len,) = HEADER_LEN.unpack_from(payload)
    end = HEADER_LEN.size + head_len
    if end > len(payload):
        raise RecordError("record header overruns the payload")
    try:
        head = json.loads(payload[HEADER_LEN.size : end])
    except ValueError as exc:
        raise RecordError("record header is not JSON") from exc
    if not isinstance(head, dict) or not all(isinstance(head.get(k), str) for k in ("id", "type", "source", "time")):
        raise RecordError("record header lacks id, type, source or time")
    return Event(
        id=head["id"],
        type=head["type"],
        source=head["source"],
        time=head["time"],
        subject=head.get("subject"),
        extensions={str(k): str(v) for k, v in (head.get("ext") or {}).items()},
        data=payload[end:],
    )


def peek_id(payload: bytes) -> str:
    """Only the event id of a record payload (recovery reads ids of records it does not publish)."""
    return decode_payload(payload[: HEADER_LEN.size + HEADER_LEN.unpack_from(payload)[0]]).id


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
