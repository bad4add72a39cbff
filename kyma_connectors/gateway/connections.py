"""Connection limits for uvicorn's httptools protocol: header size/count, read timeouts, idle reaping, capacity.

Why here and not in the app: an ASGI app only sees a request once its headers are complete, and uvicorn itself
bounds none of this for httptools (no header size or count limit, no timeout before the first request), so one
client could send a 64 MiB header line, or thousands could hold connections open without sending a byte.

- **Header limits**: the request line plus header section may be at most ``max_header_bytes``, counted on the raw
  bytes *before* the parser buffers them, so an endless header line is refused (431) after ``max_header_bytes``, not
  after it ends; a complete section with more than ``max_headers`` fields is refused (431) too.
- **Timeouts, one reaper**: each connection records its phase (idle, headers, body, in the app) and that phase's
  deadline -- a few attribute writes per request, no timer per request. One task per process checks every open
  connection once per tick: idle ones past ``idle_timeout`` are closed, slow headers or bodies get 408 and are
  closed. A request in the app (spooling) is never cut.
- **Capacity for real senders**: at ``max_connections`` a new connection displaces the oldest one that is idle or
  still sending headers (the ones a real sender is not using), instead of every new request getting 503.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kyma_connectors.gateway.errors import (
    ConnectionCapacityError,
    GatewayError,
    HeadersTooLargeError,
    RequestTimeoutError,
)

LOG = logging.getLogger(__name__)
STATUS_TEXT = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


class Phase(enum.Enum):
    IDLE = "idle"
    HEADERS = "headers"
    BODY = "body"
    APP = "app"


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The connection limits (from the settings)."""

    max_connections: int
    idle_timeout: float
    header_timeout: float
    body_timeout: float
    max_header_bytes: int
    max_headers: int


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that is over a header limit."""


class Guard:
    """The open connections of one server and the one reaper that serves them all."""

    def __init__(self, limits: Limits, on_refused: Callable[[str], None] = lambda reason: None) -> None:
        self.limits = limits
        self.on_refused = on_refused
        """Called with the reason of every refusal here (the rejection metric's label)."""
        self.open: dict[GuardedProtocol, None] = {}
        """Insertion-ordered: the oldest connection first (where displacement looks)."""
        self.reaped = 0
        self.displaced = 0
        self._reaper: asyncio.Task[None] | None = None

    def admit(self, connection: GuardedProtocol) -> bool:
        """Register a new connection; at capacity, displace the oldest idle or header-sending one (or refuse)."""
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap(), name="connection-reaper")
        if len(self.open) >= self.limits.max_connections:
            victim = next((c for c in self.open if c.phase in (Phase.IDLE, Phase.HEADERS)), None)
            if victim is None:
                return False
            self.displaced += 1
            victim.expire(ConnectionCapacityError("displaced: the gateway is at its connection limit"))
        self.open[connection] = None
        return True

    def forget(self, connection: GuardedProtocol) -> None:
        self.open.pop(connection, None)

    async def _reap(self) -> None:
        tick = max(0.05, min(1.0, self.limits.idle_timeout / 4, self.limits.header_timeout / 4,
                             self.limits.body_timeout / 4))
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            expired = [c for c in self.open if c.phase is not Phase.APP and c.deadline < now]
            for connection in expired:
                self.reaped += 1
                slow = connection.phase in (Phase.HEADERS, Phase.BODY)
                connection.expire(RequestTimeoutError(f"request {connection.phase.value} too slow") if slow else None)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above; a subclass is bound to one :class:`Guard`."""

    guard: ClassVar[Guard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.phase = Phase.IDLE
        self.deadline = 0.0
        self._head_bytes = 0
        self._refusal: GatewayError | None = None

    @classmethod
    def bound_to(cls, guard: Guard) -> type[GuardedProtocol]:
        """The protocol class uvicorn instantiates per connection (``Config(http=...)``), sharing ``guard``."""
        return type("GatewayHttpProtocol", (cls,), {"guard": guard})

    # --- phases ----------------------------------------------------------------------------------------------
    def _enter(self, phase: Phase, timeout: float) -> None:
        self.phase = phase
        self.deadline = time.monotonic() + timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._enter(Phase.IDLE, self.guard.limits.idle_timeout)
        if not self.guard.admit(self):
            self.expire(ConnectionCapacityError("the gateway is at its connection limit"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.phase is Phase.IDLE:
            self._enter(Phase.HEADERS, self.guard.limits.header_timeout)
            self._head_bytes = 0
        if self.phase is Phase.HEADERS:
            room = self.guard.limits.max_header_bytes - self._head_bytes
            if len(data) > room:  # feed only what the limit allows: did the header section end in it?
                head, data = data[:room], data[room:]
                self._head_bytes += len(head)
                super().data_received(head)
                if self.phase is Phase.HEADERS and not self.transport.is_closing():
                    self._refuse(HeadersTooLargeError(f"header section larger than {self._head_bytes} bytes"))
                if self.transport.is_closing():
                    return
            else:
                self._head_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.phase is not Phase.HEADERS:  # a pipelined request: its own header timeout
            self._enter(Phase.HEADERS, self.guard.limits.header_timeout)
            self._head_bytes = 0

    def on_headers_complete(self) -> None:
        """The header count is checked once the section is complete, not per field: what the parser collected is
        bounded by ``max_header_bytes`` already, and a check per field was two Python calls per header."""
        if len(self.headers) > self.guard.limits.max_headers:
            self._refusal = HeadersTooLargeError(f"more than {self.guard.limits.max_headers} header fields")
            raise _Refused  # httptools turns this into HttpParserError: uvicorn calls send_400_response
        self._enter(Phase.BODY, self.guard.limits.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.phase = Phase.APP
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.phase is Phase.APP or self.phase is Phase.BODY:
            self._enter(Phase.IDLE, self.guard.limits.idle_timeout)

    # --- refusing ----------------------------------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to an unparsable request; a header limit hit inside the parser answers its own."""
        refusal, self._refusal = self._refusal, None
        if refusal is None:
            super().send_400_response(msg)
        else:
            self._refuse(refusal)

    def expire(self, error: GatewayError | None) -> None:
        """Close this connection; with ``error``, tell the client why first (unless a response is under way)."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if error is not None and (cycle is None or not cycle.response_started or cycle.response_complete):
            self._refuse(error)
        else:
            self.transport.close()

    def _refuse(self, error: GatewayError) -> None:
        self.guard.on_refused(error.reason)
        body = json.dumps({"error": error.reason, "message": str(error)}).encode()
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n" % (
            error.status, STATUS_TEXT[error.status], len(body))
        retry = b"retry-after: 1\r\n" if error.status == 503 else b""
        self.transport.write(head + retry + b"\r\n" + body)
        self.transport.close()
