"""Nothing lost: publisher outage, SIGKILL mid-traffic, full disk, permanent rejections, graceful SIGTERM."""

from __future__ import annotations

import collections
import ctypes
import json
import os
import resource
import signal
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.kyma_connectors.gateway.conftest import GatewayFactory
from tests.kyma_connectors.gateway.harness import Gateway, PublisherDouble, github_headers, wait_until
from tests.support.paths import GITHUB_PAYLOADS

pytestmark = pytest.mark.timeout(90)
SECRET = "test-secret"
PUSH = (GITHUB_PAYLOADS / "push" / "payload.json").read_bytes()


def deliver(gateway: Gateway, delivery: str, body: bytes = PUSH, event: str = "push") -> int:
    try:
        return gateway.post(body, github_headers(SECRET, body, event, delivery), timeout=5).status_code
    except requests.RequestException:
        return 0


@pytest.mark.slow
def test_publisher_outage_loses_nothing(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """Publisher down: N deliveries acknowledged and spooled; publisher back: exactly N distinct events, once each,
    promptly -- the first successful retry wakes the others from their (here up to 30 s) backoff."""
    gateway = gateway_factory(GATEWAY_RETRY_INITIAL_SECONDS="4", GATEWAY_RETRY_MAX_SECONDS="30")
    publisher.stop()
    count = 40
    assert [deliver(gateway, f"out-{i}") for i in range(count)] == [202] * count
    wait_until(lambda: gateway.readyz()["publisher"]["consecutive_failures"] > 0, 10, "a failed publish attempt")
    ready = gateway.readyz()
    assert ready["status"] == "ready"  # the spool absorbs the outage: keep taking webhooks
    assert ready["backlog"] == count
    assert gateway.metric("event_gateway_spool_backlog_events") == count  # the gauge is read when scraped
    assert gateway.metric("event_gateway_publish_retries_total") > 0
    time.sleep(1)  # let every in-flight event enter its backoff
    publisher.start()
    publisher.wait_for(count, timeout=12)
    gateway.wait_drained()
    assert gateway.metric("event_gateway_spool_backlog_events") == 0
    ids = [event["id"] for event in publisher.events()]
    assert sorted(ids) == sorted(f"out-{i}" for i in range(count))


@pytest.mark.slow
def test_sigkill_under_load_then_restart(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """SIGKILL mid-traffic, restart on the same spool: every acknowledged delivery arrives; redeliveries of them are
    suppressed; the only possible repeats are the few events in flight to the publisher at the kill (bounded)."""
    concurrency = 4
    gateway = gateway_factory(GATEWAY_PUBLISH_CONCURRENCY=str(concurrency))
    acked: set[str] = set()
    attempted: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()
    counter = iter(range(10**6))

    def sender() -> None:
        while not stop.is_set():
            with lock:
                delivery = f"kill-{next(counter)}"
                attempted.append(delivery)
            if deliver(gateway, delivery) == 202:
                with lock:
                    acked.add(delivery)

    with ThreadPoolExecutor(6) as pool:
        for _ in range(6):
            pool.submit(sender)
        wait_until(lambda: len(acked) >= 150, 30, "150 acknowledged deliveries")
        gateway.signal(signal.SIGKILL)
        gateway.wait(10)
        stop.set()
    acknowledged_before_kill = set(acked)
    gateway.start()
    # the sender redelivers everything it tried (GitHub's "redeliver"): acknowledged ones are duplicates now
    answers = {delivery: deliver(gateway, delivery) for delivery in attempted}
    assert all(answers[d] == 200 for d in acknowledged_before_kill), "acknowledged deliveries must be known"
    assert set(answers.values()) <= {200, 202}
    gateway.wait_drained(30)
    published = [event["id"] for event in publisher.events()]
    assert set(published) == set(attempted), "every delivery acknowledged before or after the kill arrives"
    repeats = [d for d, n in collections.Counter(published).items() if n > 1]
    # in flight at the kill (<= concurrency) plus those completed while the last ack write was under way
    assert len(repeats) <= 4 * concurrency, f"at-least-once window exceeded: {len(repeats)} repeats"


@pytest.mark.slow
@pytest.mark.parametrize("limit", ["disk", "quota"])
def test_full_disk_answers_503_and_keeps_what_it_acknowledged(
    gateway_factory: GatewayFactory, publisher: PublisherDouble, limit: str
) -> None:
    """A full disk (RLIMIT_FSIZE -> EFBIG on write) or the spool quota: 503 + Retry-After, unready, nothing lost."""
    cap = 200_000

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))

    if limit == "disk":
        gateway = gateway_factory(popen={"preexec_fn": limit_file_size}, GATEWAY_SEGMENT_BYTES=str(1 << 20))
    else:
        gateway = gateway_factory(GATEWAY_SPOOL_MAX_BYTES=str(cap))
    publisher.stop()
    statuses = [deliver(gateway, f"full-{i}") for i in range(60)]
    accepted = statuses.index(503)
    assert accepted > 5
    assert statuses[:accepted] == [202] * accepted
    assert set(statuses[accepted:]) == {503}
    refused = gateway.post(PUSH, github_headers(SECRET, PUSH, "push", "full-x"))
    assert refused.headers["retry-after"] == "10"
    assert refused.json()["error"] == "spool_full"
    assert requests.get(f"{gateway.url}/readyz", timeout=5).status_code == 503
    publisher.start()
    events = publisher.wait_for(accepted)
    assert {event["id"] for event in events} == {f"full-{i}" for i in range(accepted)}
    if limit == "quota":  # the quota counts unpublished bytes: drained, a readiness probe makes the pod ready again
        wait_until(lambda: requests.get(f"{gateway.url}/readyz", timeout=5).status_code == 200, 15, "ready again")
        assert deliver(gateway, "after-full") == 202


def test_permanent_rejection_goes_to_dead_letter(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """A 4xx from the publisher is not retried: the event lands in dead-letter/ with the answer; others flow on."""
    publisher.control(reject_types=["issues.opened.v1"], reject_status=400)
    gateway = gateway_factory()
    opened = (GITHUB_PAYLOADS / "issues" / "opened.payload.json").read_bytes()
    assert deliver(gateway, "dl-1", opened, "issues") == 202
    assert deliver(gateway, "ok-1") == 202
    (event,) = publisher.wait_for(1)
    assert event["id"] == "ok-1"
    gateway.wait_drained()
    (letter,) = list((gateway.spool / "dead-letter").iterdir())
    record = json.loads(letter.read_text())
    assert record["status"] == 400
    assert record["event"]["id"] == "dl-1"
    assert record["data"] == json.loads(opened)
    assert gateway.metric("event_gateway_events_dead_lettered_total") == 1
    assert "dead-lettered" in gateway.log.read_text()


def test_sigterm_finishes_in_flight_requests(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """SIGTERM while a request is half-sent: it still gets its 202, the backlog is drained, then the process exits."""
    gateway = gateway_factory()
    headers = github_headers(SECRET, PUSH, "push", "term-1")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"POST /webhook HTTP/1.1\r\nHost: gw\r\nContent-Length: {len(PUSH)}\r\n{head}\r\n".encode()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(request + PUSH[:100])
        time.sleep(0.2)
        gateway.signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(PUSH[100:])
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 202"), answer[:200]
    # uvicorn re-raises the captured SIGTERM once shutdown is complete, so the exit status says "terminated"
    assert gateway.wait(15) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in gateway.log.read_text()
    (event,) = publisher.events()  # published during the shutdown drain, before the process exited
    assert event["id"] == "term-1"


# --- faults on the spool's disk -------------------------------------------------------------------------------------
def spool_records(segment: Path) -> list[tuple[int, int]]:
    """(offset, total size) of each record of a segment, read from the documented frame ``[u32 len][u32 CRC]``; a zero
    length is the open segment's preallocated tail (unwritten space, as recovery reads it), not a record."""
    data = segment.read_bytes()
    out, offset = [], 0
    while offset + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        if length == 0:
            break
        out.append((offset, 8 + length))
        offset += 8 + length
    return out


def spool_offline(gateway_factory: GatewayFactory, publisher: PublisherDouble, count: int, **settings: str) -> Gateway:
    """A gateway that acknowledged ``count`` deliveries while the publisher was down, then stopped: all spooled."""
    gateway = gateway_factory(GATEWAY_SHUTDOWN_DRAIN_SECONDS="0", **settings)
    publisher.stop()
    assert [deliver(gateway, f"kept-{i}") for i in range(count)] == [202] * count
    gateway.stop()
    publisher.start()
    return gateway


@pytest.mark.slow
@pytest.mark.parametrize("field", ["length", "crc", "data"])
def test_flipped_byte_loses_only_the_damaged_record(
    gateway_factory: GatewayFactory, publisher: PublisherDouble, field: str
) -> None:
    """One flipped byte in the middle of a segment (its length, CRC or data field): recovery skips that record,
    keeps its bytes aside in quarantine/ and counts it, and publishes every record after it."""
    gateway = spool_offline(gateway_factory, publisher, 9)
    (segment,) = (gateway.spool / "segments").glob("*.seg")
    records = spool_records(segment)
    assert len(records) == 9
    start, size = records[4]
    where = {"length": start + 1, "crc": start + 5, "data": start + size // 2}[field]
    data = bytearray(segment.read_bytes())
    data[where] ^= 0x5A
    segment.write_bytes(bytes(data))
    gateway.start()
    events = publisher.wait_for(8)
    gateway.wait_drained()
    assert sorted(e["id"] for e in publisher.events()) == sorted(f"kept-{i}" for i in range(9) if i != 4)
    assert gateway.metric("event_gateway_spool_damaged_records_total") == 1
    kept = list((gateway.spool / "quarantine").iterdir())
    assert len(kept) == 1
    assert kept[0].read_bytes() == bytes(data[start : start + size])
    assert len(events) == 8
    assert deliver(gateway, "after-damage") == 202
    assert publisher.wait_for(9)[-1]["id"] == "after-damage"


@pytest.mark.slow
def test_stray_higher_segment_decides_nothing(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """A stray empty ``999999999999.seg``: quarantined at start; old and new deliveries published, also after a
    second restart."""
    gateway = spool_offline(gateway_factory, publisher, 3)
    (gateway.spool / "segments" / "999999999999.seg").touch()
    gateway.start()
    assert deliver(gateway, "new-1") == 202
    publisher.wait_for(4, timeout=10)
    gateway.stop()
    gateway.start()
    assert deliver(gateway, "new-2") == 202
    publisher.wait_for(5, timeout=10)
    assert sorted(e["id"] for e in publisher.events()) == ["kept-0", "kept-1", "kept-2", "new-1", "new-2"]
    assert not (gateway.spool / "segments" / "999999999999.seg").exists()
    assert [p.name for p in (gateway.spool / "quarantine").iterdir()] == ["999999999999.seg"]


@pytest.mark.slow
@pytest.mark.parametrize("stray", ["directory", "foreign-name"])
def test_unexpected_entries_in_segments_are_quarantined(
    gateway_factory: GatewayFactory, publisher: PublisherDouble, stray: str
) -> None:
    """A directory where a segment file is expected (or a file the spool does not name): quarantine and start."""
    gateway = spool_offline(gateway_factory, publisher, 3)
    if stray == "directory":
        (gateway.spool / "segments" / "000000000002.seg").mkdir()
    else:
        (gateway.spool / "segments" / "notes.txt").write_text("operator notes")
    gateway.start()
    publisher.wait_for(3, timeout=10)
    assert deliver(gateway, "new-1") == 202
    publisher.wait_for(4, timeout=10)
    assert len(list((gateway.spool / "quarantine").iterdir())) == 1
    assert "quarantined" in gateway.log.read_text()


@pytest.mark.slow
def test_event_leaves_the_spool_only_with_a_durable_dead_letter(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    """Publisher rejects for good while dead-letter/ cannot be written: the events stay in the spool (backlog)
    and are dead-lettered once it can be written again -- none dropped."""
    publisher.control(reject_types=["push.v1"], reject_status=400)
    gateway = gateway_factory(GATEWAY_RETRY_MAX_SECONDS="0.3")
    letters = gateway.spool / "dead-letter"
    letters.rmdir()
    letters.write_text("not a directory")  # every dead-letter write now fails (ENOTDIR), like a full disk
    count = 12
    assert [deliver(gateway, f"dl-{i}") for i in range(count)] == [202] * count
    wait_until(lambda: "cannot write dead-letter" in gateway.log.read_text(), 10, "a failed dead-letter write")
    time.sleep(1)
    assert gateway.readyz()["backlog"] == count, "nothing may leave the spool without its dead-letter record"
    letters.unlink()
    letters.mkdir()
    gateway.wait_drained()
    kept = sorted(json.loads(p.read_text())["event"]["id"] for p in letters.iterdir())
    assert kept == sorted(f"dl-{i}" for i in range(count))
    assert gateway.metric("event_gateway_events_dead_lettered_total") == count


def without_file_mode_override() -> None:
    """``preexec_fn``: drop the capabilities that let root ignore file modes (DAC override, DAC read search,
    fowner) from the bounding set, so the exec'd gateway honours a read-only directory like any other process."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER (linux/capability.h)
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.slow
def test_read_only_spool_answers_503_promptly(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """Spool made read-only while running: every delivery gets a prompt answer (202 while the open segment takes
    writes, then 503 + Retry-After), /readyz turns 503; writable again: ready, and every 202 is published."""
    gateway = gateway_factory(popen={"preexec_fn": without_file_mode_override}, GATEWAY_SEGMENT_BYTES="65536")
    spool = gateway.spool
    publisher.stop()
    assert deliver(gateway, "ro-0") == 202
    for path in (spool, spool / "segments", spool / "dead-letter"):
        path.chmod(0o555)
    try:
        answers: dict[str, int] = {}
        for i in range(1, 30):
            started = time.monotonic()
            answers[f"ro-{i}"] = deliver(gateway, f"ro-{i}")
            assert time.monotonic() - started < 3, f"delivery {i} took too long"
        assert set(answers.values()) <= {202, 503}
        assert 503 in answers.values()
        refused = gateway.post(PUSH, github_headers(SECRET, PUSH, "push", "ro-x"))
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "10"
        assert requests.get(f"{gateway.url}/readyz", timeout=5).status_code == 503
    finally:
        for path in (spool, spool / "segments", spool / "dead-letter"):
            path.chmod(0o755)
    publisher.start()
    wait_until(lambda: requests.get(f"{gateway.url}/readyz", timeout=5).status_code == 200, 15, "ready again")
    acked = {"ro-0"} | {d for d, status in answers.items() if status == 202}
    assert deliver(gateway, "ro-after") == 202
    publisher.wait_for(len(acked) + 1)
    assert {e["id"] for e in publisher.events()} == acked | {"ro-after"}
    assert "Traceback" not in gateway.log.read_text()


def test_publisher_url_credentials_never_logged(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    url = publisher.url.replace("http://", "http://gw-user:pw-hunter2@")
    gateway = gateway_factory(GATEWAY_PUBLISHER_URL=url)
    publisher.stop()  # failures are logged too: none may carry the credential
    assert deliver(gateway, "cred-1") == 202
    wait_until(lambda: "publish of cred-1 failed" in gateway.log.read_text(), 10, "a logged publish failure")
    gateway.stop()
    log = gateway.log.read_text()
    assert "pw-hunter2" not in log
    assert "gw-user" not in log
    assert "publisher=http://***@127.0.0.1" in log
