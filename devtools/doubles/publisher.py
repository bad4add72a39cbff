"""Loopback double of Kyma's eventing publisher proxy (kyma-project/eventing-publisher-proxy).

Contract followed (../shared/docs/kyma-contracts.md section c; ../shared/kyma/legacy/event-service-events-api.yaml):

- ``POST /publish``: a CloudEvent in binary mode (``ce-*`` headers, data as body) or structured mode
  (``application/cloudevents+json``), parsed and validated with the CloudEvents SDK; 204 on success, 400 with an
  error document when the event is invalid.
- ``POST /{application}/v1/events``: the Kyma 1.x legacy body ``{event-type, event-type-version, event-id?,
  event-time, data}``; 200 ``{"event-id", "status", "reason"}`` on success, 400 ``{status, type, message, details}``.
  Like the real proxy it records the event as the CloudEvent it becomes: ``type = <event-type>.<version>``,
  ``source = <application>``.

Test hooks (not part of the real proxy): ``GET /events`` lists what was accepted, ``DELETE /events`` forgets it,
``POST /control`` sets ``{"reject_types": [...], "reject_status": 400, "fail_next": N, "fail_status": 503}``.
Run it with ``python -m devtools.doubles.publisher --port N [--record FILE.jsonl]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.exceptions import BaseCloudEventException

LEGACY_TYPE: Final = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$")
LEGACY_VERSION: Final = re.compile(r"^[a-zA-Z0-9]+$")
LEGACY_ID: Final = re.compile(r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$")
TRACE_HEADERS: Final = ("traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled")


@dataclass
class PublisherState:
    """What the double received and how it is told to misbehave."""

    events: list[dict[str, Any]] = field(default_factory=list)
    reject_types: set[str] = field(default_factory=set)
    reject_status: int = 400
    fail_next: int = 0
    fail_status: int = 503
    record: Path | None = None

    def keep(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if self.record is not None:
            with self.record.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(event) + "\n")

    def injected_failure(self, event_type: str) -> int | None:
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.fail_status
        if event_type in self.reject_types:
            return self.reject_status
        return None


STATE: Final = web.AppKey("state", PublisherState)


def _error(status: int, kind: str, message: str, details: list[dict[str, str]] | None = None) -> web.Response:
    document: dict[str, Any] = {"status": status, "type": kind, "message": message}
    if details:
        document["details"] = details
    return web.json_response(document, status=status)


async def publish(request: web.Request) -> web.Response:
    """``POST /publish`` (EPP pkg/handler publishCloudEvents): binary or structured CloudEvents, 204."""
    state = request.app[STATE]
    body = await request.read()
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        event = from_http_event(HTTPMessage(headers=headers, body=body))
    except (BaseCloudEventException, ValueError, TypeError) as exc:
        return _error(400, "validation_violation", f"invalid CloudEvent: {exc}")
    attributes = event.get_attributes()
    failure = state.injected_failure(str(attributes.get("type")))
    if failure is not None:
        return _error(failure, "injected", "failure injected by the test")
    time_value = attributes.get("time")
    state.keep(
        {
            "mode": "structured" if "ce-specversion" not in headers else "binary",
            "id": attributes["id"],
            "type": attributes["type"],
            "source": attributes["source"],
            "specversion": attributes["specversion"],
            "time": time_value.isoformat() if isinstance(time_value, datetime) else time_value,
            "subject": attributes.get("subject"),
            "datacontenttype": attributes.get("datacontenttype"),
            "extensions": {
                k: v
                for k, v in attributes.items()
                if k not in {"id", "type", "source", "specversion", "time", "subject", "datacontenttype", "dataschema"}
            },
            "data": event.get_data() if not isinstance(event.get_data(), bytes) else None,
            "data_bytes": body.decode("utf-8", "replace") if "ce-specversion" in headers else None,
            "trace_headers": {k: headers[k] for k in TRACE_HEADERS if k in headers},
            "received_at": time.time(),
        }
    )
    return web.Response(status=204)


async def legacy_publish(request: web.Request) -> web.Response:
    """``POST /{application}/v1/events`` (event-service-events-api.yaml ``publishEvent``; EPP pkg/legacy)."""
    state = request.app[STATE]
    application = request.match_info["application"]
    try:
        document = json.loads(await request.read())
    except ValueError:
        return _error(400, "bad_payload_syntax", "request body is not JSON")
    if not isinstance(document, dict):
        return _error(400, "bad_payload_syntax", "request body is not a JSON object")
    details = _legacy_problems(document)
    if details:
        return _error(400, "validation_violation", "Missing field or invalid value", details)
    event_type = f"{document['event-type']}.{document['event-type-version']}"
    failure = state.injected_failure(event_type)
    if failure is not None:
        return _error(failure, "injected", "failure injected by the test")
    event_id = document.get("event-id") or f"generated-{len(state.events)}"
    state.keep(
        {
            "mode": "legacy",
            "id": event_id,
            "type": event_type,
            "source": application,
            "time": document["event-time"],
            "legacy": {k: v for k, v in document.items() if k != "data"},
            "data": document["data"],
            "trace_headers": {k: v for k, v in request.headers.items() if k.lower() in TRACE_HEADERS},
            "received_at": time.time(),
        }
    )
    return web.json_response({"event-id": event_id, "status": 200, "reason": "Message successfully published"})


def _legacy_problems(document: dict[str, Any]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []

    def bad(name: str, kind: str, message: str) -> None:
        problems.append({"field": name, "type": kind, "message": message})

    event_type = document.get("event-type")
    if not isinstance(event_type, str) or not event_type:
        bad("event-type", "missing_field", "event-type is required")
    elif len(event_type) > 253 or not LEGACY_TYPE.match(event_type):
        bad("event-type", "invalid_field", "event-type is not a valid hostname-like name")
    version = document.get("event-type-version")
    if not isinstance(version, str) or not version:
        bad("event-type-version", "missing_field", "event-type-version is required")
    elif len(version) > 4 or not LEGACY_VERSION.match(version):
        bad("event-type-version", "invalid_field", "event-type-version must match ^[a-zA-Z0-9]+$ (max 4)")
    event_id = document.get("event-id")
    if event_id is not None and (not isinstance(event_id, str) or not LEGACY_ID.match(event_id)):
        bad("event-id", "invalid_field", "event-id must be a UUID")
    event_time = document.get("event-time")
    if not isinstance(event_time, str) or not event_time:
        bad("event-time", "missing_field", "event-time is required")
    else:
        try:
            datetime.fromisoformat(event_time.replace("Z", "+00:00"))
        except ValueError:
            bad("event-time", "invalid_field", "event-time must be RFC 3339")
    if document.get("data") in (None, "", {}, []):
        bad("data", "missing_field", "data is required and must not be empty")
    return problems


async def list_events(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].events)


async def clear_events(request: web.Request) -> web.Response:
    request.app[STATE].events.clear()
    return web.Response(status=204)


async def control(request: web.Request) -> web.Response:
    state = request.app[STATE]
    settings = await request.json()
    state.reject_types = set(settings.get("reject_types", state.reject_types))
    state.reject_status = int(settings.get("reject_status", state.reject_status))
    state.fail_next = int(settings.get("fail_next", state.fail_next))
    state.fail_status = int(settings.get("fail_status", state.fail_status))
    return web.Response(status=204)


def create_app(state: PublisherState | None = None) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE] = state or PublisherState()
    app.router.add_post("/publish", publish)
    app.router.add_post("/{application}/v1/events", legacy_publish)
    app.router.add_get("/events", list_events)
    app.router.add_delete("/events", clear_events)
    app.router.add_post("/control", control)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--record", type=Path, help="also append every accepted event to this JSON-lines file")
    args = parser.parse_args(argv)
    app = create_app(PublisherState(record=args.record))
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None, loop=_loop())


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop only speeds the double up
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    main()
