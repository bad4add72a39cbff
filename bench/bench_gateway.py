"""Benchmark of the event gateway: throughput, latency, CPU and RSS for 2 KB signed GitHub deliveries, spool on.

Not a test: it prints figures (bench/README.md records them with this command)::

    .venv/bin/python bench/bench_gateway.py [--seconds 10] [--connections 64] [--rate 1000]

It starts the loopback publisher double and one gateway process (spool in a temporary directory on the local disk,
every 2xx after fdatasync), then runs, from this process, (1) a closed-loop phase with ``--connections`` keep-alive
connections for the maximum accepted deliveries/s, and (2) an open-loop phase at ``--rate`` deliveries/s whose
latencies are measured from each request's *scheduled* send time (no coordinated omission); it starts once the
backlog of phase 1 is published, so it measures the steady state. It ends by waiting until the publisher has every
event and checks that none was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvloop

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"  # noqa: S105 - a throwaway key for loopback traffic
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def payload(size: int = 2048) -> bytes:
    """A push-like GitHub payload padded to ``size`` bytes."""
    document = {"ref": "refs/heads/main", "before": "0" * 40, "after": "1" * 40,
                "repository": {"full_name": "bench/repo", "id": 1}, "commits": [], "pad": ""}
    document["pad"] = "x" * (size - len(json.dumps(document).encode()))
    return json.dumps(document).encode()


def requests(body: bytes) -> Iterator[tuple[str, bytes]]:
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    number = 0
    while True:
        number += 1
        delivery = f"00000000-0000-4000-8000-{number:012d}"
        head = (
            f"POST /webhook HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n"
            f"X-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        yield delivery, head.encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def roundtrip(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return int(head[9:12])


async def connect(port: int, count: int) -> list[Connection]:
    return [Connection(*await asyncio.open_connection("127.0.0.1", port)) for _ in range(count)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_kib(pid: int) -> tuple[int, int]:
    values = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(values["VmRSS"].split()[0]), int(values["VmHWM"].split()[0])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000 if ordered else float("nan")


async def closed_loop(port: int, gen: Iterator[tuple[str, bytes]], connections: int, seconds: float,
                      accepted: list[str]) -> tuple[float, list[float]]:
    pool = await connect(port, connections)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            delivery, request = next(gen)
            started = time.perf_counter()
            status = await conn.roundtrip(request)
            latencies.append(time.perf_counter() - started)
            if status == 202:
                accepted.append(delivery)

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in pool))
    elapsed = time.perf_counter() - started
    for conn in pool:
        conn.writer.close()
    return elapsed, latencies


async def open_loop(port: int, gen: Iterator[tuple[str, bytes]], rate: float, seconds: float,
                    accepted: list[str]) -> list[float]:
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for conn in await connect(port, 64):
        pool.put_nowait(conn)
    latencies: list[float] = []
    start = time.perf_counter() + 0.1

    async def one(scheduled: float) -> None:
        delivery, request = next(gen)
        conn = await pool.get()
        status = await conn.roundtrip(request)
        latencies.append(time.perf_counter() - scheduled)
        pool.put_nowait(conn)
        if status == 202:
            accepted.append(delivery)

    tasks = []
    total = int(rate * seconds)
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().writer.close()
    return latencies


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def handling_buckets(base: str) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) pairs of the gateway's own request-to-ack histogram."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:  # noqa: S310 - loopback only
        text = response.read().decode()
    buckets = []
    for line in text.splitlines():
        if line.startswith("event_gateway_delivery_handling_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), float(line.rsplit(" ", 1)[1])))
    return buckets


def server_quantile(before: list[tuple[float, float]], after: list[tuple[float, float]], q: float) -> str:
    """The bucket bound under which fraction ``q`` of the phase's requests were acknowledged (gateway-side)."""
    delta = [(bound, a - b) for (bound, a), (_, b) in zip(after, before, strict=True)]
    total = delta[-1][1] if delta else 0
    for bound, count in delta:
        if total and count >= q * total:
            return f"<= {bound * 1000:g} ms"
    return "n/a"


def wait_drained(base: str) -> float:
    """Seconds until the gateway's spool backlog is empty."""
    started = time.perf_counter()
    while True:
        ready = get_json(f"{base}/readyz")
        if isinstance(ready, dict) and ready.get("backlog") == 0:
            return time.perf_counter() - started
        time.sleep(0.1)


def wait_ready(url: str, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            get_json(url)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"not ready: {url}")


@dataclass(frozen=True)
class Running:
    """The loopback publisher double and one gateway process, as :func:`running` started them."""

    publisher: subprocess.Popen[bytes]
    gateway: subprocess.Popen[bytes]
    publisher_port: int
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def running(application: str, secret: str, log_level: str) -> Iterator[Running]:
    """The publisher double and a gateway (spool in a temporary directory, ``BENCH_DIR`` if set), both answering;
    stopped (by their own pids) on exit."""
    with tempfile.TemporaryDirectory(prefix="gw-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
        pub_port, gw_port = free_port(), free_port()
        publisher = subprocess.Popen(
            [sys.executable, "-m", "devtools.doubles.publisher", "--port", str(pub_port)], cwd=REPO)
        env = {**os.environ, "GATEWAY_SOLUTION": "github", "GATEWAY_APPLICATION": application,
               "GATEWAY_WEBHOOK_SECRETS": secret, "GATEWAY_PUBLISHER_URL": f"http://127.0.0.1:{pub_port}",
               "GATEWAY_SPOOL_DIR": f"{tmp}/spool", "GATEWAY_PORT": str(gw_port), "GATEWAY_HOST": "127.0.0.1",
               "GATEWAY_LOG_LEVEL": log_level}
        gateway = subprocess.Popen([sys.executable, "-m", "kyma_connectors.gateway"], cwd=REPO, env=env)
        try:
            wait_ready(f"http://127.0.0.1:{pub_port}/events")
            wait_ready(f"http://127.0.0.1:{gw_port}/healthz")
            yield Running(publisher, gateway, pub_port, gw_port)
        finally:
            gateway.terminate()
            publisher.terminate()
            gateway.wait(30)
            publisher.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description="event gateway benchmark")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=1000.0)
    args = parser.parse_args()
    body = payload()
    gen = requests(body)
    with running("bench", SECRET, "warning") as procs:
        gateway, publisher, pub_port, gw_port = procs.gateway, procs.publisher, procs.publisher_port, procs.port
        accepted: list[str] = []
        base = f"http://127.0.0.1:{gw_port}"
        hist0 = handling_buckets(base)
        cpu0, wall0 = cpu_seconds(gateway.pid), time.perf_counter()
        others0 = cpu_seconds(publisher.pid), time.process_time()
        elapsed, closed = uvloop.run(closed_loop(gw_port, gen, args.connections, args.seconds, accepted))
        cpu1, wall1 = cpu_seconds(gateway.pid), time.perf_counter()
        others1 = cpu_seconds(publisher.pid), time.process_time()
        rss, _ = memory_kib(gateway.pid)
        print(f"closed loop: {args.connections} connections, {args.seconds:.0f} s, {len(body)} B signed payloads")
        print(f"  accepted {len(closed) / elapsed:,.0f} deliveries/s; p50 {percentile(closed, .5):.2f} ms, "
              f"p99 {percentile(closed, .99):.2f} ms; gateway CPU {100 * (cpu1 - cpu0) / (wall1 - wall0):.0f}%"
              f" of one core; RSS {rss / 1024:.1f} MiB")
        hist1 = handling_buckets(base)
        print(f"  gateway-side request-to-ack: p50 {server_quantile(hist0, hist1, .5)}, "
              f"p99 {server_quantile(hist0, hist1, .99)}")
        print(f"  (same machine: publisher double CPU {100 * (others1[0] - others0[0]) / (wall1 - wall0):.0f}%,"
              f" load generator CPU {100 * (others1[1] - others0[1]) / (wall1 - wall0):.0f}%;"
              f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        drained = wait_drained(base)
        cpu2 = cpu_seconds(gateway.pid)
        print(f"  backlog published {drained:.1f} s after the closed loop ended (the open loop starts after it);"
              f" gateway CPU per delivery, receive + spool + publish: {1e6 * (cpu2 - cpu0) / len(closed):.0f} us")
        hist1 = handling_buckets(base)
        cpu0, wall0 = cpu_seconds(gateway.pid), time.perf_counter()
        fixed = uvloop.run(open_loop(gw_port, gen, args.rate, args.seconds, accepted))
        cpu1, wall1 = cpu_seconds(gateway.pid), time.perf_counter()
        rss, _ = memory_kib(gateway.pid)
        hist2 = handling_buckets(base)
        print(f"open loop: {args.rate:,.0f} deliveries/s for {args.seconds:.0f} s")
        print(f"  p50 {percentile(fixed, .5):.2f} ms, p99 {percentile(fixed, .99):.2f} ms, "
              f"max {percentile(fixed, 1.0):.2f} ms; gateway CPU {100 * (cpu1 - cpu0) / (wall1 - wall0):.0f}%;"
              f" RSS {rss / 1024:.1f} MiB")
        print(f"  gateway-side request-to-ack: p50 {server_quantile(hist1, hist2, .5)}, "
              f"p99 {server_quantile(hist1, hist2, .99)}; load average {os.getloadavg()[0]:.1f}")
        drained = wait_drained(base)
        received = get_json(f"http://127.0.0.1:{pub_port}/events")
        ids = {event["id"] for event in received} if isinstance(received, list) else set()
        missing = len(set(accepted) - ids)
        _, peak = memory_kib(gateway.pid)
        print(f"drain: backlog empty {drained:.1f} s after the load ended; "
              f"{len(accepted):,} accepted, {len(ids):,} distinct published, {missing} missing; peak RSS "
              f"{peak / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
