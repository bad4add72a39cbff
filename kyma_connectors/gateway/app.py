"""The ASGI application: ``POST /webhook``, ``GET /healthz``, ``GET /readyz``, ``GET /metrics``.

A bare ASGI callable rather than a framework: four fixed routes do not need a router, and the gateway's throughput
target (docs/event-gateway.md, "Performance") left little room for per-request overhead -- in the stack prototype
(same HMAC check and group-committed spool) aiohttp's server took 3,093 requests/s where this on uvicorn/httptools
took 5,438.
Rejections are cheap: the content type and ``Content-Length`` are checked before the body is read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kyma_connectors.gateway.deliveries import Ignored, Mapper, Uncatalogued
from kyma_connectors.gateway.errors import (
    DeliveryError,
    MalformedDeliveryError,
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
            "spool recovered: %d segment(s), %d event(s) to publish, %d torn byte(s) truncated, %d known id(s)",
            recovery.segments, recovery.backlog, recovery.truncated_bytes, recovery.known_ids,
        )
        self.metrics.backlog.set(self.spool.backlog)
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
        try:
            if path == "/webhook":
                if method != "POST":
                    raise MethodNotAllowedError("use POST")
                status, body = await self._webhook(scope, receive)
            elif path in ("/healthz", "/readyz", "/metrics"):
                if method not in ("GET", "HEAD"):
                    raise MethodNotAllowedError("use GET")
                await self._probe(path, send)
                return
            else:
                raise NotFoundError("no such endpoint")
        except DeliveryError as exc:
            self.metrics.rejected.labels(exc.reason).inc()
            status, body = exc.status, {"error": exc.reason, "message": str(exc)}
        except SpoolError as exc:
            self.metrics.rejected.labels(exc.reason).inc()
            LOG.warning("delivery refused with 503: %s", exc)
            await _respond(send, 503, {"error": exc.reason, "message": str(exc)}, [(b"retry-after", b"10")])
            return
        await _respond(send, status, body)

    async def _webhook(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        self.metrics.received.inc()
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        parent = PROPAGATOR.extract(headers) if self.tracer or has_trace_context(headers) else None
        receiving = (
            self.tracer.start_as_current_span("receive webhook", context=parent, kind=trace.SpanKind.SERVER)
            if self.tracer
            else nullcontext(None)
        )
        with receiving as span:
            body = await self._read_body(headers, receive)
            mapped = self.mapper.map(headers, body)
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
        self.metrics.backlog.set(self.spool.backlog)
        self.metrics.handling.observe(time.perf_counter() - started)
        answer: dict[str, Any] = {"status": "accepted", "id": event.id, "type": event.type}
        if uncatalogued is None:
            return 202, answer
        self.metrics.count_uncatalogued(uncatalogued.native_event, uncatalogued.native_action, "published", event.type)
        return 202, {**answer, "catalogued": False}

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        cap = self.settings.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise PayloadTooLargeError(f"body larger than {cap} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise MalformedDeliveryError("client disconnected before the body was complete")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise PayloadTooLargeError(f"body larger than {cap} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

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
    await _send(send, status, json.dumps(document).encode("utf-8"), JSON_HEADERS + (extra or []))


async def _send(send: Send, status: int, payload: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    all_headers = [*headers, (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": payload})
