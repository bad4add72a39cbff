"""The gateway's HTTP/1.1 server protocol: requests parsed by ``httptools`` (llhttp), handed to the ASGI app, each
response written with one ``write``; the connection limits of :mod:`kyma_connectors.gateway.connections` built in.

Why not uvicorn's httptools protocol: at the gateway's rates its general machinery was the largest share of the
Python time per request (9-20 % of the samples): an ``asyncio.Event`` and a keep-alive timer per request, a scope
with the app state copied, the request body copied twice, every response header checked by two regular expressions,
and the status line and headers written apart from the body, two ``send`` calls (two TCP segments) per response. This
protocol does what four fixed routes of our own app need and nothing more; uvicorn still runs the process: the
listening socket, signals, the graceful shutdown (it calls :meth:`HttpProtocol.shutdown` and waits for the tasks in
its ``server_state``) and the lifespan. The protocol class is given to ``uvicorn.Config(http=...)``, its documented
way to plug one in.

What it does, per RFC 9112: keep-alive unless the client or the app says ``close`` (HTTP/1.0 only on request);
pipelined requests answered in order, one at a time (reading pauses meanwhile); ``Expect: 100-continue`` answered
when the app first reads the body; ``HEAD`` answered without a body; a response sent before its request's body was
read closes the connection; a request the parser refuses gets 400 and the connection closes; upgrades are refused.
The app's responses are its own (four routes, fixed header names), so they are not re-validated here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any, ClassVar, Final, cast
from urllib.parse import unquote

import httptools
import orjson

from kyma_connectors.gateway.connections import Guard, Phase
from kyma_connectors.gateway.errors import ConnectionCapacityError, GatewayError, HeadersTooLargeError

LOG = logging.getLogger(__name__)
Message = MutableMapping[str, Any]
App = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
               Awaitable[None]]
HIGH_WATER: Final[int] = 64 * 1024
"""Body bytes buffered for the app before reading from the socket pauses (the app reads within its own budgets)."""
STATUS_LINES: Final[dict[int, bytes]] = {
    status.value: b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode("ascii")) for status in HTTPStatus
}
CONTINUE: Final[bytes] = b"HTTP/1.1 100 Continue\r\n\r\n"
ASGI: Final[dict[str, str]] = {"version": "3.0", "spec_version": "2.3"}


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a request that is over a header limit."""


class _Exchange:
    """One request and its response: the ASGI ``receive`` and ``send`` of the app's call."""

    __slots__ = (
        "body",
        "buffered",
        "complete",
        "connection",
        "continue_expected",
        "finished",
        "head",
        "keep_alive",
        "more",
        "scope",
        "started",
        "waiter",
    )

    def __init__(self, connection: HttpProtocol, scope: dict[str, Any], keep_alive: bool,
                 continue_expected: bool) -> None:
        self.connection = connection
        self.scope = scope
        self.keep_alive = keep_alive
        self.continue_expected = continue_expected
        self.body: list[bytes] = []
        self.buffered = 0
        self.complete = False
        """The request's body was read whole by the parser."""
        self.waiter: asyncio.Future[None] | None = None
        self.head: bytes | None = None
        """Status line and headers of the response, written with its first body bytes."""
        self.more = 0
        """Response bytes still to come after what was written (the declared ``content-length``)."""
        self.started = False
        self.finished = False

    def wake(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def receive(self) -> Message:
        connection = self.connection
        if self.continue_expected:
            self.continue_expected = False
            if not self.complete and not self.started and not connection.transport.is_closing():
                connection.transport.write(CONTINUE)
        while not self.body and not self.complete and not connection.closed and not self.finished:
            connection.resume_reading()
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        if connection.closed or self.finished:
            return {"type": "http.disconnect"}
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body.clear()
        self.buffered = 0
        return {"type": "http.request", "body": body, "more_body": not self.complete}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        connection = self.connection
        if kind == "http.response.start":
            if self.started or self.head is not None:
                raise RuntimeError("the response was already started")
            self._start(message["status"], message.get("headers", ()))
            return
        if kind != "http.response.body" or (self.head is None and not self.started):
            raise RuntimeError(f"unexpected ASGI message {kind!r}")
        if self.finished:
            raise RuntimeError("the response is already complete")
        body: bytes = message.get("body", b"")
        more_body: bool = message.get("more_body", False)
        if self.scope["method"] == "HEAD":
            body = b""
        elif self.more >= 0:
            if len(body) > self.more or (not more_body and len(body) < self.more):
                raise RuntimeError("the response body does not match its content-length")
            self.more -= len(body)
        head, self.head = self.head, None
        self.started = True
        if not connection.closed:
            connection.transport.write(head + body if head is not None else body)
        if not more_body:
            self.finished = True
            connection.response_complete(self)

    def _start(self, status: int, headers: Any) -> None:
        lines = [STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status]
        length = -1
        for name, value in headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and b"close" in value.lower():
                self.keep_alive = False
            lines.append(b"%s: %s\r\n" % (lowered, value))
        if not self.complete:
            self.keep_alive = False  # answered before the body was read: the rest is not read, or waited for
        if length < 0 and status not in (204, 304):
            self.keep_alive = False  # no length: the body ends where the connection does (RFC 9112 6.3)
        if not self.keep_alive and not any(name.lower() == b"connection" for name, _ in headers):
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        self.head = b"".join(lines)
        self.more = length


class HttpProtocol(asyncio.Protocol):
    """One client connection. A subclass is bound to one :class:`Guard` and is what uvicorn instantiates."""

    guard: ClassVar[Guard]

    def __init__(self, config: Any, server_state: Any, app_state: Any = None,
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.app = cast(App, config.loaded_app)
        self.connections: set[Any] = server_state.connections
        self.tasks: set[asyncio.Task[None]] = server_state.tasks
        """uvicorn's: a graceful shutdown waits for these."""
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.closed = False
        self.phase = Phase.IDLE
        self.deadline = 0.0
        self._head_bytes = 0
        self._refusal: GatewayError | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._current: _Exchange | None = None
        """The request being read (its body still arriving, or complete)."""
        self._answering: _Exchange | None = None
        """The request the app is answering; later pipelined ones wait in ``_queued``."""
        self._queued: deque[_Exchange] = deque()
        self._reading_paused = False
        self._server: tuple[str, int] | None = None
        self._client: tuple[str, int] | None = None

    @classmethod
    def bound_to(cls, guard: Guard) -> type[HttpProtocol]:
        """The protocol class for ``uvicorn.Config(http=...)``, sharing ``guard`` between its connections."""
        return type("GatewayHttpProtocol", (cls,), {"guard": guard})

    # --- phases (what the guard's reaper looks at) -------------------------------------------------------------
    def _enter(self, phase: Phase, timeout: float) -> None:
        self.phase = phase
        self.deadline = time.monotonic() + timeout

    # --- asyncio.Protocol --------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.connections.add(self)
        server, client = transport.get_extra_info("sockname"), transport.get_extra_info("peername")
        self._server = (str(server[0]), int(server[1])) if isinstance(server, tuple) else None
        self._client = (str(client[0]), int(client[1])) if isinstance(client, tuple) else None
        self._enter(Phase.IDLE, self.guard.limits.idle_timeout)
        if not self.guard.admit(self):
            self.expire(ConnectionCapacityError("the gateway is at its connection limit"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.connections.discard(self)
        self.guard.forget(self)
        for exchange in (self._current, self._answering, *self._queued):
            if exchange is not None:
                exchange.wake()
        self._queued.clear()

    def data_received(self, data: bytes) -> None:
        if self.closed or self.transport.is_closing():
            return
        if self.phase is Phase.IDLE:
            self._enter(Phase.HEADERS, self.guard.limits.header_timeout)
            self._head_bytes = 0
        if self.phase is Phase.HEADERS:
            room = self.guard.limits.max_header_bytes - self._head_bytes
            if len(data) > room:  # feed only what the limit allows: did the header section end in it?
                head, data = data[:room], data[room:]
                self._head_bytes += len(head)
                self._feed(head)
                if self.phase is Phase.HEADERS and not self.transport.is_closing():
                    self._refuse(HeadersTooLargeError(f"header section larger than {self._head_bytes} bytes"))
                if self.transport.is_closing():
                    return
            else:
                self._head_bytes += len(data)
        self._feed(data)

    def eof_received(self) -> bool | None:
        return None  # the transport closes once what is being written was sent

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject_unparsable("protocol upgrades are not supported")
        except httptools.HttpParserError:
            refusal, self._refusal = self._refusal, None
            if refusal is not None:
                self._refuse(refusal)
            else:
                self._reject_unparsable("invalid HTTP request")

    # --- httptools callbacks -----------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        if self.phase is not Phase.HEADERS:  # a pipelined request: its own header timeout
            self._enter(Phase.HEADERS, self.guard.limits.header_timeout)
            self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        """The header count is checked once the section is complete: what the parser collected is bounded by
        ``max_header_bytes`` already."""
        headers = self._headers
        if len(headers) > self.guard.limits.max_headers:
            self._refusal = HeadersTooLargeError(f"more than {self.guard.limits.max_headers} header fields")
            raise _Refused  # httptools turns this into HttpParserError: answered in _feed
        self._enter(Phase.BODY, self.guard.limits.body_timeout)
        parser = self.parser
        url = httptools.parse_url(self._url)
        raw_path = url.path
        path = raw_path.decode("latin-1")
        scope = {
            "type": "http", "asgi": ASGI, "http_version": parser.get_http_version(),
            "method": parser.get_method().decode("ascii"), "scheme": "http", "path": unquote(path) if "%" in path
            else path, "raw_path": raw_path, "query_string": url.query or b"", "root_path": "", "headers": headers,
            "server": self._server, "client": self._client,
        }
        expects = any(name == b"expect" and value.lower() == b"100-continue" for name, value in headers)
        exchange = _Exchange(self, scope, parser.should_keep_alive(), expects)
        self._current = exchange
        if self._answering is None:
            self._answer(exchange)
        else:  # pipelined: answered after the one before, and nothing more is read meanwhile
            self._queued.append(exchange)
            self.pause_reading()

    def on_body(self, body: bytes) -> None:
        exchange = self._current
        if exchange is None or exchange.finished:
            return  # the rest of a body the app answered without reading: the connection closes after it
        exchange.body.append(body)
        exchange.buffered += len(body)
        if exchange.buffered > HIGH_WATER:
            self.pause_reading()
        exchange.wake()

    def on_message_complete(self) -> None:
        exchange = self._current
        self._current = None
        if self.phase is Phase.BODY:
            self.phase = Phase.APP
        if exchange is not None:
            exchange.complete = True
            exchange.wake()

    # --- answering ---------------------------------------------------------------------------------------------
    def _answer(self, exchange: _Exchange) -> None:
        self._answering = exchange
        task = asyncio.get_running_loop().create_task(self._run(exchange))
        self.tasks.add(task)
        self.guard.answering += 1
        task.add_done_callback(self._answered)

    def _answered(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.guard.answering -= 1

    async def _run(self, exchange: _Exchange) -> None:
        try:
            await self.app(exchange.scope, exchange.receive, exchange.send)
        except Exception:
            LOG.exception("unhandled error answering %s %s", exchange.scope["method"], exchange.scope["path"])
            if not exchange.started and not self.closed:
                exchange.head = None
                exchange.keep_alive = False
                self.transport.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n"
                                     b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error")
            self._close()
            return
        if not exchange.finished and not self.closed:
            LOG.error("the app returned without completing its response to %s %s", exchange.scope["method"],
                      exchange.scope["path"])
            self._close()

    def response_complete(self, exchange: _Exchange) -> None:
        """Called by the exchange once its last byte was written: keep-alive, or close; then the next request."""
        self._answering = None
        if self.closed:
            return
        if not exchange.keep_alive:
            self._close()
            return
        if self._queued:  # already read whole: it stays in the app's phase, which no timeout cuts
            self._answer(self._queued.popleft())
        elif self.phase is Phase.APP and self._current is None:
            self._enter(Phase.IDLE, self.guard.limits.idle_timeout)
        self.resume_reading()

    def pause_reading(self) -> None:
        if not self._reading_paused and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and not self.closed and not self._queued:
            self._reading_paused = False
            self.transport.resume_reading()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: close an idle connection now, a busy one once its response is written."""
        if self._answering is None and self._current is None:
            self._close()
        else:
            for exchange in (self._current, self._answering, *self._queued):
                if exchange is not None:
                    exchange.keep_alive = False

    # --- refusing ----------------------------------------------------------------------------------------------
    def expire(self, error: GatewayError | None) -> None:
        """Close this connection; with ``error``, tell the client why first (unless a response is under way)."""
        if self.closed or self.transport.is_closing():
            return
        answering = self._answering
        if error is not None and (answering is None or not answering.started or answering.finished):
            self._refuse(error)
        else:
            self._close()

    def _refuse(self, error: GatewayError) -> None:
        self.guard.on_refused(error.reason)
        body = orjson.dumps({"error": error.reason, "message": str(error)})
        head = b"%scontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n" % (
            STATUS_LINES[error.status], len(body))
        retry = b"retry-after: 1\r\n" if error.status == 503 else b""
        self.transport.write(head + retry + b"\r\n" + body)
        self._close()

    def _reject_unparsable(self, message: str) -> None:
        if self.transport.is_closing():
            return
        LOG.info("refused a request with 400: %s", message)
        body = message.encode("ascii")
        self.transport.write(b"%scontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                             b"connection: close\r\n\r\n%s" % (STATUS_LINES[400], len(body), body))
        self._close()

    def _close(self) -> None:
        self.closed = True
        for exchange in (self._current, self._answering, *self._queued):
            if exchange is not None:
                exchange.wake()
        if not self.transport.is_closing():
            self.transport.close()
