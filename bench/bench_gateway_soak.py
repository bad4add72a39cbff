"""Soak of the event gateway under hostile clients: does a steady signed stream keep flowing, is memory bounded?

Not a test: it prints figures (docs/event-gateway.md, "Under attack", records them with this command)::

    .venv/bin/python bench/bench_gateway_soak.py [--seconds 20] [--rate 100] [--idle 5000] [--slowloris 200]
        [--slow-bodies 100] [--huge 12]

It starts the loopback publisher double and one gateway process (default limits), then runs two phases of
``--seconds`` each with the same open-loop stream of signed 2 KB GitHub deliveries at ``--rate``/s, each on a new
connection like GitHub's (latency measured from the *scheduled* send time: no coordinated omission):

1. **quiet**: the stream alone;
2. **attack**: the stream while unauthenticated clients keep (reconnecting when closed) ``--idle`` connections
   that never send a byte, ``--slowloris`` connections sending one header byte a second, ``--slow-bodies``
   forged deliveries declaring 31 MiB and sending 1 KiB a second, and ``--huge`` forged deliveries that send all
   but the last byte of 31 MiB at once and hold.

Per phase it prints the stream's answers, p50/p99/max, and the gateway's RSS (``VmRSS``, sampled every 0.5 s:
median and max). At the end it waits for the backlog, and counts acknowledged deliveries missing at the publisher
(must be 0), and prints the gateway's rejection counters by reason.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import uvloop

REPO = Path(__file__).resolve().parents[1]
SECRET = "soak-secret"  # noqa: S105 - a throwaway key for loopback traffic
MIB = 1 << 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        return bytes(response.read())


def signed_request(number: int) -> tuple[str, bytes]:
    body = json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "soak/repo"},
                       "pad": "x" * 1900, "n": number}).encode()
    delivery = f"00000000-0000-4000-8000-{number:012d}"
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = (f"POST /webhook HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n"
            f"X-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n")
    return delivery, head.encode() + body


FORGED_HEAD = (
    "POST /webhook HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n"
    "X-GitHub-Delivery: forged\r\nX-Hub-Signature-256: sha256=" + "0" * 64 + f"\r\nContent-Length: {31 * MIB}\r\n\r\n"
).encode()


class Stream:
    """The legitimate open-loop stream: one new connection per delivery, GitHub's 10 s timeout."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.number = 0
        self.accepted: list[str] = []

    async def run(self, rate: float, seconds: float) -> tuple[list[float], collections.Counter[str]]:
        latencies: list[float] = []
        answers: collections.Counter[str] = collections.Counter()
        start = time.perf_counter() + 0.05

        async def one(scheduled: float) -> None:
            self.number += 1
            delivery, request = signed_request(self.number)
            try:
                async with asyncio.timeout(10):
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.write(request)
                    status = (await reader.readuntil(b"\r\n"))[9:12].decode()
                    writer.close()
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - scheduled)
            answers[status] += 1
            if status == "202":
                self.accepted.append(delivery)

        tasks = []
        for index in range(int(rate * seconds)):
            scheduled = start + index / rate
            if (delay := scheduled - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled)))
        await asyncio.gather(*tasks)
        return latencies, answers


class Attackers:
    """Unauthenticated connections of four kinds, each reconnecting when the gateway closes it, until stopped."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = asyncio.Event()
        self.opened: collections.Counter[str] = collections.Counter()
        self.closed_by_server: collections.Counter[str] = collections.Counter()

    async def keep(self, kind: str, count: int) -> None:
        await asyncio.gather(*(self._one(kind) for _ in range(count)))

    async def _one(self, kind: str) -> None:
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            self.opened[kind] += 1
            try:
                await self._behave(kind, reader, writer)
                self.closed_by_server[kind] += 1
            except (OSError, asyncio.IncompleteReadError):
                self.closed_by_server[kind] += 1
            finally:
                writer.close()
            await asyncio.sleep(0.2)  # reconnect, but not in a hot loop

    async def _behave(self, kind: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Returns (or raises) once the server closed the connection; the stop event ends it too."""
        closed = asyncio.create_task(reader.read())
        if kind == "huge":
            writer.write(FORGED_HEAD)
            block = b"x" * MIB
            for _ in range(30):
                writer.write(block)
                await writer.drain()
            writer.write(block[:-1])
            await writer.drain()
        elif kind == "slowloris":
            writer.write(b"POST /webhook HTTP/1.1\r\nHost: gateway\r\n")
        elif kind == "slow-body":
            writer.write(FORGED_HEAD)
        trickle = {"slowloris": b"X-Slow: a\r\n", "slow-body": b"x" * 1024}.get(kind)
        stopped = asyncio.create_task(self.stop.wait())
        try:
            while True:
                done, _ = await asyncio.wait({closed, stopped}, timeout=1.0)
                if done:
                    return
                if trickle is not None:
                    writer.write(trickle)
        finally:
            stopped.cancel()
            closed.cancel()


async def sample_rss(pid: int, stop: asyncio.Event, into: list[float]) -> None:
    while not stop.is_set():
        into.append(rss_mib(pid))
        await asyncio.sleep(0.5)


async def swarm(port: int, attack: dict[str, int], seconds: float) -> None:
    """The attackers' process: keep the swarm up for ``seconds``, then report what happened on stdout."""
    attackers = Attackers(port)
    running = asyncio.gather(*(attackers.keep(kind, count) for kind, count in attack.items() if count))
    await asyncio.sleep(seconds)
    attackers.stop.set()
    await running
    print(json.dumps({"opened": attackers.opened, "closed": attackers.closed_by_server}), flush=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def phase(name: str, stream: Stream, pid: int, rate: float, seconds: float,
                attack: dict[str, int] | None, port: int) -> None:
    stop = asyncio.Event()
    rss: list[float] = []
    sampler = asyncio.create_task(sample_rss(pid, stop, rss))
    attackers = None
    if attack:  # a process of its own, so the measured stream does not share its event loop with the swarm
        attackers = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--swarm", json.dumps({"port": port, "attack": attack, "seconds": seconds + 4}),
            stdout=asyncio.subprocess.PIPE)
        await asyncio.sleep(3)  # let the swarm build up before the measured stream starts
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    latencies, answers = await stream.run(rate, seconds)
    cpu = (cpu_seconds(pid) - cpu0) / (time.perf_counter() - wall0)
    stop.set()
    report = json.loads((await attackers.communicate())[0]) if attackers is not None else None
    await sampler
    ordered = sorted(latencies)

    def q(f: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * f))] * 1000

    print(f"{name}: {rate:g} signed deliveries/s for {seconds:g} s, one new connection each")
    print(f"  answers {dict(answers)}; p50 {q(.5):.1f} ms, p99 {q(.99):.1f} ms, max {q(1.0):.1f} ms")
    print(f"  gateway RSS median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB; gateway CPU "
          f"{100 * cpu:.0f}% of one core; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if report is not None:
        print(f"  hostile connections opened {report['opened']}; closed by the gateway {report['closed']}")


def rejections(base: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in get(f"{base}/metrics").decode().splitlines():
        if line.startswith("event_gateway_deliveries_rejected_total{"):
            out[line.split('reason="', 1)[1].split('"', 1)[0]] = float(line.rsplit(" ", 1)[1])
    return out


def main() -> None:
    if sys.argv[1:2] == ["--swarm"]:
        options = json.loads(sys.argv[2])
        uvloop.run(swarm(options["port"], options["attack"], options["seconds"]))
        return
    parser = argparse.ArgumentParser(description="event gateway soak under hostile clients")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--slowloris", type=int, default=200)
    parser.add_argument("--slow-bodies", type=int, default=100)
    parser.add_argument("--huge", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gw-soak-", dir=os.environ.get("BENCH_DIR")) as tmp:
        pub_port, gw_port = free_port(), free_port()
        publisher = subprocess.Popen(
            [sys.executable, "-m", "devtools.doubles.publisher", "--port", str(pub_port)], cwd=REPO)
        env = {**os.environ, "GATEWAY_SOLUTION": "github", "GATEWAY_APPLICATION": "soak",
               "GATEWAY_WEBHOOK_SECRETS": SECRET, "GATEWAY_PUBLISHER_URL": f"http://127.0.0.1:{pub_port}",
               "GATEWAY_SPOOL_DIR": f"{tmp}/spool", "GATEWAY_PORT": str(gw_port), "GATEWAY_HOST": "127.0.0.1",
               "GATEWAY_LOG_LEVEL": "error"}
        gateway = subprocess.Popen([sys.executable, "-m", "kyma_connectors.gateway"], cwd=REPO, env=env)
        base = f"http://127.0.0.1:{gw_port}"
        try:
            for url in (f"http://127.0.0.1:{pub_port}/events", f"{base}/healthz"):
                deadline = time.time() + 20
                while True:
                    try:
                        get(url)
                        break
                    except OSError:
                        if time.time() > deadline:
                            raise
                        time.sleep(0.1)
            stream = Stream(gw_port)
            attack = {"idle": args.idle, "slowloris": args.slowloris, "slow-body": args.slow_bodies,
                      "huge": args.huge}
            print(f"gateway RSS at start {rss_mib(gateway.pid):.1f} MiB")
            uvloop.run(phase("quiet", stream, gateway.pid, args.rate, args.seconds, None, gw_port))
            uvloop.run(phase("attack " + ", ".join(f"{n} {k}" for k, n in attack.items()), stream, gateway.pid,
                             args.rate, args.seconds, attack, gw_port))
            deadline = time.time() + 60
            while json.loads(get(f"{base}/readyz")).get("backlog") != 0 and time.time() < deadline:
                time.sleep(0.2)
            published = {event["id"] for event in json.loads(get(f"http://127.0.0.1:{pub_port}/events"))}
            lost = len(set(stream.accepted) - published)
            print(f"acknowledged {len(stream.accepted):,}, published {len(published):,}, lost acknowledged: {lost}")
            print(f"gateway rejections by reason: {rejections(base)}")
        finally:
            gateway.terminate()
            publisher.terminate()
            gateway.wait(30)
            publisher.wait(30)


if __name__ == "__main__":
    main()
