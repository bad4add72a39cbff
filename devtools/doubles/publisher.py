"""Loopback double of Kyma's eventing publisher proxy (kyma-project/eventing-publisher-proxy, "EPP").

It behaves like the proxy where this project depends on it; each rule names the EPP (or eventing-manager, "EM") file
and function it follows (commits and the full contract: docs/kyma-contracts.md, "Eventing: the publisher proxy").

- Size limit: every route reads at most ``--max-request-size`` body bytes, default 65,536 (EPP pkg/options/options.go
  ``maxRequestSize``; pkg/handler/handler.go ``maxBytes`` wraps each route in ``http.MaxBytesReader``; EM starts the
  proxy without arguments, EM pkg/eventing/deployment.go ``WithContainers``). Over it ``/publish`` answers **400**
  (the body read inside ``extractCloudEventFromRequest`` fails) and the legacy route **413** JSON
  (pkg/legacy/legacy.go ``ExtractPublishRequestData`` -> pkg/legacy/error_responses.go
  ``ErrorResponseRequestBodyTooLarge``).
- ``POST /publish`` (pkg/handler/handler.go ``publishCloudEvents``): binary or structured CloudEvent, parsed and
  validated (here with the CloudEvents SDK); invalid -> **400** with the error as a plain-text body; success **204**.
- ``POST /{application}/v1/events`` (pkg/legacy/legacy.go ``TransformPublishRequestToCloudEvent``): the Kyma 1.x
  body becomes ``type = <event-type>.<event-type-version>``, ``source = <application>``; success **200**
  ``{"event-id", "status": "", "reason": ""}`` (pkg/legacy/api/types.go ``PublishResponse``); errors are
  ``{status, type, message, details}`` with that status (pkg/legacy/helpers.go ``WriteJSONResponse``).
- Naming (devtools/doubles/kyma_eventing.py): the source is replaced by the ``application-type`` label or the name
  of the Application named like it, **read from the API server** when ``--kubeconfig`` is given (EPP
  pkg/cloudevents/builder/generic.go ``GetAppNameOrSource``; the lister exists when the Application CRD does, EM
  internal/controller/operator/eventing/controller.go); then cleaned for ``--backend nats`` or ``eventmesh``
  into the subject the event is stored under (each recorded event's ``subject``). A type that already starts
  with the event type prefix is only cleaned (handler.go ``publishCloudEvents``, else branch). An empty segment
  after cleaning -> **400** (generic.go ``Build``).
- Backend failures (pkg/sender/jetstream/jetstream.go ``natsErrorToPublishError``; pkg/sender/eventmesh/eventmesh.go
  ``Send`` passes EventMesh's status through, e.g. 401/403 while its token is refreshed) are injected with
  ``/control``.

Test hooks (not part of the real proxy): ``GET /events`` lists what was accepted (with ``subject``,
``published_type``, ``delivered_source``), ``DELETE /events`` forgets it, ``POST /control`` sets
``{"reject_types": [...], "reject_status": 400, "fail_next": N, "fail_status": 503}``.
Run it with ``python -m devtools.doubles.publisher --port N [--record FILE.jsonl] [--max-request-size B]
[--backend nats|eventmesh] [--kubeconfig PATH | --in-cluster]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.exceptions import BaseCloudEventException

from devtools.doubles.kyma_eventing import Backend, Eventing, NamingError, clean_type

LEGACY_TYPE: Final = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$")
LEGACY_VERSION: Final = re.compile(r"^[a-zA-Z0-9]+$")
LEGACY_ID: Final = re.compile(r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$")
TRACE_HEADERS: Final = ("traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled")
MAX_REQUEST_SIZE: Final[int] = 65536
"""EPP pkg/options/options.go ``maxRequestSize``."""
TOO_LARGE: Final[str] = "http: request body too large"
"""Go's ``http.MaxBytesReader`` error text, which EPP writes back (pkg/legacy/legacy.go
``requestBodyTooLargeErrorMessage``)."""
APPLICATIONS: Final[str] = "/apis/applicationconnector.kyma-project.io/v1alpha1/applications"
LOG: Final = logging.getLogger("publisher-double")

ApplicationLookup = Callable[[str], Awaitable[Mapping[str, Any] | None]]
"""Returns the Application named like an event's source, or None (EPP pkg/application/lister.go ``Get``)."""


async def no_applications(_name: str) -> Mapping[str, Any] | None:
    """No Application CRD in the cluster: the proxy runs without a lister and keeps every source."""
    return None


def api_server_applications(kubeconfig: Path | None) -> ApplicationLookup:
    """Reads Applications from a real API server (the one in ``kubeconfig``, or the pod's own service account and
    cluster when ``None``: the double runs in the local cluster as the proxy runs in Kyma), as EPP's informer does.

    EPP lists through an informer cache with a 10 s resync (pkg/application/lister.go ``NewLister``); the double reads
    live, so a test sees a label change at once where the proxy may lag by seconds.
    """
    from devtools.cluster.kubeapi import KubeApi, KubeApiError, KubeConfig  # only needed with an API server

    api = KubeApi(KubeConfig.load(kubeconfig) if kubeconfig else KubeConfig.in_cluster())

    async def lookup(name: str) -> Mapping[str, Any] | None:
        if not name or "/" in name:
            return None
        try:
            return await asyncio.to_thread(api.get, f"{APPLICATIONS}/{name}")
        except KubeApiError as exc:  # generic.go GetAppNameOrSource: any lister error keeps the source
            LOG.warning("cannot read Application %s: %s; keeping the source", name, exc)
            return None

    return lookup


@dataclass
class PublisherState:
    """What the double received, how it is configured, and how it is told to misbehave."""

    events: list[dict[str, Any]] = field(default_factory=list)
    reject_types: set[str] = field(default_factory=set)
    reject_status: int = 400
    fail_next: int = 0
    fail_status: int = 503
    record: Path | None = None
    max_request_size: int = MAX_REQUEST_SIZE
    eventing: Eventing = field(default_factory=Eventing)
    applications: ApplicationLookup = no_applications

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

    async def route(self, source: str, event_type: str) -> dict[str, str]:
        """Where the proxy puts the event: subject, the type it publishes, the source the sink gets.

        handler.go ``publishCloudEvents``: types under the legacy prefix are only cleaned (and on NATS sent under
        ``kyma.``, pkg/sender/jetstream/jetstream.go ``getJsSubjectToPublish``); all others go through the builder.
        """
        eventing = self.eventing
        if event_type.startswith(eventing.event_type_prefix):
            cleaned = clean_type(eventing.backend, event_type)
            subject = f"kyma.{cleaned}" if eventing.backend is Backend.NATS else cleaned
            return {"subject": subject, "published_type": cleaned, "delivered_source": source}
        application = await self.applications(source)
        subject = eventing.published_subject(source, event_type, application)
        return {"subject": subject, "published_type": subject, "delivered_source": eventing.delivered_source(source)}


STATE: Final = web.AppKey("state", PublisherState)


def _legacy_error(status: int, kind: str, message: str, details: list[dict[str, str]] | None = None) -> web.Response:
    document: dict[str, Any] = {"status": status, "type": kind, "message": message}
    if details:
        document["details"] = details
    return web.json_response(document, status=status)


def _plain(status: int, message: str) -> web.Response:
    """EPP pkg/handler/handler.go ``writeResponse``: the error's text as the body, no JSON."""
    return web.Response(status=status, text=message)


async def _read_limited(request: web.Request, limit: int) -> bytes | None:
    """The body, or None once it exceeds ``limit`` (Go ``http.MaxBytesReader`` allows exactly ``limit`` bytes)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def publish(request: web.Request) -> web.Response:
    """``POST /publish`` (EPP pkg/handler/handler.go ``publishCloudEvents``): binary or structured CloudEvents, 204."""
    state = request.app[STATE]
    body = await _read_limited(request, state.max_request_size)
    if body is None:
        return _plain(400, TOO_LARGE)
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        event = from_http_event(HTTPMessage(headers=headers, body=body))
    except (BaseCloudEventException, ValueError, TypeError) as exc:
        return _plain(400, f"invalid CloudEvent: {exc}")
    attributes = event.get_attributes()
    try:
        route = await state.route(str(attributes["source"]), str(attributes["type"]))
    except NamingError as exc:
        return _plain(400, str(exc))
    failure = state.injected_failure(str(attributes.get("type")))
    if failure is not None:
        return _plain(failure, "failure injected by the test")
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
            "body_size": len(body),
            "trace_headers": {k: headers[k] for k in TRACE_HEADERS if k in headers},
            "received_at": time.time(),
            "backend": {**route, "originaltype": attributes["type"]},
        }
    )
    return web.Response(status=204)


async def legacy_publish(request: web.Request) -> web.Response:
    """``POST /{application}/v1/events`` (event-service-events-api.yaml ``publishEvent``; EPP pkg/legacy)."""
    state = request.app[STATE]
    application = request.match_info["application"]
    raw = await _read_limited(request, state.max_request_size)
    if raw is None:
        return _legacy_error(413, "request_body_too_large", "Request body too large")
    try:
        document = json.loads(raw)
    except ValueError:
        return _legacy_error(400, "bad_payload_syntax", "Bad payload syntax")
    if not isinstance(document, dict):
        return _legacy_error(400, "bad_payload_syntax", "Bad payload syntax")
    details = _legacy_problems(document)
    if details:
        return _legacy_error(400, "validation_violation", "Missing field or invalid value", details)
    event_type = f"{document['event-type']}.{document['event-type-version']}"
    try:
        route = await state.route(application, event_type)
    except NamingError as exc:
        return _legacy_error(400, "bad_payload_syntax", str(exc))
    failure = state.injected_failure(event_type)
    if failure is not None:
        return _legacy_error(failure, "injected", "failure injected by the test")
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
            "body_size": len(raw),
            "trace_headers": {k: v for k, v in request.headers.items() if k.lower() in TRACE_HEADERS},
            "received_at": time.time(),
            "backend": {**route, "originaltype": event_type},
        }
    )
    return web.json_response({"event-id": event_id, "status": "", "reason": ""})


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
    app = web.Application()  # the routes read their bodies themselves, under the proxy's own limit
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
    parser.add_argument("--max-request-size", type=int, default=MAX_REQUEST_SIZE,
                        help="body bytes a request may carry (the proxy's --max-request-size)")
    parser.add_argument("--backend", choices=[b.value for b in Backend], default=Backend.NATS.value)
    parser.add_argument("--event-type-prefix", default=Eventing().event_type_prefix)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--kubeconfig", type=Path, help="read Applications from this API server (source rewrite)")
    where.add_argument("--in-cluster", action="store_true",
                       help="read Applications with the pod's service account (the double runs as a pod)")
    args = parser.parse_args(argv)
    state = PublisherState(
        record=args.record,
        max_request_size=args.max_request_size,
        eventing=Eventing(backend=Backend(args.backend), event_type_prefix=args.event_type_prefix),
        applications=(api_server_applications(args.kubeconfig) if args.kubeconfig or args.in_cluster
                      else no_applications),
    )
    app = create_app(state)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None, loop=_loop())


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop only speeds the double up
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    main()
