"""Probes and metrics over HTTP: ``/healthz`` (the worker is alive), ``/readyz`` (Subscriptions listed), ``/metrics``.

A stdlib threading server: three GET routes need no framework, and the image stays small.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


class Probes:
    """Liveness and readiness as the worker reports them."""

    def __init__(self, stale_after: float) -> None:
        self.ready = False
        self.beat = time.monotonic()
        self.stale_after = stale_after

    def alive(self) -> bool:
        return time.monotonic() - self.beat < self.stale_after


def serve(port: int, probes: Probes, registry: CollectorRegistry, host: str = "0.0.0.0") -> ThreadingHTTPServer:  # noqa: S104
    """Start serving in a daemon thread; the caller shuts the returned server down."""
    routes: dict[str, Callable[[], tuple[int, bytes, str]]] = {
        "/healthz": lambda: (200, b"ok\n", "text/plain") if probes.alive() else (503, b"stalled\n", "text/plain"),
        "/readyz": lambda: (200, b"ok\n", "text/plain") if probes.ready else (503, b"listing\n", "text/plain"),
        "/metrics": lambda: (200, generate_latest(registry), CONTENT_TYPE_LATEST),
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: not worth a log line
            return

        def do_GET(self) -> None:
            route = routes.get(self.path.split("?")[0])
            status, body, kind = route() if route else (404, b"not found\n", "text/plain")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    return server
