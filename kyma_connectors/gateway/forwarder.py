"""Drains the spool to the publisher: bounded concurrency, retries with backoff, in-order acknowledgement.

Up to ``publish_concurrency`` events are in flight; the spool's ack only moves past an event once it *and every
event before it* are published or dead-lettered, so a crash re-publishes at most the in-flight window
(at-least-once towards Kyma; consumers dedup on the CloudEvents ``id``). ``publish_concurrency=1`` gives strict order.
Retries use exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), capped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentelemetry import trace

from kyma_connectors.gateway.deliveries import rfc3339_epoch
from kyma_connectors.gateway.errors import PermanentPublishError, TemporaryPublishError
from kyma_connectors.gateway.publisher import Publisher
from kyma_connectors.gateway.records import Event
from kyma_connectors.gateway.segments import Position
from kyma_connectors.gateway.spool import Spool
from kyma_connectors.gateway.telemetry import TRACE_CONTEXT, Metrics, carrier_for

LOG = logging.getLogger(__name__)
UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
ACK_INTERVAL = 0.01
"""Seconds between two writes of the forwarder's position (see ``Forwarder._ack_loop``)."""


@dataclass
class _Slot:
    end: Position
    done: bool = False


@dataclass
class PublisherHealth:
    """What ``/readyz`` reports about the publisher (it never makes the gateway unready: the spool absorbs it)."""

    consecutive_failures: int = 0
    last_error: str = ""
    last_success: float = field(default=0.0)


class Forwarder:
    """One background task that moves events from the spool to the publisher."""

    def __init__(
        self,
        spool: Spool,
        publisher: Publisher,
        metrics: Metrics,
        tracer: trace.Tracer | None,
        *,
        concurrency: int,
        retry_initial: float,
        retry_max: float,
    ) -> None:
        self.spool = spool
        self.publisher = publisher
        self.metrics = metrics
        self.tracer = tracer
        self.concurrency = concurrency
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.health = PublisherHealth()
        self._window: deque[_Slot] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ack_dirty = asyncio.Event()
        self._recovered = asyncio.Event()
        """Set for an instant by every successful publish: wakes events backing off, so that after a long outage
        the backlog moves as soon as the publisher answers again instead of after each one's (up to 30 s) delay."""
        self._ack_task: asyncio.Task[None] | None = None
        self._acked = spool.ack_position

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="forwarder")
        self._ack_task = asyncio.create_task(self._ack_loop(), name="forwarder-ack")

    async def drain(self, timeout: float) -> bool:
        """Keep publishing until the backlog is empty or ``timeout`` passed; True when empty."""
        deadline = time.monotonic() + timeout
        while self.spool.backlog > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.spool.backlog == 0

    async def stop(self) -> None:
        """Cancel in-flight publishes (they will be re-published after restart) and persist the final ack."""
        for task in (self._task, *self._tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (self._task, *self._tasks) if t is not None), return_exceptions=True)
        if self._ack_task is not None:
            self._ack_task.cancel()
            await asyncio.gather(self._ack_task, return_exceptions=True)
        await self.spool.acknowledge(self._acked)

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        cursor = self.spool.ack_position
        while True:
            try:
                batch, cursor_after = await self.spool.read(cursor, max_records=max(64, self.concurrency * 4))
            except Exception:  # a spool read must never kill the forwarder: the backlog would grow unseen
                LOG.exception("reading the spool at %s failed; retrying in 1 s", cursor)
                await asyncio.sleep(1.0)
                continue
            if not batch:
                seen = cursor_after
                cursor = cursor_after
                await self.spool.wait_committed(seen, timeout=1.0)
                continue
            for event, end in batch:
                await slots.acquire()
                slot = _Slot(end)
                self._window.append(slot)
                task = asyncio.create_task(self._deliver(event, slot, slots))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            cursor = cursor_after

    async def _deliver(self, event: Event, slot: _Slot, slots: asyncio.Semaphore) -> None:
        try:
            await self._publish_until_done(event)
        finally:
            slots.release()
        slot.done = True
        self._advance()

    def _advance(self) -> None:
        moved = False
        while self._window and self._window[0].done:
            self._acked = self._window.popleft().end
            self.spool.backlog -= 1
            moved = True
        if moved:
            self._ack_dirty.set()

    async def _ack_loop(self) -> None:
        """Persist the ack whenever it moved, at most once per ``ACK_INTERVAL``: at a steady 1,000/s a write per
        publish was a tenth of the forwarder's cost. A SIGKILL re-publishes at most that interval's events more
        (at-least-once either way; consumers dedup on the CloudEvents ``id``); a graceful stop persists the last one."""
        while True:
            await self._ack_dirty.wait()
            self._ack_dirty.clear()
            await self.spool.acknowledge(self._acked)
            await asyncio.sleep(ACK_INTERVAL)

    async def _publish_until_done(self, event: Event) -> None:
        attempt = 0
        parent = TRACE_CONTEXT.extract(dict(event.extensions)) if "traceparent" in event.extensions else None
        while True:
            started = time.perf_counter()
            try:
                if self.tracer is None:
                    await self.publisher.publish(event, carrier_for(parent) if parent is not None else {})
                else:
                    kind = trace.SpanKind.PRODUCER
                    with self.tracer.start_as_current_span("publish", context=parent, kind=kind) as s:
                        s.set_attribute("cloudevents.event_id", event.id)
                        s.set_attribute("cloudevents.event_type", event.type)
                        await self.publisher.publish(event, carrier_for(None))
            except TemporaryPublishError as exc:
                attempt += 1
                self.metrics.retried.inc()
                self.health.consecutive_failures += 1
                self.health.last_error = str(exc)
                delay = self._backoff(attempt)
                if attempt == 1 or attempt % 10 == 0:
                    LOG.warning("publish of %s failed (attempt %d): %s; retrying", event.id, attempt, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._recovered.wait(), delay)
                continue
            except PermanentPublishError as exc:
                await self._dead_letter(event, exc)
                return
            except Exception:  # a bug here must not wedge the in-order ack: log it and retry like a failure
                attempt += 1
                LOG.exception("unexpected error publishing %s (attempt %d); retrying", event.id, attempt)
                await asyncio.sleep(self._backoff(attempt))
                continue
            self.metrics.publish_latency.observe(time.perf_counter() - started)
            self.metrics.published.inc()
            if self.health.consecutive_failures:
                self._recovered.set()
                self._recovered.clear()
            self.health.consecutive_failures = 0
            self.health.last_success = time.time()
            self._observe_age(event)
            return

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, capped at ``retry_max``."""
        return random.uniform(0, min(self.retry_max, self.retry_initial * 2 ** min(attempt, 30)))  # noqa: S311

    def _observe_age(self, event: Event) -> None:
        accepted = rfc3339_epoch(event.time)
        if accepted is not None:
            self.metrics.end_to_end.observe(max(0.0, time.time() - accepted))

    async def _dead_letter(self, event: Event, exc: PermanentPublishError) -> None:
        """Keep the rejected event (header, data, the publisher's answer) in ``dead-letter/`` for inspection/replay.

        The event leaves the spool (its slot is marked done) only after the file is durable; while it cannot be
        written (full or read-only disk) the write is retried with backoff and the event stays in the backlog.
        """
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{UNSAFE.sub('_', event.id)[:80]}.json"
        record = {"status": exc.http_status, "reason": str(exc), "event": event.header()}
        head = json.dumps(record).encode("utf-8")
        content = head[:-1] + b', "data": ' + event.data + b"}\n"
        attempt = 0
        while True:
            try:
                await self.spool.write_dead_letter(name, content)
                break
            except OSError as failure:
                attempt += 1
                if attempt == 1 or attempt % 10 == 0:
                    LOG.error("cannot write dead-letter file for event %s (attempt %d): %s; it stays in the spool",
                              event.id, attempt, failure.strerror or type(failure).__name__)
                await asyncio.sleep(self._backoff(attempt))
        self.metrics.dead_lettered.inc()
        LOG.error("publisher rejected event %s (%s) for good: %s; dead-lettered to %s", event.id, event.type, exc, name)
