"""Reading request bodies with memory bounded by design, whatever the number of slow senders.

Why: a body is read before it can be verified (GitHub signs the raw body), so an unauthenticated sender decides
how much the gateway holds while it waits. Two process-wide budgets bound that:

- **memory**: bodies up to ``INLINE_BYTES`` are read into memory while the memory budget has room;
- **spill**: larger bodies (and small ones once the memory budget is used up) are streamed into an anonymous file
  on the spool volume (``O_TMPFILE`` in ``incoming/``: nothing to clean up after a crash), fed to the streaming
  signature check as they arrive, and read back only once authentic. When the spill budget is used up too, the
  request is refused with 503 + ``Retry-After`` before its body is read.

So memory per slow sender is what the protocol buffers per connection (64 KiB, then it stops reading the socket) plus
one chunk, and the reaper's body timeout bounds for how long either budget can be held.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from kyma_connectors.gateway.errors import BodyBudgetError, MalformedDeliveryError, PayloadTooLargeError, SpoolError
from kyma_connectors.gateway.spool import spool_error

INLINE_BYTES: Final[int] = 64 * 1024
"""Bodies up to this size are kept in memory (while the memory budget has room); GitHub's are mostly a few KB."""
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class Feed(Protocol):
    """What sees every body chunk as it arrives (the streaming signature check)."""

    def update(self, chunk: bytes) -> None: ...


@dataclass
class BodyBudget:
    """Bytes of request bodies being read or held, process-wide: in memory and spilled to the spool volume."""

    memory_limit: int
    spill_limit: int
    memory: int = 0
    spilled: int = 0

    def take_memory(self, size: int) -> bool:
        if self.memory + size > self.memory_limit:
            return False
        self.memory += size
        return True

    def take_spill(self, size: int) -> bool:
        if self.spilled + size > self.spill_limit:
            return False
        self.spilled += size
        return True


@dataclass
class Body:
    """A request body, in memory or in an anonymous spill file; :meth:`release` gives its budget back."""

    budget: BodyBudget
    size: int = 0
    complete: bool = False
    """The whole body was received (otherwise the connection must be closed after the answer)."""
    _chunks: list[bytes] = field(default_factory=list)
    _memory: int = 0
    _spill: int = 0
    _fd: int = -1
    _large: bool = False
    """Declared larger than ``INLINE_BYTES``: streamed to the spill file from the first byte."""
    on_release: Callable[[], None] | None = None
    """Called once by :meth:`release` (the app's one-large-body-at-a-time slot)."""

    @property
    def spilled(self) -> bool:
        return self._fd >= 0

    def data(self) -> bytes:
        """The bytes: joined from memory, or read back from the spill file (only once verified: it may be large)."""
        if self._fd < 0:
            return b"".join(self._chunks)
        return os.pread(self._fd, self.size, 0)

    def release(self) -> None:
        self.budget.memory -= self._memory
        self.budget.spilled -= self._spill
        self._memory = self._spill = 0
        self._chunks = []
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        release, self.on_release = self.on_release, None
        if release is not None:
            release()

    # --- filling (read_body) -------------------------------------------------------------------------------------
    def _reserve(self, size: int, spill_dir: Path) -> None:
        """Room for ``size`` more bytes: memory while small and the budget allows, else the spill file."""
        if self._fd < 0 and not self._large and self.size + size <= INLINE_BYTES and self.budget.take_memory(size):
            self._memory += size
            return
        if not self.budget.take_spill(size):
            raise BodyBudgetError("too many large deliveries are being received at once; retry shortly")
        self._spill += size
        if self._fd < 0:
            self._fd = _anonymous_file(spill_dir)
            for chunk in self._chunks:
                _write_all(self._fd, chunk)
            self._chunks = []

    def _append(self, chunk: bytes) -> None:
        if self._fd >= 0:
            _write_all(self._fd, chunk)
        else:
            self._chunks.append(chunk)
        self.size += len(chunk)


async def read_body(
    receive: Receive,
    body: Body,
    *,
    declared: int | None,
    cap: int,
    spill_dir: Path,
    feed: Feed | None,
) -> None:
    """Fill ``body`` from the ASGI ``receive`` channel; raises 413 above ``cap``, 400 on a disconnect, 503 when
    the budgets have no room or the spill file cannot be written.

    Budget is taken for bytes as they arrive, not for what ``Content-Length`` announces: a sender that declares
    32 MiB and then trickles holds only what it really sent (until the body timeout closes it).
    """
    body._large = declared is not None and declared > INLINE_BYTES
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise MalformedDeliveryError("client disconnected before the body was complete")
        chunk: bytes = message.get("body", b"")
        if body.size + len(chunk) > cap:
            raise PayloadTooLargeError(f"body larger than {cap} bytes")
        body._reserve(len(chunk), spill_dir)
        if feed is not None and chunk:
            feed.update(chunk)
        try:
            body._append(chunk)
        except OSError as exc:
            raise _spill_error(exc) from exc
        if not message.get("more_body", False):
            body.complete = True
            return


def _anonymous_file(directory: Path) -> int:
    """A file on the spool volume that disappears with its descriptor (``O_TMPFILE``; else create + unlink)."""
    try:
        directory.mkdir(exist_ok=True)
        try:
            return os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
        fd, name = tempfile.mkstemp(dir=directory, prefix="body-")
        os.unlink(name)
        return fd
    except OSError as exc:
        raise _spill_error(exc) from exc


def _write_all(fd: int, chunk: bytes) -> None:
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view) :]


def _spill_error(exc: OSError) -> SpoolError:
    return spool_error(exc, "cannot store a large body on the spool volume")
