"""A loopback HTTP server answering JSON from a function: a stand-in for the few kube-apiserver reads a test needs.

Why: the publisher double reads Applications and the registrar reads Istio Gateways from the API server; tests that
need only those GETs (and the 404/401/403 answers kube-apiserver gives) use a real HTTP server on 127.0.0.1 rather
than a mocked client. ``answer(method, path, headers)`` returns ``(status, JSON document)``; every request's method
and path are recorded in ``requests``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

Answer = Callable[[str, str, Mapping[str, str]], tuple[int, Any]]


class JsonApi:
    """The running server: its base ``url``, the ``requests`` seen, and a kubeconfig pointing at it."""

    def __init__(self, answer: Answer) -> None:
        self.requests: list[tuple[str, str]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                seen.append((self.command, self.path))
                status, document = answer(self.command, self.path, dict(self.headers.items()))
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PATCH = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path, token: str) -> Path:
        """A token-user kubeconfig for this server (plain HTTP: loopback only)."""
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
        }))
        return path


def not_found(path: str) -> tuple[int, Any]:
    """kube-apiserver's 404 ``Status``."""
    return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                 "message": f"{path} not found"}


@contextmanager
def json_api(answer: Answer) -> Iterator[JsonApi]:
    """Serve ``answer`` on a free loopback port for the ``with`` block."""
    api = JsonApi(answer)
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()
