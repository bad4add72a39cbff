"""Unauthenticated clients that try to starve a running gateway: idle and slowloris connections, huge slow bodies.

Each test runs a real gateway process on loopback and measures what matters from outside: whether a signed
delivery still gets its 202 promptly, whether hostile connections get closed, and the process's resident memory
(``VmRSS`` from /proc) while they are held open.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kyma_connectors.gateway.conftest import GatewayFactory
from tests.kyma_connectors.gateway.harness import Gateway, github_headers, wait_until
from tests.support.paths import GITHUB_PAYLOADS

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]
SECRET = "test-secret"
PUSH = (GITHUB_PAYLOADS / "push" / "payload.json").read_bytes()
MIB = 1 << 20


def rss_mib(gateway: Gateway) -> float:
    assert gateway.proc is not None
    for line in Path(f"/proc/{gateway.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def prompt_delivery(gateway: Gateway, delivery: str) -> float:
    """Seconds a signed delivery took to get its 202 (asserted)."""
    started = time.monotonic()
    answer = gateway.post(PUSH, github_headers(SECRET, PUSH, "push", delivery), timeout=10)
    assert answer.status_code == 202, answer.text
    return time.monotonic() - started


def closed_by_server(sock: socket.socket, timeout: float) -> bytes | None:
    """What the server sent before closing ``sock`` within ``timeout`` s; ``None`` if it is still open."""
    sock.settimeout(timeout)
    received = b""
    try:
        while data := sock.recv(65536):
            received += data
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


@contextlib.contextmanager
def connections(gateway: Gateway, count: int) -> Iterator[list[socket.socket]]:
    opened = [socket.create_connection(("127.0.0.1", gateway.port), timeout=5) for _ in range(count)]
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def test_idle_connections_are_reaped_and_never_crowd_out_a_sender(gateway_factory: GatewayFactory) -> None:
    """Three times the connection limit of idle connections (not one byte sent): a signed delivery still gets its
    202 promptly (the longest-idle connections make room), and the idle ones are closed after the idle timeout."""
    gateway = gateway_factory(GATEWAY_MAX_CONNECTIONS="100", GATEWAY_IDLE_TIMEOUT_SECONDS="2")
    with connections(gateway, 300) as idle:
        time.sleep(0.3)
        assert prompt_delivery(gateway, "among-idle") < 2
        time.sleep(3)
        still_open = [sock for sock in idle if closed_by_server(sock, 0.01) is None]
        assert not still_open, f"{len(still_open)} idle connections still open"


def test_slow_headers_get_408_after_the_header_timeout(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(GATEWAY_HEADER_TIMEOUT_SECONDS="2")
    with connections(gateway, 1) as (sock,):
        started = time.monotonic()
        answer = None
        for byte in b"POST /webhook HTTP/1.1\r\nHost: gw\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.2)
            if time.monotonic() - started > 6:
                break
        answer = closed_by_server(sock, 2)
        assert answer is not None
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 5


def test_slow_body_gets_408_after_the_body_timeout(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(GATEWAY_BODY_TIMEOUT_SECONDS="2")
    headers = github_headers(SECRET, PUSH, "push", "slow-body")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with connections(gateway, 1) as (sock,):
        sock.sendall(f"POST /webhook HTTP/1.1\r\nHost: gw\r\nContent-Length: {len(PUSH)}\r\n{head}\r\n".encode())
        started = time.monotonic()
        sock.sendall(PUSH[:10])
        answer = closed_by_server(sock, 5)
        assert answer is not None
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert 1.5 < time.monotonic() - started < 4.5
    assert prompt_delivery(gateway, "after-slow-body") < 2


def test_huge_slow_unsigned_bodies_do_not_grow_memory(gateway_factory: GatewayFactory) -> None:
    """12 clients each send all but the last byte of a 31 MiB body with a forged signature and hold it: the gateway's
    RSS stays flat (bodies this large go to the spool volume, not memory) and signed deliveries still flow."""
    gateway = gateway_factory(GATEWAY_BODY_TIMEOUT_SECONDS="60", GATEWAY_BODY_SPILL_BYTES=str(512 * MIB))
    prompt_delivery(gateway, "warm-up")
    before = rss_mib(gateway)
    size = 31 * MIB
    forged = github_headers(SECRET, b"something else", "push", "forged")
    head = "".join(f"{k}: {v}\r\n" for k, v in forged.items())
    request = f"POST /webhook HTTP/1.1\r\nHost: gw\r\nContent-Length: {size}\r\n{head}\r\n".encode()
    block = b"x" * MIB
    with connections(gateway, 12) as senders:
        for sock in senders:
            sock.sendall(request)
            for _ in range(30):
                sock.sendall(block)
            sock.sendall(block[:-1])
        time.sleep(0.5)
        grown = rss_mib(gateway) - before
        assert grown < 48, f"RSS grew by {grown:.0f} MiB with 12 slow 31 MiB bodies held open"
        assert prompt_delivery(gateway, "among-huge") < 2
        for sock in senders:
            sock.sendall(b"}")
        answers = [closed_by_server(sock, 10) or b"" for sock in senders]
    assert all(answer.startswith(b"HTTP/1.1 401") for answer in answers), [a[:40] for a in answers]
    wait_until(lambda: not list((gateway.spool / "incoming").glob("*")), 5, "no spilled bodies left behind")


def test_spill_budget_refuses_with_503_and_recovers(gateway_factory: GatewayFactory) -> None:
    """Bodies beyond the spill budget are refused with 503 + Retry-After as they arrive (not after being read);
    once the senders are gone the budget is whole again and a large signed delivery is accepted."""
    gateway = gateway_factory(GATEWAY_BODY_SPILL_BYTES=str(40 * MIB), GATEWAY_BODY_TIMEOUT_SECONDS="60")
    size = 31 * MIB
    forged = github_headers(SECRET, b"something else", "push", "forged")
    head = "".join(f"{k}: {v}\r\n" for k, v in forged.items())
    request = f"POST /webhook HTTP/1.1\r\nHost: gw\r\nContent-Length: {size}\r\n{head}\r\n".encode()
    with connections(gateway, 2) as (first, second):
        first.sendall(request + b"x" * (size - 1))
        second.sendall(request)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(31):
                second.sendall(b"x" * MIB)
        refused = closed_by_server(second, 5)
        assert refused is not None
        assert refused.startswith(b"HTTP/1.1 503"), refused
        assert b"retry-after: 10" in refused.lower()
        assert prompt_delivery(gateway, "small-among-large") < 2
    commit = b'{"id": "%s", "message": "%s"}' % (b"0" * 40, b"y" * 1000)
    big = b'{"ref": "refs/heads/main", "commits": [' + b",".join([commit] * 20_000) + b"]}"  # 20 MB, trimmable
    answer = gateway.post(big, github_headers(SECRET, big, "push", "large-after"), timeout=30)
    assert answer.status_code == 202, answer.text
