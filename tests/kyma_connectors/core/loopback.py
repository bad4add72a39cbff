"""Real loopback HTTP servers for the core client's tests: one that follows a script, one that loses answers.

Why real servers: what is at stake is whether a request *reached* a server and how often, which only a socket can
show -- a read timeout, a dropped connection and a refused port are different failures at the TCP level, and a mocked
client cannot tell them apart.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import requests


class QuietServer(ThreadingHTTPServer):
    """Clients that timed out or were dropped on purpose reset their connections: not an error worth printing."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class Answer:
    """One scripted reaction: answer ``status`` with ``headers``, or ``drop`` the connection, after ``delay`` s."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'
    drop: bool = False
    delay: float = 0.0


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Loopback:
    """A threaded HTTP/1.1 server on 127.0.0.1 handing every request, whatever its method, to :meth:`serve`."""

    def __init__(self, port: int = 0) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_one_request(self) -> None:
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline or not self.parse_request():
                    self.close_connection = True
                    return
                outer.serve(self)

        self.server = QuietServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class ScriptedServer(Loopback):
    """Answers requests from a script (then 200); records every request it received, in order."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.script: list[Answer] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def answer(self, *answers: Answer) -> None:
        with self._lock:
            self.script.extend(answers)

    def methods(self) -> list[str]:
        with self._lock:
            return [seen.method for seen in self.seen]

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self._lock:
            self.seen.append(Seen(handler.command, handler.path, dict(handler.headers.items()), body))
            answer = self.script.pop(0) if self.script else Answer()
        time.sleep(answer.delay)
        if answer.drop:  # the request arrived and was read; the answer never leaves
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        reply(handler, answer.status, answer.body, answer.headers)


class LossyProxy(Loopback):
    """Forwards to ``upstream`` and, ``lose`` times, replaces the upstream's answer by a 502 *after* it acted.

    That is the failure that makes a repeated POST dangerous: a gateway or load balancer times out or fails while the
    API behind it has already created the object.
    """

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.lose = 0
        self._session = requests.Session()

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        skip = {"host", "content-length", "connection"}
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in skip}
        upstream = self._session.request(
            handler.command, self.upstream + handler.path, data=body, headers=headers, timeout=5
        )
        status, payload = upstream.status_code, upstream.content
        if self.lose > 0:
            self.lose -= 1
            status, payload = 502, b'{"message": "Bad Gateway"}'
        reply(handler, status, payload)


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    """A JSON answer; none of it reaches a client that already gave up (timed out) and reset the connection."""
    with contextlib.suppress(OSError):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":  # RFC 9110 9.3.2: the length is announced, the body is not sent
            handler.wfile.write(body)


@dataclass
class FakeClock:
    """Time that only moves when the client sleeps; ``on_sleep`` lets a test change the world meanwhile."""

    at: float = 1000.0
    slept: list[float] = field(default_factory=list)
    on_sleep: Callable[[int], None] | None = None

    def now(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.slept))


def free_port() -> int:
    """A loopback port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scripted(*answers: Answer) -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        server.answer(*answers)
        yield server
