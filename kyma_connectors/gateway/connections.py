"""Connection limits of the gateway's HTTP protocol (:mod:`kyma_connectors.gateway.http11`): header size and count,
read timeouts, idle reaping, capacity.

Why in the protocol and not in the app: an ASGI app only sees a request once its headers are complete, so without
these one client could send a 64 MiB header line, or thousands could hold connections open without sending a byte.

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
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from kyma_connectors.gateway.errors import ConnectionCapacityError, GatewayError, RequestTimeoutError


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


class Connection(Protocol):
    """What the guard needs of a connection: its phase, that phase's deadline, and a way to end it."""

    phase: Phase
    deadline: float

    def expire(self, error: GatewayError | None) -> None: ...


class Guard:
    """The open connections of one server and the one reaper that serves them all."""

    def __init__(self, limits: Limits, on_refused: Callable[[str], None] = lambda reason: None) -> None:
        self.limits = limits
        self.on_refused = on_refused
        """Called with the reason of every refusal here (the rejection metric's label)."""
        self.open: dict[Connection, None] = {}
        """Insertion-ordered: the oldest connection first (where displacement looks)."""
        self.reaped = 0
        self.displaced = 0
        self.answering = 0
        """Requests in the app right now, on all connections (the spool commits on the loop when it is only its own)."""
        self._reaper: asyncio.Task[None] | None = None

    def admit(self, connection: Connection) -> bool:
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

    def forget(self, connection: Connection) -> None:
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
