"""A loopback test double of SAP Qualtrics' event subscriptions API (``/API/v3/eventsubscriptions``).

It follows the documented facts collected in ``../shared/docs/github-qualtrics.md`` section 5 (Kyma's 2019
connector-tools client and test fixtures, and the public "Create Subscription" reference): ``X-API-TOKEN`` auth,
brand-administrator only (403 otherwise), create answers 200 ``{"result": {"id": "SUB_..."}, "meta": ...}``, list
answers ``result.elements`` with ``result.nextPage`` (null or the next page's URL), delete answers 200, no update.
Requests and responses are validated against JSON Schemas written from those facts (:data:`SCHEMAS`); anything
outside them is answered 400 and recorded in ``violations``.

Run standalone: ``python -m devtools.doubles.qualtrics --port N --token T`` (prints its base URL, ending in
``/API/v3``).
Admin API: ``GET /_admin/subscriptions`` (with shared keys), ``POST /_admin/subscriptions`` (create by hand),
``DELETE /_admin/subscriptions/{id}``, ``POST /_admin/faults`` ``{status, count, headers}``,
``POST /_admin/tokens`` ``{token, admin}``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import signal
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import jsonschema

PREFIX: Final[str] = "/API/v3/eventsubscriptions"
META: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["httpStatus"],
    "properties": {"httpStatus": {"type": "string"}, "requestId": {"type": "string"}},
}
SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "create-request": {
        "type": "object",
        "required": ["topics", "publicationUrl"],
        "additionalProperties": False,
        "properties": {
            "topics": {"type": "string", "minLength": 1},
            "publicationUrl": {"type": "string", "pattern": "^https?://"},
            "encrypt": {"type": "boolean"},
            "sharedKey": {"type": "string"},
        },
    },
    "create-response": {
        "type": "object",
        "required": ["result", "meta"],
        "properties": {
            "result": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
            "meta": META,
        },
    },
    "list-response": {
        "type": "object",
        "required": ["result", "meta"],
        "properties": {
            "result": {
                "type": "object",
                "required": ["elements", "nextPage"],
                "properties": {
                    "elements": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id", "topics", "publicationUrl"],
                            "properties": {
                                "id": {"type": "string"},
                                "scope": {"type": "string"},
                                "topics": {"type": "string"},
                                "publicationUrl": {"type": "string"},
                                "encrypted": {"type": "boolean"},
                                "successfulCalls": {"type": "integer"},
                            },
                        },
                    },
                    "nextPage": {"type": ["string", "null"]},
                },
            },
            "meta": META,
        },
    },
    "meta-response": {"type": "object", "required": ["meta"], "properties": {"meta": META}},
}
STATUS_TEXT: Final[dict[int, str]] = {
    200: "200 - OK",
    400: "400 - Bad Request",
    401: "401 - Unauthorized",
    403: "403 - Forbidden",
    404: "404 - Not Found",
    429: "429 - Too Many Requests",
    500: "500 - Internal Server Error",
}


def meta(status: int, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"httpStatus": STATUS_TEXT.get(status, str(status)), "requestId": str(uuid.uuid4())}
    if message:
        body["error"] = {"errorMessage": message, "errorCode": f"Q_{status}"}
    return body


class Brand:
    """The brand's subscriptions, tokens and injected faults."""

    def __init__(self, page_size: int = 100) -> None:
        self.lock = threading.RLock()
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, bool] = {}
        """token -> is brand administrator."""
        self.faults: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.page_size = page_size
        self._ids = itertools.count(1)

    def add(self, topics: str, url: str, shared_key: str | None, encrypt: bool = False) -> dict[str, Any]:
        with self.lock:
            sub_id = f"SUB_{next(self._ids):06d}"
            self.subscriptions[sub_id] = {
                "id": sub_id,
                "scope": "brand",
                "topics": topics,
                "publicationUrl": url,
                "encrypted": encrypt,
                "successfulCalls": 0,
                "sharedKey": shared_key,
            }
            return self.subscriptions[sub_id]


class Handler(BaseHTTPRequestHandler):
    server: QualtricsServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: ``Brand.requests`` is the log tests read."""

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self.reply(400, {"meta": meta(400, "body is not JSON")})
            return
        if parts.path.startswith("/_admin/"):
            self.reply(*self.admin(method, parts.path, body or {}))
            return
        status, answer, headers = self.api(method, parts.path.rstrip("/"), dict(parse_qsl(parts.query)), body)
        with self.server.brand.lock:
            self.server.brand.requests.append({"method": method, "path": parts.path, "status": status})
        self.reply(status, answer, headers)

    def api(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        brand = self.server.brand
        admin = brand.tokens.get(self.headers.get("X-API-TOKEN", ""))
        if admin is None:
            return 401, {"meta": meta(401, "Invalid or missing X-API-TOKEN")}, {}
        if not admin:
            return 403, {"meta": meta(403, "Event subscriptions require a brand administrator")}, {}
        with brand.lock:
            fault = brand.faults.pop(0) if brand.faults else None
        if fault:
            status = int(fault["status"])
            return status, {"meta": meta(status, "injected fault")}, dict(fault.get("headers", {}))
        if path == PREFIX and method == "GET":
            return self.checked(200, self.page(int(query.get("offset", 0))), "list-response")
        if path == PREFIX and method == "POST":
            try:
                jsonschema.validate(body, SCHEMAS["create-request"])
            except jsonschema.ValidationError as exc:
                with brand.lock:
                    brand.violations.append(f"create request: {exc.message}")
                return 400, {"meta": meta(400, f"Invalid request: {exc.message}")}, {}
            sub = brand.add(body["topics"], body["publicationUrl"], body.get("sharedKey"), body.get("encrypt", False))
            return self.checked(200, {"result": {"id": sub["id"]}, "meta": meta(200)}, "create-response")
        if path.startswith(PREFIX + "/") and method == "DELETE":
            with brand.lock:
                gone = brand.subscriptions.pop(path[len(PREFIX) + 1 :], None)
            if gone is None:
                return 404, {"meta": meta(404, "Subscription not found")}, {}
            return self.checked(200, {"meta": meta(200)}, "meta-response")
        return 404, {"meta": meta(404, "Not found")}, {}

    def page(self, offset: int) -> dict[str, Any]:
        brand = self.server.brand
        with brand.lock:
            subs = sorted(brand.subscriptions.values(), key=lambda s: s["id"])
        chunk = subs[offset : offset + brand.page_size]
        more = offset + brand.page_size < len(subs)
        next_page = f"{self.server.base}/eventsubscriptions/?offset={offset + brand.page_size}" if more else None
        elements = [{k: v for k, v in s.items() if k != "sharedKey"} for s in chunk]
        return {"result": {"elements": elements, "nextPage": next_page}, "meta": meta(200)}

    def checked(self, status: int, body: Any, schema: str) -> tuple[int, Any, dict[str, str]]:
        try:
            jsonschema.validate(body, SCHEMAS[schema])
        except jsonschema.ValidationError as exc:
            with self.server.brand.lock:
                self.server.brand.violations.append(f"{schema}: {exc.message}")
            return 500, {"meta": meta(500, "double answered outside its contract")}, {}
        return status, body, {}

    def admin(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        brand = self.server.brand
        parts = path.strip("/").split("/")[1:]
        if parts == ["subscriptions"] and method == "GET":
            with brand.lock:
                return 200, list(brand.subscriptions.values())
        if parts == ["subscriptions"] and method == "POST":
            return 201, brand.add(body["topics"], body["publicationUrl"], body.get("sharedKey"))
        if len(parts) == 2 and parts[0] == "subscriptions" and method == "DELETE":
            with brand.lock:
                brand.subscriptions.pop(parts[1], None)
            return 204, None
        if parts == ["faults"] and method == "POST":
            with brand.lock:
                brand.faults.extend([body] * int(body.get("count", 1)))
            return 201, {}
        if parts == ["tokens"] and method == "POST":
            with brand.lock:
                brand.tokens[body["token"]] = bool(body.get("admin", True))
            return 201, {}
        return 404, {"message": "unknown admin route"}

    def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class QualtricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, brand: Brand) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.brand = brand
        self.base = f"http://127.0.0.1:{self.server_address[1]}/API/v3"


class QualtricsDouble:
    """A running double: ``with QualtricsDouble(tokens=("t",)) as q: q.url`` (the ``/API/v3`` base)."""

    def __init__(self, port: int = 0, *, tokens: tuple[str, ...] = (), page_size: int = 100) -> None:
        self.brand = Brand(page_size)
        for token in tokens:
            self.brand.tokens[token] = True
        self.server = QualtricsServer(port, self.brand)
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="qualtrics-double", daemon=True
        )

    @property
    def url(self) -> str:
        return self.server.base

    def __enter__(self) -> QualtricsDouble:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.doubles.qualtrics")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", action="append", default=[])
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with QualtricsDouble(args.port, tokens=tuple(args.token)) as double:
        print(double.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
