"""The ASGI application: ``POST /webhook``, ``GET /healthz``, ``GET /readyz``, ``GET /metrics``.

A bare ASGI callable rather than a framework: four fixed routes do not need a router, and the gateway's throughput
target (docs/event-gateway.md, "Performance") left little room for per-request overhead -- in the stack prototype
(same HMAC check and group-committed spool) aiohttp's server took 3,093 requests/s where this on uvicorn/httptools
took 5,438.
Rejections are cheap: the content type, ``Content-Length`` and the signature header's form (bearer/basic
credentials entirely) are checked before the body is read; such an early answer closes the connection rather than
reading the rest. Bodies are read within the process-wide budgets of :mod:`kyma_connectors.gateway.bodies`; a
large one is verified while it streams to disk and parsed only once authentic, one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import nullcontext
from typing import Any

import orjson
from opentelemetry import trace
from opentelemetry.context import Context
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kyma_connectors.gateway.bodies import INLINE_BYTES, Body, BodyBudget, read_body
from kyma_connectors.gateway.deliveries import Ignored, Mapper, Uncatalogued
from kyma_connectors.gateway.errors import (
    DeliveryError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    SpoolError,
)
from kyma_connectors.gateway.forwarder import Forwarder
from kyma_connectors.gateway.oversize import Fitter
from kyma_connectors.gateway.records import Event
from kyma_connectors.gateway.settings import Settings
from kyma_connectors.gateway.spool import Appended, Spool
from kyma_connectors.gateway.telemetry import PROPAGATOR, TRACE_CONTEXT, Metrics, has_trace_context

LOG = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
JSON_HEADERS = [(b"content-type", b"application/json")]
CLOSE = (b"connection", b"close")


class GatewayApp:
    """Wires the mapper, the spool and the forwarder to HTTP; owns their lifecycle through ASGI lifespan."""

    def __init__(
        self,
        settings: Settings,
        mapper: Mapper,
        spool: Spool,
        forwarder: Forwarder,
        metrics: Metrics,
        tracer: trace.Tracer | None,
    ) -> None:
        self.settings = settings
        self.mapper = mapper
        self.spool = spool
        self.forwarder = forwarder
        self.metrics = metrics
        self.tracer = tracer
        self.fitter = Fitter(settings.publish_max_bytes, settings.oversize, legacy=settings.legacy_events)
        self.started = False
        self.budget = BodyBudget(settings.body_memory_bytes, settings.body_spill_bytes)
        self._large = asyncio.Semaphore(1)
        """Verified spilled bodies are read back, parsed and spooled one at a time: their memory is bounded by one."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    # --- lifespan ----------------------------------------------------------------------------------------------
    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    LOG.exception("gateway startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        recovery = self.spool.open()
        LOG.info(
            "spool recovered: %d segment(s), %d event(s) to publish, %d torn byte(s) truncated, %d known id(s), "
            "%d damaged record(s) skipped, %d entr(ies) quarantined",
            recovery.segments, recovery.backlog, recovery.truncated_bytes, recovery.known_ids,
            recovery.damaged_records, recovery.quarantined,
        )
        spool = self.spool
        self.metrics.backlog.set_function(lambda: spool.backlog)  # read when scraped, not set per delivery
        await self.forwarder.publisher.start()
        self.forwarder.start()
        self.started = True

    async def shutdown(self) -> None:
        """Runs after the server stopped taking requests and finished (or timed out) the in-flight ones."""
        self.started = False
        if self.spool.backlog and self.settings.shutdown_drain_seconds > 0:
            LOG.info("draining %d event(s) before exit (up to %.0f s)", self.spool.backlog,
                     self.settings.shutdown_drain_seconds)
            await self.forwarder.drain(self.settings.shutdown_drain_seconds)
        await self.forwarder.stop()
        await self.spool.close()
        await self.forwarder.publisher.close()
        LOG.info("gateway stopped; %d event(s) left in the spool for the next start", self.spool.backlog)

    # --- HTTP --------------------------------------------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        body = Body(self.budget)
        extra: list[tuple[bytes, bytes]] = []
        try:
            if path == "/webhook":
                if method != "POST":
                    raise MethodNotAllowedError("use POST")
                status, answer = await self._webhook(scope, receive, body)
            elif path in ("/healthz", "/readyz", "/metrics"):
                if method not in ("GET", "HEAD"):
                    raise MethodNotAllowedError("use GET")
                await self._probe(path, send)
                return
            else:
                raise NotFoundError("no such endpoint")
        except DeliveryError as exc:
            self.metrics.rejected.labels(exc.reason).inc()
            status, answer = exc.status, {"error": exc.reason, "message": str(exc)}
        except SpoolError as exc:
            self.metrics.rejected.labels(exc.reason).inc()
            LOG.warning("delivery refused with 503: %s", exc)
            status, answer = 503, {"error": exc.reason, "message": str(exc)}
            extra.append((b"retry-after", b"10"))
        except Exception:  # a bug must still get an answer (and a log line), never a hung or dropped connection
            LOG.exception("unexpected error handling %s %s", method, path)
            self.metrics.rejected.labels("internal").inc()
            status, answer = 500, {"error": "internal", "message": "internal error; nothing was acknowledged"}
        finally:
            body.release()
        if not body.complete and path == "/webhook":
            extra.append(CLOSE)  # answered before the body was read: do not read (or wait for) the rest
        await _respond(send, status, answer, extra)

    async def _webhook(self, scope: Scope, receive: Receive, body: Body) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        self.metrics.received.inc()
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        cap = self.settings.max_body_bytes
        declared_header = headers.get("content-length", "")
        declared = int(declared_header) if declared_header.isdigit() else None
        if declared is not None and declared > cap:
            raise PayloadTooLargeError(f"body larger than {cap} bytes")
        self.mapper.precheck(headers)
        parent = PROPAGATOR.extract(headers) if self.tracer or has_trace_context(headers) else None
        receiving = (
            self.tracer.start_as_current_span("receive webhook", context=parent, kind=trace.SpanKind.SERVER)
            if self.tracer
            else nullcontext(None)
        )
        with receiving as span:
            mapped = await self._read_and_map(headers, receive, body, declared)
            if isinstance(mapped, Ignored):
                self.metrics.count_uncatalogued(mapped.event, mapped.action, "dropped")
                self.metrics.ignored.labels("unknown_event").inc()
                return 202, {"status": "ignored", "reason": "event not in the catalog (GATEWAY_UNKNOWN_EVENTS=drop)",
                             "event": mapped.event, "action": mapped.action}
            uncatalogued = mapped if isinstance(mapped, Uncatalogued) else None
            mapped_event = mapped.event if isinstance(mapped, Uncatalogued) else mapped
            if len(mapped_event.data) > self.fitter.data_budget:  # trim or refuse now, while the sender still waits
                mapped_event = await asyncio.to_thread(self.fitter.fit, mapped_event)
                self.metrics.truncated.inc()
            if span is not None:
                span.set_attribute("cloudevents.event_id", mapped_event.id)
                span.set_attribute("cloudevents.event_type", mapped_event.type)
            event = (_with_trace_context(mapped_event, None if self.tracer else parent) if parent is not None
                     else mapped_event)
            spooling = self.tracer.start_as_current_span("spool") if self.tracer else nullcontext(None)
            with spooling:
                outcome = await self.spool.append(event)
        if outcome is Appended.DUPLICATE:
            self.metrics.duplicates.inc()
            return 200, {"status": "duplicate", "id": event.id}
        self.metrics.accepted.inc()
        self.metrics.handling.observe(time.perf_counter() - started)
        answer: dict[str, Any] = {"status": "accepted", "id": event.id, "type": event.type}
        if uncatalogued is None:
            return 202, answer
        self.metrics.count_uncatalogued(uncatalogued.native_event, uncatalogued.native_action, "published", event.type)
        return 202, {**answer, "catalogued": False}

    async def _read_and_map(
        self, headers: dict[str, str], receive: Receive, body: Body, declared: int | None
    ) -> Event | Ignored | Uncatalogued:
        """Read the body within the budgets and map it. A spilled body is verified as it streams (a forged one is
        refused without being read back) and only then loaded, one at a time."""
        large = declared is None or declared > INLINE_BYTES
        verifier = self.mapper.body_verifier(headers) if large else None
        await read_body(
            receive, body, declared=declared, cap=self.settings.max_body_bytes,
            spill_dir=self.spool.incoming_dir, feed=verifier,
        )
        if not body.spilled:
            return self.mapper.map(headers, body.data(), signature_checked=False)
        if verifier is not None:
            verifier.verify()
        if body.size > INLINE_BYTES:  # small bodies spill only when the memory budget is used up: no queue for them
            await self._large.acquire()
            body.on_release = self._large.release  # held until the request is answered: mapping and spooling too
        data = await asyncio.to_thread(body.data)
        return self.mapper.map(headers, data, signature_checked=verifier is not None)

    async def _probe(self, path: str, send: Send) -> None:
        if path == "/metrics":
            payload = generate_latest(self.metrics.registry)
            await _send(send, 200, payload, [(b"content-type", CONTENT_TYPE_LATEST.encode())])
        elif path == "/healthz":
            await _respond(send, 200, {"status": "ok"})
        else:
            await self.spool.recheck()
            ready = self.started and self.spool.healthy and not self.spool.full
            health = self.forwarder.health
            report = {
                "status": "ready" if ready else "unready",
                "spool": "full" if self.spool.full else ("ok" if self.spool.healthy else "failing"),
                "backlog": self.spool.backlog,
                "publisher": {
                    "status": "failing" if health.consecutive_failures else "ok",
                    "consecutive_failures": health.consecutive_failures,
                    "last_error": health.last_error,
                    "seconds_since_success": round(time.time() - health.last_success, 1)
                    if health.last_success
                    else None,
                },
            }
            await _respond(send, 200 if ready else 503, report)


def _with_trace_context(event: Event, context: Context | None) -> Event:
    """Record the W3C context (the receive span's, else the sender's) as the CloudEvents ``traceparent`` extension."""
    carrier: dict[str, str] = {}
    TRACE_CONTEXT.inject(carrier, context=context)
    if "traceparent" not in carrier:
        return event
    extensions = {**event.extensions, **{k: v for k, v in carrier.items() if k in ("traceparent", "tracestate")}}
    return Event(
        id=event.id,
        type=event.type,
        source=event.source,
        time=event.time,
        data=event.data,
        subject=event.subject,
        extensions=extensions,
    )


async def _respond(
    send: Send, status: int, document: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _send(send, status, orjson.dumps(document), JSON_HEADERS + (extra or []))


async def _send(send: Send, status: int, payload: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    all_headers = [*headers, (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": payload})
