"""OTLP export when configured: receive, spool and publish spans in the sender's trace (W3C context in, W3C and B3
out), shipped to a loopback OTLP/HTTP collector."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.kyma_connectors.gateway.conftest import GatewayFactory
from tests.kyma_connectors.gateway.harness import PublisherDouble, github_headers, wait_until
from tests.support.paths import GITHUB_PAYLOADS

pytestmark = pytest.mark.timeout(60)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


class Collector(ThreadingHTTPServer):
    requests: list[ExportTraceServiceRequest]


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/v1/traces":
            self.server.requests.append(ExportTraceServiceRequest.FromString(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def spans(collector: Collector) -> dict[str, list[object]]:
    found: dict[str, list[object]] = {}
    for request in list(collector.requests):
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    found.setdefault(span.name, []).append(span)
    return found


@pytest.mark.slow
def test_spans_are_exported_in_the_senders_trace(
    gateway_factory: GatewayFactory, publisher: PublisherDouble, collector: Collector
) -> None:
    gateway = gateway_factory(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.server_address[1]}",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    body = (GITHUB_PAYLOADS / "push" / "payload.json").read_bytes()
    headers = github_headers("test-secret", body, "push", "t-1", traceparent=f"00-{TRACE_ID}-00f067aa0ba902b7-01")
    assert gateway.post(body, headers).status_code == 202
    (event,) = publisher.wait_for(1)
    wait_until(lambda: {"receive webhook", "spool", "publish"} <= set(spans(collector)), 20, "exported spans")
    for name in ("receive webhook", "spool", "publish"):
        (span,) = spans(collector)[name]
        assert span.trace_id.hex() == TRACE_ID  # type: ignore[attr-defined]
    publish_span = spans(collector)["publish"][0]
    # the publish request carries the publish span's own context, in W3C and B3 form
    assert event["trace_headers"]["traceparent"].split("-")[2] == publish_span.span_id.hex()  # type: ignore[attr-defined]
    assert event["trace_headers"]["x-b3-traceid"] == TRACE_ID
