"""Benchmark of the event gateway's cost per delivery: CPU, latency and memory at 100/s, 1,000/s and saturation.

Not a test: it prints figures (bench/README.md records them with this command)::

    .venv/bin/python bench/bench_gateway.py [--seconds 10] [--rounds 3] [--baseline REF] [--profile DIR]

The same setup for every variant, so that the figures compare:

- the gateway (``python -m kyma_connectors.gateway`` with the environment its Deployment gives it, the spool on the
  local disk, every 2xx after the group commit's ``fdatasync``) pinned to one core (``--core``);
- the sink: a minimal HTTP server that answers every ``POST /publish`` with 204 and records its ``ce-id`` -- the
  publisher proxy's contract at the HTTP level and nothing more, so that its own cost stays out of the way. It runs
  with the load generator on the other cores;
- the load: GitHub's push payload from ``../shared/github/payloads/push/payload.json``, minified (6,496 bytes, what
  GitHub sends), signed with HMAC-SHA256, each delivery with its own ``X-GitHub-Delivery``.

Each round starts a fresh gateway and measures its idle RSS, then an open loop at each of ``--rates`` (latency taken
from each request's *scheduled* send time, so a stall counts against the gateway: no coordinated omission), then a
closed loop on ``--connections`` keep-alive connections (the maximum). CPU per delivery is the gateway's user +
system time from the start of a phase until the sink holds every delivery accepted so far, over the phase's
deliveries: receiving, spooling and publishing, and the idle work in between. Every phase checks that each accepted
delivery reached the sink.

It first prints what idling costs on the gateway's core: the CPU of the same small piece of gateway-like work run
back to back, every 1 ms and every 10 ms (caches and predictors go cold while a core idles; on a VM more so), which
is why the CPU per delivery at 100/s or 1,000/s is not the CPU per delivery at saturation.

``--baseline REF`` runs the same rounds on the gateway of a git ref (checked out into a temporary worktree),
alternating the order with the working tree's, so the ratios between them are what to read. ``--profile DIR`` adds a
round of the working tree under py-spy, one profile per phase (collapsed stacks, and a summary of where the
CPU goes by code area).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httptools
import uvloop

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KC_SHARED", REPO.parent / "shared"))
PUSH = SHARED / "github" / "payloads" / "push" / "payload.json"
SECRET = "bench-secret"  # noqa: S105 - a throwaway key for loopback traffic
SATURATION = "saturation"


# --- the sink ---------------------------------------------------------------------------------------------------
class _SinkProtocol(asyncio.Protocol):
    """``POST /publish`` -> 204, recording ``ce-id``; ``GET /count`` -> how many distinct ids; ``GET /ids``."""

    def __init__(self, ids: set[bytes]) -> None:
        self.ids = ids
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.ce_id = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"ce-id":
            self.ce_id = value

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if self.url == b"/publish":
            if self.ce_id:
                self.ids.add(self.ce_id)
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        else:
            body = b"\n".join(self.ids) if self.url == b"/ids" else str(len(self.ids)).encode()
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        self.url, self.ce_id = b"", b""


async def _serve_sink(port: int) -> None:
    ids: set[bytes] = set()
    server = await asyncio.get_running_loop().create_server(lambda: _SinkProtocol(ids), "127.0.0.1", port,
                                                            backlog=1024)
    async with server:
        await server.serve_forever()


# --- the load generator -----------------------------------------------------------------------------------------
def push_body() -> bytes:
    return json.dumps(json.loads(PUSH.read_bytes()), separators=(",", ":")).encode()


def requests(body: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Signed push deliveries, each with its own delivery id."""
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    number = 0
    while True:
        number += 1
        delivery = f"00000000-0000-4000-8000-{number:012d}"
        head = (
            f"POST /webhook HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nUser-Agent: "
            f"GitHub-Hookshot/bench\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: {delivery}\r\nX-GitHub-Hook-ID: 1\r\n"
            f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        yield delivery.encode(), head.encode() + body


class _Client(asyncio.Protocol):
    """One keep-alive connection, one request at a time; responses parsed by httptools."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("gateway closed the connection"))

    def send(self, request: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter


async def _connect(port: int, count: int) -> list[_Client]:
    loop = asyncio.get_running_loop()
    return [(await loop.create_connection(_Client, "127.0.0.1", port))[1] for _ in range(count)]


@dataclass
class Load:
    """What one phase of load saw from the client side."""

    latencies: list[float] = field(default_factory=list)
    accepted: list[bytes] = field(default_factory=list)
    refused: int = 0
    seconds: float = 0.0


async def open_loop(port: int, gen: Iterator[tuple[bytes, bytes]], rate: float, seconds: float) -> Load:
    """``rate`` deliveries/s on up to 64 connections; a request finds a free connection or waits for one."""
    loop = asyncio.get_running_loop()
    idle = collections.deque(await _connect(port, 64))
    waiting: collections.deque[tuple[float, bytes, bytes]] = collections.deque()
    load, total = Load(), int(rate * seconds)
    finished = loop.create_future()

    def fire(conn: _Client, scheduled: float, delivery: bytes, request: bytes) -> None:
        conn.send(request).add_done_callback(lambda answer: done(conn, scheduled, delivery, answer))

    def done(conn: _Client, scheduled: float, delivery: bytes, answer: asyncio.Future[int]) -> None:
        load.latencies.append(time.perf_counter() - scheduled)
        if not answer.exception() and answer.result() == 202:
            load.accepted.append(delivery)
        else:
            load.refused += 1
        if waiting:
            fire(conn, *waiting.popleft())
        else:
            idle.append(conn)
        if len(load.latencies) == total and not finished.done():
            finished.set_result(None)

    start = time.perf_counter() + 0.05
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        delivery, request = next(gen)
        if idle:
            fire(idle.popleft(), scheduled, delivery, request)
        else:
            waiting.append((scheduled, delivery, request))
    await finished
    load.seconds = time.perf_counter() - start
    for conn in idle:
        assert conn.transport is not None
        conn.transport.close()
    return load


async def closed_loop(port: int, gen: Iterator[tuple[bytes, bytes]], connections: int, seconds: float) -> Load:
    """``connections`` senders, each sending its next delivery as soon as the previous one is answered."""
    pool = await _connect(port, connections)
    load = Load()
    deadline = time.perf_counter() + seconds

    async def sender(conn: _Client) -> None:
        while time.perf_counter() < deadline:
            delivery, request = next(gen)
            started = time.perf_counter()
            status = await conn.send(request)
            load.latencies.append(time.perf_counter() - started)
            if status == 202:
                load.accepted.append(delivery)
            else:
                load.refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender(conn) for conn in pool))
    load.seconds = time.perf_counter() - started
    for conn in pool:
        assert conn.transport is not None
        conn.transport.close()
    return load


# --- the machine --------------------------------------------------------------------------------------------------
PENALTY_GAPS = (0.0, 0.001, 0.01)


def _penalty_probe(gaps: tuple[float, ...]) -> list[float]:
    """CPU microseconds of the same small piece of gateway-like work (parse and sign the push payload, build a dict)
    run back to back and with sleeps between: what the core loses in caches and predictors while it idles."""
    import orjson  # only the probe needs it here

    body = push_body()

    def work() -> None:
        for _ in range(3):
            orjson.loads(body)
            hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            sorted({f"k{i}": str(i) for i in range(50)})

    costs = []
    for gap in gaps:
        count = 2000 if gap < 0.005 else 300
        start = time.thread_time()
        for _ in range(count):
            work()
            if gap:
                time.sleep(gap)
        costs.append(1e6 * (time.thread_time() - start) / count)
    return costs


# --- processes and readings ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a process, all its threads, to the nanosecond (the scheduler's run time; ``stat``'s user and
    system ticks are 10 ms apart, see :func:`_ticks`)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def _ticks(pid: int) -> tuple[int, int]:
    """User and system clock ticks of a process: the kernel's share of its CPU."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory."""
    values = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(values["VmRSS"].split()[0]) / 1024, int(values["VmHWM"].split()[0]) / 1024


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        return bytes(response.read())


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.suppress(OSError):
            get(url)
            return
        time.sleep(0.05)
    raise SystemExit(f"not ready: {url}")


def wait_published(sink: str, expected: int, timeout: float = 120) -> float:
    """Seconds until the sink holds ``expected`` distinct ids (polled from the other cores: no gateway CPU)."""
    started = time.perf_counter()
    while int(get(f"{sink}/count")) < expected:
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"the sink has {int(get(f'{sink}/count'))} of {expected} deliveries after {timeout} s")
        time.sleep(0.01)
    return time.perf_counter() - started


def handling_buckets(base: str) -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) pairs of the gateway's own request-to-ack histogram."""
    buckets = []
    for line in get(f"{base}/metrics").decode().splitlines():
        if line.startswith("event_gateway_delivery_handling_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), float(line.rsplit(" ", 1)[1])))
    return buckets


def server_quantile(before: list[tuple[float, float]], after: list[tuple[float, float]], q: float) -> float:
    """The histogram bucket bound (ms) under which fraction ``q`` of the phase's requests were acknowledged."""
    delta = [(bound, a - b) for (bound, a), (_, b) in zip(after, before, strict=True)]
    total = delta[-1][1] if delta else 0
    return next((bound * 1000 for bound, count in delta if total and count >= q * total), float("nan"))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000 if ordered else float("nan")


def pinned(cores: set[int]) -> dict[str, object]:
    return {"preexec_fn": lambda: os.sched_setaffinity(0, cores)}


@dataclass(frozen=True)
class Variant:
    """A gateway to measure: the working tree, or a git ref's worktree."""

    label: str
    root: Path


@contextlib.contextmanager
def gateway(variant: Variant, core: int, sink_port: int) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """One gateway process of ``variant``, pinned to ``core``, answering; stopped on exit."""
    with tempfile.TemporaryDirectory(prefix="gw-bench-", dir=os.environ.get("BENCH_DIR")) as tmp:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(variant.root), "GATEWAY_SOLUTION": "github",
               "GATEWAY_APPLICATION": "bench", "GATEWAY_WEBHOOK_SECRETS": SECRET,
               "GATEWAY_PUBLISHER_URL": f"http://127.0.0.1:{sink_port}", "GATEWAY_SPOOL_DIR": f"{tmp}/spool",
               "GATEWAY_PORT": str(port), "GATEWAY_HOST": "127.0.0.1",
               **image_env(variant.root)}
        log = open(f"{tmp}/gateway.log", "wb")  # noqa: SIM115 - closed below, after the process
        process = subprocess.Popen([sys.executable, "-m", "kyma_connectors.gateway"], cwd=variant.root, env=env,
                                   stderr=log, **pinned({core}))  # type: ignore[call-overload]
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(f"{base}/healthz")
            yield process, base
        except BaseException:
            sys.stderr.write(Path(f"{tmp}/gateway.log").read_text()[-4000:])
            raise
        finally:
            process.terminate()
            process.wait(30)
            log.close()


def image_env(root: Path) -> dict[str, str]:
    """The ``ENV`` lines of the gateway's Dockerfile that tune the runtime: the process here runs as in its pod."""
    env: dict[str, str] = {}
    dockerfile = root / "images" / "gateway" / "Dockerfile"
    text = dockerfile.read_text().replace("\\\n", " ") if dockerfile.exists() else ""
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["ENV"]:
            env |= dict(word.split("=", 1) for word in words[1:] if "=" in word and word.split("=")[0].isupper())
    return {k: v for k, v in env.items() if k.startswith(("MALLOC_", "PYTHON"))}


@dataclass
class Phase:
    """One phase's figures."""

    deliveries: int = 0
    per_second: float = 0.0
    cpu_us: float = 0.0
    sys_share: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    server_p50: float = 0.0
    server_p99: float = 0.0
    rss: float = 0.0
    refused: int = 0
    missing: int = 0
    load_average: float = 0.0


@dataclass
class Round:
    idle_rss: float = 0.0
    peak_rss: float = 0.0
    phases: dict[str, Phase] = field(default_factory=dict)


def run_round(variant: Variant, args: argparse.Namespace, sink_port: int, gen: Iterator[tuple[bytes, bytes]],
              profile_dir: Path | None = None) -> Round:
    sink = f"http://127.0.0.1:{sink_port}"
    result = Round()
    with gateway(variant, args.core, sink_port) as (process, base):
        time.sleep(1.0)
        result.idle_rss = memory_mib(process.pid)[0]
        accepted_total = int(get(f"{sink}/count"))
        plan: list[tuple[str, float | None]] = [(f"{rate:g}/s", rate) for rate in args.rates]
        plan.append((SATURATION, None))
        for label, rate in plan:
            profiler = _profile(process.pid, args.seconds, profile_dir, f"{variant.label}-{label}")
            hist0 = handling_buckets(base)
            cpu0 = cpu_seconds(process.pid)
            ticks0 = _ticks(process.pid)
            if rate is None:
                load = uvloop.run(closed_loop(int(base.rsplit(":", 1)[1]), gen, args.connections, args.seconds))
            else:
                load = uvloop.run(open_loop(int(base.rsplit(":", 1)[1]), gen, rate, args.seconds))
            accepted_total += len(load.accepted)
            wait_published(sink, accepted_total)
            cpu1 = cpu_seconds(process.pid)
            ticks1 = _ticks(process.pid)
            hist1 = handling_buckets(base)
            published = set(get(f"{sink}/ids").split(b"\n"))
            cpu = cpu1 - cpu0
            user_ticks, sys_ticks = ticks1[0] - ticks0[0], ticks1[1] - ticks0[1]
            kernel = sys_ticks / (user_ticks + sys_ticks) if user_ticks + sys_ticks else 0.0
            result.phases[label] = Phase(
                deliveries=len(load.accepted), per_second=len(load.accepted) / load.seconds,
                cpu_us=1e6 * cpu / max(1, len(load.accepted)), sys_share=kernel,
                p50=percentile(load.latencies, 0.5), p99=percentile(load.latencies, 0.99),
                server_p50=server_quantile(hist0, hist1, 0.5), server_p99=server_quantile(hist0, hist1, 0.99),
                rss=memory_mib(process.pid)[0], refused=load.refused,
                missing=len(set(load.accepted) - published), load_average=os.getloadavg()[0],
            )
            if profiler is not None:
                profiler.wait(args.seconds + 30)
        result.peak_rss = memory_mib(process.pid)[1]
    return result


def _profile(pid: int, seconds: float, directory: Path | None, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy on the gateway for one phase (sampling from the other cores), collapsed stacks to ``directory``."""
    if directory is None:
        return None
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--rate", "200", "--duration", str(int(seconds)), "--format", "raw",
         "--nonblocking", "--output", str(directory / f"{name.replace('/', '-per-')}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


AREAS: tuple[tuple[str, str], ...] = (
    ("spool.py", "spool: append, group commit, read, ack"), ("records.py", "spool: record encoding"),
    ("segments.py", "spool: segment files"), ("dedup.py", "spool: dedup"),
    ("deliveries.py", "verify + map (HMAC, JSON)"), ("verify.py", "verify + map (HMAC, JSON)"),
    ("forwarder.py", "forwarder"), ("publisher.py", "publish: CloudEvents headers"),
    ("httpclient.py", "publish: HTTP client"), ("bodies.py", "request body"), ("app.py", "app: request handling"),
    ("connections.py", "connection guard"), ("prometheus_client", "metrics"), ("opentelemetry", "trace context"),
    ("http11.py", "HTTP/1.1 protocol (parsing, ASGI messages, one write per response)"),
    ("uvicorn", "uvicorn: server (accept, signals)"), ("concurrent/futures", "threads: hand-offs and waits"),
    ("threading.py", "threads: hand-offs and waits"), ("queue.py", "threads: hand-offs and waits"),
    ("asyncio/runners.py", "event loop (uvloop's C: polling, callbacks, socket I/O)"),
    ("asyncio", "asyncio: tasks, futures, timers"),
    ("logging", "logging"),
)


def summarise(path: Path) -> list[tuple[str, float]]:
    """Share of samples per code area: the innermost frame that belongs to one (py-spy's collapsed stacks).

    The spool's threads are one area of their own: py-spy samples a thread while it runs Python *or* sits in a
    system call, so the writer's share is mostly its wait for ``fdatasync`` (the disk), not CPU; the phase's kernel
    share says how much of the CPU is in the kernel.
    """
    totals: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if frames[0].startswith("Thread._bootstrap"):
            area = "spool threads (writes and fdatasync, waits for the disk included)"
        else:
            area = next((name for frame in reversed(frames) for marker, name in AREAS if marker in frame), "other")
        totals[area] += int(count)
    everything = sum(totals.values()) or 1
    return [(area, count / everything) for area, count in totals.most_common()]


@contextlib.contextmanager
def baseline_tree(ref: str | None) -> Iterator[Variant | None]:
    if ref is None:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="gw-baseline-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(directory), ref], check=True,
                   capture_output=True)
    try:
        yield Variant(f"baseline {ref}", directory)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(directory)], check=False)


def report(label: str, rounds: list[Round], reference: list[Round] | None) -> None:
    phases = list(rounds[0].phases)
    print(f"\n{label}: median of {len(rounds)} round(s) (each round's value in brackets)")
    rows: list[tuple[str, str, float]] = [
        ("accepted deliveries/s", "per_second", 1), ("CPU per delivery, us", "cpu_us", 1),
        ("  of which kernel, %", "sys_share", 100), ("client p50, ms", "p50", 1), ("client p99, ms", "p99", 1),
        ("gateway-side p50 <=, ms", "server_p50", 1), ("gateway-side p99 <=, ms", "server_p99", 1),
        ("RSS after the phase, MiB", "rss", 1), ("load average", "load_average", 1),
    ]
    print(f"{'':<26}" + "".join(f"{phase:>30}" for phase in phases))
    for title, name, scale in rows:
        cells = []
        for phase in phases:
            values = [getattr(r.phases[phase], name) * scale for r in rounds]
            cell = f"{statistics.median(values):.2f} [" + " ".join(f"{v:.4g}" for v in values) + "]"
            if reference is not None and name in ("per_second", "cpu_us", "p50", "p99", "rss"):
                base = statistics.median(getattr(r.phases[phase], name) * scale for r in reference)
                cell += f" {statistics.median(values) / base:.2f}x" if base else ""
            cells.append(f"{cell:>30}")
        print(f"{title:<26}" + "".join(cells))
    print(f"{'idle RSS / peak RSS, MiB':<26}{statistics.median(r.idle_rss for r in rounds):>8.1f} /"
          f" {statistics.median(r.peak_rss for r in rounds):.1f}")
    lost = sum(p.missing for r in rounds for p in r.phases.values())
    refused = sum(p.refused for r in rounds for p in r.phases.values())
    print(f"{'accepted but not published':<26}{lost:>8} (refused: {refused})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0, 1000.0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--core", type=int, default=(os.cpu_count() or 1) - 1,
                        help="the core the gateway is pinned to (the load and the sink get the others)")
    parser.add_argument("--baseline", help="a git ref whose gateway runs the same rounds, alternating")
    parser.add_argument("--profile", type=Path, help="write one py-spy profile per phase here (an extra round)")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)  # internal: run the sink on this port
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)  # internal: the machine probe
    args = parser.parse_args()
    if args.sink is not None:
        uvloop.run(_serve_sink(args.sink))
        return
    if args.probe:
        print(json.dumps(_penalty_probe(PENALTY_GAPS)))
        return
    others = (set(range(os.cpu_count() or 1)) - {args.core}) or {args.core}
    os.sched_setaffinity(0, others)
    sink_port = free_port()
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(sink_port)], **pinned(others))  # type: ignore[call-overload]
    gen = requests(push_body())
    print(f"gateway pinned to core {args.core}; load generator and sink on {sorted(others)}; {len(push_body()):,} B"
          f" signed push deliveries; {args.seconds:g} s per phase; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f} at the start")
    probe = subprocess.run([sys.executable, __file__, "--probe"], capture_output=True, check=True,
                           **pinned({args.core}))  # type: ignore[call-overload]
    costs = json.loads(probe.stdout)
    print("the same work on the gateway's core, CPU per call: " + ", ".join(
        f"{cost:.0f} us {'back to back' if not gap else f'every {gap * 1000:g} ms'} ({cost / costs[0]:.1f}x)"
        for gap, cost in zip(PENALTY_GAPS, costs, strict=True)))
    try:
        wait_ready(f"http://127.0.0.1:{sink_port}/count")
        with baseline_tree(args.baseline) as baseline:
            variants = [Variant("working tree", REPO)] + ([baseline] if baseline else [])
            results: dict[str, list[Round]] = {v.label: [] for v in variants}
            for number in range(args.rounds):
                for variant in variants if number % 2 == 0 else reversed(variants):
                    results[variant.label].append(run_round(variant, args, sink_port, gen))
                    print(f"  round {number + 1}, {variant.label}: done (load average {os.getloadavg()[0]:.2f})",
                          flush=True)
            for variant in reversed(variants if args.rounds else []):
                reference = results[variants[-1].label] if variant is variants[0] and baseline else None
                report(variant.label, results[variant.label], reference)
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            run_round(variants[0], args, sink_port, gen, profile_dir=args.profile)
            for path in sorted(args.profile.glob("working tree-*.txt")):
                print(f"\nwhere the CPU goes, {path.stem} (py-spy samples of the gateway's threads, by code area)")
                for area, share in summarise(path)[:12]:
                    print(f"  {100 * share:5.1f} %  {area}")
    finally:
        sink.terminate()
        sink.wait(30)


if __name__ == "__main__":
    main()
