"""A loopback double of the Kyma 1.x Application Registry metadata API, for the registrar's legacy backend.

Contract: ``../shared/kyma/legacy/application-registry-metadata-api.yaml`` (kyma-project/kyma release-1.24,
components/application-registry/docs/api/api.yaml) and kyma-contracts.md (e). **Every request is validated against
that document with openapi-core** (path, method, path parameters, request body schema) before the double acts on it,
and its answers are checked against the same document; a request that breaks
the contract gets the registry's 400 ``{code, error}`` and is recorded in :attr:`RegistryDouble.rejected`; every
success and 404 answer is checked against the operation's declared responses, and a mismatch is recorded in
:attr:`RegistryDouble.contract_violations` (tests assert it stays empty).

Behaviour beyond the schema, as the real registry (K1 internal/externalapi, internal/metadata) has it:

- services live per application under ``/{application}/v1/...``; ids are UUIDs the registry assigns on POST;
- ``identifier`` is unique in the application: a POST or PUT that would duplicate it answers 400;
- ``api.credentials`` holds exactly one of ``basic`` | ``oauth`` | ``certificateGen`` (400 otherwise);
- GET of one service shows credential values as ``********``.

Standalone (e.g. to try the legacy backend by hand): ``python -m devtools.doubles.registry --port 8089`` prints the
base URL
to use as ``REGISTRAR_REGISTRY_URL``.

Test hooks: :meth:`RegistryDouble.fail_next` answers the next requests with a given status (503, 429, ...) first;
:attr:`RegistryDouble.calls` records ``(method, path, status)`` of every request, so tests count writes exactly.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import re
import signal
import threading
import time
import uuid
from collections import deque
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse

from devtools.doubles.shared_data import shared_path

SPEC_RELATIVE: Final[str] = "kyma/legacy/application-registry-metadata-api.yaml"
"""The contract, inside the shared reference data (devtools/doubles/shared_data.py)."""
MASK: Final[str] = "********"
_APP_PATH: Final[re.Pattern[str]] = re.compile(r"^/(?P<app>[a-z0-9][-a-z0-9.]*)(?P<rest>/v1/.*)$")
_SERVICE_PATH: Final[re.Pattern[str]] = re.compile(r"^/v1/metadata/services/(?P<id>[^/]+)$")
_CREDENTIAL_KINDS: Final[tuple[str, ...]] = ("basic", "oauth", "certificateGen")
_SECRET_FIELDS: Final[tuple[str, ...]] = ("username", "password", "clientId", "clientSecret")


@cache
def _contract(spec_path: Path) -> OpenAPI:
    """The parsed contract; parsing takes a few hundred milliseconds, so every double of a process shares it."""
    return OpenAPI.from_file_path(str(spec_path))


class _Answer(Exception):
    """Internal: finish the request with this status and error message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RegistryDouble:
    """The metadata API on 127.0.0.1; use as a context manager, read :attr:`url`."""

    def __init__(self, spec_path: Path | None = None, port: int = 0) -> None:
        self._openapi = _contract(spec_path or shared_path(SPEC_RELATIVE))
        self._lock = threading.Lock()
        self.services: dict[str, dict[str, dict[str, Any]]] = {}
        """application -> service id -> stored ServiceDetails (with credentials)."""
        self.calls: list[tuple[str, str, int]] = []
        self.rejected: list[str] = []
        self.contract_violations: list[str] = []
        self.busy_seconds = 0.0
        """Time spent answering (mostly contract validation), so benchmarks can tell client from double."""
        self._faults: deque[tuple[str | None, int, str | None, str]] = deque()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="registry-double", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> RegistryDouble:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail_next(self, status: int, times: int = 1, retry_after: str | None = None,
                  error: str = "injected fault", method: str | None = None) -> None:
        """Answer the next ``times`` requests (of ``method``, or any) with ``status``: ``{code, error}`` and an
        optional Retry-After."""
        with self._lock:
            self._faults.extend([(method, status, retry_after, error)] * times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def writes(self) -> list[tuple[str, str, int]]:
        """The non-GET calls so far."""
        return [call for call in self.calls if call[0] != "GET"]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # --- request handling -------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, content_type: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: ``(status, JSON-able body or None, extra headers)``; records the call."""
        started = time.perf_counter()
        try:
            return self._handle_recorded(method, path, content_type, body)
        finally:
            self.busy_seconds += time.perf_counter() - started

    def _handle_recorded(self, method: str, path: str, content_type: str,
                         body: bytes) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            fault = next((f for f in self._faults if f[0] in (None, method)), None)
            if fault is not None:
                self._faults.remove(fault)
                _, status, retry_after, error = fault
                self.calls.append((method, path, status))
                headers = {"Retry-After": retry_after} if retry_after else {}
                return status, {"code": status, "error": error}, headers
            status, payload = self._handle_locked(method, path, content_type, body)
            self.calls.append((method, path, status))
            return status, payload, {}

    def _handle_locked(self, method: str, path: str, content_type: str, body: bytes) -> tuple[int, Any]:
        match = _APP_PATH.match(path.split("?", 1)[0])
        if not match:
            return 404, {"code": 404, "error": f"no application in path {path!r}"}
        app, rest = match["app"], match["rest"]
        request = MockRequest("http://127.0.0.1", method.lower(), rest, data=body or None,
                              content_type=content_type or "application/json")
        try:
            self._openapi.validate_request(request)
        except (PathNotFound, OperationNotFound) as exc:
            return 404, {"code": 404, "error": str(exc)}
        except Exception as exc:  # any openapi-core validation error: the request breaks the contract
            detail = "; ".join(str(e) for e in getattr(exc, "schema_errors", []) or []) or str(exc)
            self.rejected.append(f"{method} {rest}: {detail}")
            return 400, {"code": 400, "error": f"request does not match the metadata API: {detail}"}
        try:
            status, payload = self._route(app, method, rest, json.loads(body) if body else None)
        except _Answer as answer:
            return answer.status, {"code": answer.status, "error": str(answer)}
        self._check_response(request, status, payload)
        return status, payload

    def _route(self, app: str, method: str, rest: str, body: Any) -> tuple[int, Any]:
        services = self.services.setdefault(app, {})
        if rest == "/v1/health":
            return 200, None
        if rest == "/v1/metadata/services":
            if method == "GET":
                return 200, [_summary(sid, details) for sid, details in services.items()]
            self._check_semantics(services, body, own_id=None)
            sid = str(uuid.uuid4())
            services[sid] = body
            return 200, {"id": sid}
        match = _SERVICE_PATH.match(rest)
        sid = match["id"] if match else ""
        if sid not in services:
            return 404, {"code": 404, "error": f"service {sid} not found"}
        if method == "GET":
            return 200, _masked({**services[sid]})
        if method == "PUT":
            self._check_semantics(services, body, own_id=sid)
            services[sid] = body
            return 200, None
        del services[sid]
        return 204, None

    @staticmethod
    def _check_semantics(services: dict[str, dict[str, Any]], body: dict[str, Any], own_id: str | None) -> None:
        identifier = body.get("identifier")
        if identifier and any(d.get("identifier") == identifier for sid, d in services.items() if sid != own_id):
            raise _Answer(400, f"service with identifier {identifier} already exists")
        credentials = (body.get("api") or {}).get("credentials")
        if credentials is not None and sum(kind in credentials for kind in _CREDENTIAL_KINDS) != 1:
            raise _Answer(400, "api.credentials must hold exactly one of basic, oauth, certificateGen")

    def _check_response(self, request: MockRequest, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        response = MockResponse(data, status_code=status, content_type="application/json" if data else "")
        try:
            self._openapi.validate_response(request, response)
        except Exception as exc:  # the double itself drifted from the contract: make the test see it
            self.contract_violations.append(f"{request.method} {request.path} -> {status}: {exc}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, extra = double.handle(self.command, self.path,
                                                       self.headers.get("Content-Type", ""), body)
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def _summary(sid: str, details: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {"id": sid}
    for key in ("provider", "name", "description", "identifier", "labels"):
        if key in details:
            summary[key] = details[key]
    return summary


def _masked(details: dict[str, Any]) -> dict[str, Any]:
    shown = copy.deepcopy(details)
    credentials = (shown.get("api") or {}).get("credentials") or {}
    for kind in ("basic", "oauth"):
        for key in _SECRET_FIELDS:
            if key in (credentials.get(kind) or {}):
                credentials[kind][key] = MASK
    return shown


def main(argv: list[str] | None = None) -> None:
    """Serve the double on 127.0.0.1 until interrupted; prints the base URL (``REGISTRAR_REGISTRY_URL``)."""
    parser = argparse.ArgumentParser(description="Loopback Kyma 1.x Application Registry metadata API double")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with RegistryDouble(port=args.port) as double:
        print(double.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
