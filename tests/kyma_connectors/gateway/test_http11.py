"""The gateway's HTTP/1.1 protocol over raw sockets on loopback, as clients other than ``requests`` speak it:
pipelining, ``HEAD``, ``Expect: 100-continue``, chunked bodies, HTTP/1.0, upgrades and garbage (RFC 9112); and in
process, the count of requests in the app that the spool relies on."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kyma_connectors.gateway.connections import Guard, Limits
from kyma_connectors.gateway.http11 import HttpProtocol
from tests.kyma_connectors.gateway.harness import Gateway, PublisherDouble, github_headers, wait_until
from tests.support.paths import GITHUB_PAYLOADS

pytestmark = pytest.mark.timeout(60)
PUSH = (GITHUB_PAYLOADS / "push" / "payload.json").read_bytes()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, PublisherDouble]]:
    workdir: Path = tmp_path_factory.mktemp("http11")
    publisher = PublisherDouble(workdir)
    publisher.start()
    gateway = Gateway(workdir, publisher.url, {})
    gateway.start()
    yield gateway, publisher
    gateway.stop()
    publisher.stop()


def webhook(delivery: str, *, extra: dict[str, str] | None = None, body: bytes = PUSH, length: bool = True) -> bytes:
    headers = {**github_headers("test-secret", PUSH, "push", delivery), **(extra or {})}
    if length:
        headers["Content-Length"] = str(len(body))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST /webhook HTTP/1.1\r\nHost: gateway\r\n{head}\r\n".encode() + body


class Reader:
    """Responses read off one socket: status, lower-case headers, body (by ``content-length``)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def response(self, *, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            assert self._more(), f"connection closed; got {self.buffer!r}"
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._more(), "connection closed inside a body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(status_line.split(" ")[1]), headers, body

    def closed(self) -> bool:
        self.sock.settimeout(5)
        return not self._more() and not self.buffer


def connect(gateway: Gateway) -> tuple[socket.socket, Reader]:
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    return sock, Reader(sock)


def test_pipelined_requests_are_answered_in_order_on_one_connection(running: tuple[Gateway, PublisherDouble]) -> None:
    gateway, publisher = running
    sock, reader = connect(gateway)
    with sock:
        sock.sendall(webhook("pipe-1") + b"GET /healthz HTTP/1.1\r\nHost: g\r\n\r\n" + webhook("pipe-2"))
        first, second, third = reader.response(), reader.response(), reader.response()
    assert (first[0], json.loads(first[2])["id"]) == (202, "pipe-1")
    assert (second[0], json.loads(second[2])) == (200, {"status": "ok"})
    assert (third[0], json.loads(third[2])["id"]) == (202, "pipe-2")
    wait_until(lambda: {"pipe-1", "pipe-2"} <= {event["id"] for event in publisher.events()}, 20, "both deliveries")


def test_head_is_answered_without_a_body_and_the_connection_stays_usable(
    running: tuple[Gateway, PublisherDouble],
) -> None:
    gateway, _ = running
    sock, reader = connect(gateway)
    with sock:
        sock.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: g\r\n\r\n")
        status, headers, _ = reader.response(head_only=True)
        assert status == 200
        assert int(headers["content-length"]) > 0
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: g\r\n\r\n")
        assert reader.response()[0] == 200
        assert reader.buffer == b""  # nothing of the HEAD answer's body was sent


def test_expect_100_continue_gets_its_interim_answer_before_the_body_is_sent(
    running: tuple[Gateway, PublisherDouble],
) -> None:
    gateway, _ = running
    sock, reader = connect(gateway)
    request = webhook("continue-1", extra={"Expect": "100-continue"})
    head, _, body = request.partition(b"\r\n\r\n")
    with sock:
        sock.sendall(head + b"\r\n\r\n")
        assert reader.response(head_only=True)[0] == 100
        sock.sendall(body)
        status, _, answer = reader.response()
    assert (status, json.loads(answer)["id"]) == (202, "continue-1")


def test_a_chunked_body_is_read_whole(running: tuple[Gateway, PublisherDouble]) -> None:
    gateway, publisher = running
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(PUSH[i:i + 1000]), PUSH[i:i + 1000]) for i in range(0, len(PUSH), 1000))
    sock, reader = connect(gateway)
    with sock:
        sock.sendall(webhook("chunked-1", extra={"Transfer-Encoding": "chunked"}, body=chunks + b"0\r\n\r\n",
                             length=False))
        status, _, answer = reader.response()
    assert (status, json.loads(answer)["id"]) == (202, "chunked-1")
    wait_until(lambda: "chunked-1" in {event["id"] for event in publisher.events()}, 20, "the chunked delivery")
    published = {event["id"]: event for event in publisher.events()}
    assert published["chunked-1"]["data"] == json.loads(PUSH)


def test_http_1_0_is_answered_and_closed(running: tuple[Gateway, PublisherDouble]) -> None:
    gateway, _ = running
    sock, reader = connect(gateway)
    with sock:
        sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        status, headers, _ = reader.response()
        assert (status, headers.get("connection")) == (200, "close")
        assert reader.closed()


@pytest.mark.parametrize(
    "request_bytes",
    [b"NOT HTTP AT ALL\r\n\r\n",
     b"GET /healthz HTTP/1.1\r\nHost: g\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
     b"POST /webhook HTTP/1.1\r\nHost: g\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello"],
    ids=["garbage", "upgrade", "two-lengths"],
)
def test_what_the_parser_refuses_gets_400_and_a_closed_connection(
    running: tuple[Gateway, PublisherDouble], request_bytes: bytes
) -> None:
    gateway, _ = running
    sock, reader = connect(gateway)
    with sock:
        sock.sendall(request_bytes)
        status, headers, _ = reader.response()
        assert (status, headers.get("connection")) == (400, "close")
        assert reader.closed()
    assert gateway.alive()


def test_the_guard_counts_the_requests_in_the_app_until_each_is_answered() -> None:
    """``Guard.answering`` is what the spool asks before it syncs on the loop: every request in the app counts, on
    every connection, until its task is done, also when the app fails."""
    guard = Guard(Limits(max_connections=10, idle_timeout=5, header_timeout=5, body_timeout=5,
                         max_header_bytes=8192, max_headers=50))
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await release.wait()
        if scope["path"] == "/fail":
            raise RuntimeError("a bug")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def scenario() -> list[bytes]:
        config, state = SimpleNamespace(loaded_app=app), SimpleNamespace(connections=set(), tasks=set())
        protocol = HttpProtocol.bound_to(guard)
        server = await asyncio.get_running_loop().create_server(lambda: protocol(config, state), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        for (_, writer), path in zip(streams, ("/a", "/b", "/fail"), strict=True):
            writer.write(b"GET %s HTTP/1.1\r\nHost: g\r\n\r\n" % path.encode())
        while guard.answering < 3:
            await asyncio.sleep(0.01)
        release.set()
        answers = [await reader.readline() for reader, _ in streams]
        while state.tasks:
            await asyncio.sleep(0.01)
        for _, writer in streams:
            writer.close()
        server.close()
        return answers

    answers = asyncio.run(scenario())
    assert answers == [b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 500 Internal Server Error\r\n"]
    assert guard.answering == 0
