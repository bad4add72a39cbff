"""The bounded window of recent event ids that suppresses duplicate deliveries, persisted across restarts.

Ids of records still in the spool are recovered by scanning the segments; ids of segments the forwarder has finished
with are appended to ``dedup.log`` before the segment is deleted. Startup reads the log's tail, then the segments,
so the window survives restarts and SIGKILL. GitHub keeps the same ``X-GitHub-Delivery`` on a redelivery
(docs: handling-failed-webhook-deliveries), which is what makes this work.
"""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Final

CANONICAL_UUID: Final[re.Pattern[str]] = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def window_key(event_id: str) -> int | str:
    """What the window keeps of an id: a canonical (lower-case, hyphenated) UUID as its 128-bit number, anything
    else as it is.

    Why: GitHub's delivery ids and the gateway's own name-based ids are such UUIDs, and a 36-character str costs 88
    bytes where the number costs 48: with the set and the deque, 100,000 ids take 9.0 instead of 12.9 MiB. The
    mapping is one-to-one on canonical UUIDs and a number never equals a str, so two ids share a key only if they
    are equal: the dedup stays exact (no hash that could take a new delivery for a duplicate).
    """
    if len(event_id) == 36 and CANONICAL_UUID.fullmatch(event_id):
        return int(event_id.replace("-", ""), 16)
    return event_id


class DedupWindow:
    """The last ``capacity`` ids seen, in arrival order; O(1) membership, add and eviction."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._order: deque[int | str] = deque()
        self._members: set[int | str] = set()

    def __contains__(self, event_id: object) -> bool:
        return isinstance(event_id, str) and window_key(event_id) in self._members

    def __len__(self) -> int:
        return len(self._members)

    def add(self, event_id: str) -> None:
        key = window_key(event_id)
        if self.capacity <= 0 or key in self._members:
            return
        self._order.append(key)
        self._members.add(key)
        while len(self._order) > self.capacity:
            self._members.discard(self._order.popleft())

    def extend(self, ids: Iterable[str]) -> None:
        for event_id in ids:
            self.add(event_id)


class DedupLog:
    """``dedup.log``: one id per line, appended when a segment leaves the spool, compacted at twice the window."""

    def __init__(self, path: Path, capacity: int) -> None:
        self.path = path
        self.capacity = capacity
        self._lines = 0

    def load(self) -> list[str]:
        """The last ``capacity`` ids of the log (a torn last line from a crash is ignored)."""
        if self.capacity <= 0 or not self.path.exists():
            return []
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        complete = lines[:-1]  # whatever follows the last newline is torn or empty
        self._lines = len(complete)
        return [line.decode("utf-8", "replace") for line in complete[-self.capacity :] if line]

    def append(self, ids: list[str]) -> None:
        """Persist ``ids`` (durably: the segment holding them is deleted next); compact when the log grew large."""
        if self.capacity <= 0 or not ids:
            return
        if self._lines + len(ids) > 2 * self.capacity:
            self._rewrite(self.load() + ids)
            return
        with open(self.path, "ab") as handle:
            handle.write("".join(f"{event_id}\n" for event_id in ids).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        self._lines += len(ids)

    def _rewrite(self, ids: list[str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write("".join(f"{event_id}\n" for event_id in ids[-self.capacity :]).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        self._lines = min(len(ids), self.capacity)
