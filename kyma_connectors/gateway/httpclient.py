"""A minimal keep-alive HTTP/1.1 client for one upstream (the eventing publisher proxy).

Why not aiohttp or httpx: publishing is the gateway's second hot path (one request per event); profiling showed
aiohttp's client as the largest single cost per delivery, and replacing it about doubled the benchmark's accepted
deliveries/s. This client only does what publishing needs -- POST with a fixed set of headers over pooled
connections, responses parsed by ``httptools`` (the llhttp parser uvicorn uses), per-request timeout -- and any
failure discards the connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import cast
from urllib.parse import urlsplit

import httptools


class HttpClientError(ConnectionError):
    """Transport-level failure: connect, timeout, reset, unparsable response."""


class _Connection(asyncio.Protocol):
    """One pooled connection; at most one request in flight (no pipelining)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.usable = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HttpClientError(f"unparsable response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(HttpClientError("connection closed by the server"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.body = []

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if not self.parser.should_keep_alive():
            self.usable = False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def _fail(self, exc: Exception) -> None:
        self.usable = False
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def close(self) -> None:
        self.usable = False
        if self.transport is not None:
            self.transport.close()


class HttpClient:
    """POSTs to paths of one base URL over at most ``connections`` keep-alive connections."""

    def __init__(self, base_url: str, *, connections: int, timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "localhost"
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        default_port = self.port == (443 if self.tls else 80)
        self._host_header = self.host if default_port else f"{self.host}:{self.port}"
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(connections)
        self._ssl = ssl.create_default_context() if self.tls else None

    async def post(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """Status and body of the response; raises :class:`HttpClientError` on any transport failure."""
        lines = [f"POST {self.prefix}{path} HTTP/1.1", f"host: {self._host_header}", f"content-length: {len(body)}"]
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        async with self._slots:
            connection = self._take_idle() or await self._connect()
            loop = asyncio.get_running_loop()
            future = connection.send(request)
            timer = loop.call_later(self.timeout, _expire, future)
            try:
                result = await future
            except BaseException:
                connection.close()
                raise
            finally:
                timer.cancel()
            if connection.usable:
                self._idle.append(connection)
            else:
                connection.close()
            return result

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable:
                return connection  # the server may have closed it meanwhile: then the request fails and is retried
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _transport, protocol = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port, ssl=self._ssl), self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise HttpClientError(f"cannot connect to {self.host}:{self.port}: {type(exc).__name__}") from exc
        return protocol

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _expire(future: asyncio.Future[tuple[int, bytes]]) -> None:
    if not future.done():
        future.set_exception(HttpClientError("timed out waiting for the response"))
