"""The forwarder against a real HTTP server on loopback: every committed event published, the ack persisted in
order and at most once per ``ACK_INTERVAL``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from kyma_connectors.gateway import forwarder as forwarder_module
from kyma_connectors.gateway.forwarder import Forwarder
from kyma_connectors.gateway.publisher import Publisher
from kyma_connectors.gateway.records import Event
from kyma_connectors.gateway.segments import Position
from kyma_connectors.gateway.spool import Spool
from kyma_connectors.gateway.telemetry import Metrics

pytestmark = pytest.mark.timeout(30)


class Sink(asyncio.Protocol):
    """Answers every request with 204 and records its ``ce-id`` (the publisher proxy at the HTTP level)."""

    ids: list[str]

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
            length = int(fields[b"content-length"])
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.ids.append(fields[b"ce-id"].decode())
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # type: ignore[attr-defined]


def event(number: int) -> Event:
    return Event(id=f"id-{number}", type="push.v1", source="app", time="2026-01-01T00:00:00.000Z",
                 data=b'{"n": %d}' % number, extensions={"nativeevent": "push"})


def test_every_event_is_published_and_the_ack_written_at_most_once_per_interval(tmp_path: Path) -> None:
    async def scenario() -> None:
        ids: list[str] = []
        server = await asyncio.get_running_loop().create_server(lambda: Sink(ids), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        spool = Spool(tmp_path, segment_bytes=1 << 20, max_bytes=1 << 30, dedup_window=1000)
        spool.open()
        acks: list[Position] = []
        acknowledge = spool.acknowledge

        async def counted(position: Position) -> None:
            acks.append(position)
            await acknowledge(position)

        spool.acknowledge = counted  # type: ignore[method-assign]
        publisher = Publisher(f"http://127.0.0.1:{port}", "app", legacy=False, timeout=5, connections=4)
        forwarder = Forwarder(spool, publisher, Metrics("github"), None, concurrency=4, retry_initial=0.1,
                              retry_max=1)
        forwarder.start()
        started = time.monotonic()
        for number in range(300):  # a steady trickle: each event is published before the next arrives
            await spool.append(event(number))
            await asyncio.sleep(0.001)
        while len(ids) < 300:
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
        await forwarder.stop()
        await publisher.close()
        await spool.close()
        server.close()
        assert sorted(ids) == sorted(f"id-{n}" for n in range(300))
        assert len(acks) <= elapsed / forwarder_module.ACK_INTERVAL + 2  # the final one from stop() included
        assert acks == sorted(acks)
        reopened = Spool(tmp_path, segment_bytes=1 << 20, max_bytes=1 << 30, dedup_window=1000)
        assert reopened.open().backlog == 0  # the last position was persisted by stop()
        await reopened.close()

    asyncio.run(scenario())

