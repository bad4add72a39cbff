"""Prometheus metrics and OpenTelemetry tracing, set up once per process.

Metrics live in the gateway's own registry (not the global one) so tests can run several apps in one process.
Tracing: W3C ``traceparent``/``tracestate`` and B3 (single and multi header) are extracted from webhook requests and
injected into publish requests; spans are exported over OTLP/HTTP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set -- otherwise the no-op tracer keeps the hot path cheap while the
context (and so the trace id) is still propagated.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

LOG = logging.getLogger(__name__)
PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), B3MultiFormat(), B3SingleFormat()])
TRACE_CONTEXT = TraceContextTextMapPropagator()


class Metrics:
    """The gateway's metrics (names are part of the documented interface: docs/event-gateway.md)."""

    def __init__(self, solution: str) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series only double the scrape size here
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.received = Counter(
            "event_gateway_deliveries_received", "Webhook deliveries received", ["solution"], registry=r
        ).labels(solution)
        self.rejected = Counter(
            "event_gateway_deliveries_rejected", "Deliveries refused, by reason", ["reason"], registry=r
        )
        self.accepted = Counter("event_gateway_deliveries_accepted", "Deliveries spooled and acknowledged", registry=r)
        self.duplicates = Counter(
            "event_gateway_deliveries_duplicate", "Deliveries acknowledged as duplicates of a known id", registry=r
        )
        self.ignored = Counter(
            "event_gateway_deliveries_ignored", "Verified deliveries not published, by reason", ["reason"], registry=r
        )
        self.uncatalogued = Counter(
            "event_gateway_deliveries_uncatalogued",
            "Verified deliveries whose event or action the catalog does not list, by what happened to them",
            ["disposition"],
            registry=r,
        )
        self._uncatalogued_seen: set[tuple[str, str | None]] = set()
        self.published = Counter("event_gateway_events_published", "Events accepted by the publisher", registry=r)
        self.retried = Counter(
            "event_gateway_publish_retries", "Failed publish attempts that will be retried", registry=r
        )
        self.truncated = Counter(
            "event_gateway_events_truncated",
            "Events whose largest arrays were trimmed to fit the publisher's size limit",
            registry=r,
        )
        self.dead_lettered = Counter(
            "event_gateway_events_dead_lettered", "Events the publisher rejected for good", registry=r
        )
        self.damaged_records = Counter(
            "event_gateway_spool_damaged_records",
            "Damaged spool records skipped (bytes kept in quarantine/); the records after them are still published",
            registry=r,
        )
        self.backlog = Gauge("event_gateway_spool_backlog_events", "Spooled events not yet published", registry=r)
        self.publish_latency = Histogram(
            "event_gateway_publish_latency_seconds",
            "Time of one successful publish request",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=r,
        )
        self.handling = Histogram(
            "event_gateway_delivery_handling_seconds",
            "From a delivery's first byte seen by the app to its acknowledgement (includes the spool fsync)",
            buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1, 5),
            registry=r,
        )
        self.end_to_end = Histogram(
            "event_gateway_delivery_to_publish_seconds",
            "From acknowledging a delivery to its successful publish (includes outages)",
            buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600),
            registry=r,
        )


    def count_uncatalogued(self, event: str, action: str | None, disposition: str, event_type: str = "") -> None:
        """Count an uncatalogued delivery (``published`` or ``dropped``); log each distinct name once.

        The names stay out of the metric's labels (a sender controls them: unbounded series); the log line says
        which event the catalog lacks, at most :data:`UNCATALOGUED_LOGGED` distinct names per process.
        """
        self.uncatalogued.labels(disposition).inc()
        key = (event, action)
        if key not in self._uncatalogued_seen and len(self._uncatalogued_seen) < UNCATALOGUED_LOGGED:
            self._uncatalogued_seen.add(key)
            outcome = f"published as {event_type}" if disposition == "published" else "dropped"
            LOG.warning("event %r action %r is not in the catalog: %s (re-generate the catalog: make specs)",
                        event, action, outcome)


UNCATALOGUED_LOGGED = 256
"""Distinct uncatalogued (event, action) names logged per process; the metric counts every delivery."""
TRACE_HEADERS = ("traceparent", "b3", "x-b3-traceid")


def has_trace_context(headers: Mapping[str, str]) -> bool:
    """Whether a request carries W3C or B3 context (checked before paying for extraction)."""
    return any(name in headers for name in TRACE_HEADERS)


def carrier_for(context: Context | None) -> dict[str, str]:
    """W3C + B3 headers for ``context`` (the current one when ``None``); empty when there is no valid span."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=context)
    return carrier


def configure_tracing(service_name: str, environ: Mapping[str, str] = os.environ) -> trace.Tracer | None:
    """Install the propagators; with an OTLP endpoint set, an SDK tracer provider exporting spans, else ``None``.

    ``None`` means: create no spans at all (about 20 us each, even no-op ones), only propagate incoming context.
    """
    propagate.set_global_textmap(PROPAGATOR)
    if environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        return trace.get_tracer("event_gateway")
    return None
