"""The client of Kyma's eventing publisher proxy: one event per request, binary CloudEvents or the legacy format.

Contract (docs/kyma-contracts.md, "Eventing: the publisher proxy"; eventing-publisher-proxy pkg/handler/handler.go):
``POST <base>/publish`` in binary mode (``ce-*`` headers, the data as body) answers 204; ``POST
<base>/<application>/v1/events`` takes the Kyma 1.x body ``{event-type, event-type-version, event-id, event-time,
data}`` and answers 200. Which failures are worth a retry is decided here, so the forwarder only sees two error types:

- retried: no answer, 5xx (the proxy's own backend errors: 502 no NATS connection, 504 no stream answer, 507 no
  space; pkg/sender/jetstream/jetstream.go), 408, 425, 429, and **401/403**: the proxy has no authentication of its
  own, it passes EventMesh's status through (pkg/sender/eventmesh/eventmesh.go ``Send``), and EventMesh answers
  401/403 while the proxy's OAuth token is being refreshed; an Istio authorization denial is also a configuration
  that gets fixed, not a property of the event;
- permanent (dead-lettered): any other 4xx, e.g. 400 for an event the proxy cannot build. Bodies over the proxy's
  size limit never get here: kyma_connectors/gateway/oversize.py fits or refuses them on receipt.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Final
from urllib.parse import quote

from kyma_connectors.gateway.errors import PermanentPublishError, TemporaryPublishError
from kyma_connectors.gateway.httpclient import HttpClient, HttpClientError
from kyma_connectors.gateway.oversize import DEFAULT_PUBLISH_MAX_BYTES
from kyma_connectors.gateway.records import Event

RETRIABLE_STATUSES: Final[frozenset[int]] = frozenset({401, 403, 408, 425, 429})
HEADER_SAFE: Final[str] = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in ' "%')
"""Printable ASCII except space, ``"`` and ``%``: what a CloudEvents header value carries as is (HTTP binding
section 3.1.3.2); everything else is percent-encoded as UTF-8."""
_HEADER_SAFE_SET: Final[frozenset[str]] = frozenset(HEADER_SAFE)
UUID_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[a-fA-F0-9]{8}-([a-fA-F0-9]{4}-){3}[a-fA-F0-9]{12}$")
VERSION_PATTERN: Final[re.Pattern[str]] = re.compile(r"^v[0-9]+$")
TOO_LARGE: Final[bytes] = b"request body too large"
"""What the proxy answers (400 on /publish) when Go's ``http.MaxBytesReader`` stops the body
(pkg/handler/handler.go ``maxBytes``)."""
LEGACY_ID_NAMESPACE: Final[uuid.UUID] = uuid.UUID("0b7f4c1e-7f3a-4d2b-8c55-2c0e6f1d9a40")


def binary_headers(event: Event) -> dict[str, str]:
    """CloudEvents HTTP binding, binary content mode (spec http-protocol-binding section 3.1)."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": event.id,
        "ce-type": event.type,
        "ce-source": event.source,
        "ce-time": event.time,
        "content-type": "application/json",
    }
    if event.subject is not None:
        headers["ce-subject"] = event.subject
    for name, value in event.extensions.items():
        headers[f"ce-{name}"] = value
    return {name: header_value(value) for name, value in headers.items()}


def header_value(value: str) -> str:
    """CloudEvents HTTP binding section 3.1.3.2: percent-encode space, ``"``, ``%`` and every character outside
    U+0021..U+007E (as UTF-8), as the cloudevents SDK does (``cloudevents.core.bindings.http``).

    Kyma's proxy and eventing-manager use cloudevents/sdk-go, which passes header values through verbatim
    (v2/protocol/http/message.go ``ReadBinary``), so the encoded form reaches the subscriber, whose SDK decodes it.
    """
    if _HEADER_SAFE_SET.issuperset(value):
        return value
    return quote(value, safe=HEADER_SAFE)


def legacy_body(event: Event) -> bytes:
    """The Kyma 1.x publish request; the type's last ``vN`` segment becomes ``event-type-version``.

    ``event-id`` must be a UUID there: ids that are not (generic sources' own ids) are mapped to a name-based UUID,
    which keeps them stable.
    """
    head, _, last = event.type.rpartition(".")
    event_type, version = (head, last) if head and VERSION_PATTERN.match(last) else (event.type, "v1")
    event_id = event.id if UUID_PATTERN.match(event.id) else str(uuid.uuid5(LEGACY_ID_NAMESPACE, event.id))
    envelope = json.dumps(
        {"event-type": event_type, "event-type-version": version, "event-id": event_id, "event-time": event.time}
    ).encode("utf-8")
    return envelope[:-1] + b', "data": ' + event.data + b"}"  # data spliced in as-is: no re-encoding of the payload


class Publisher:
    """Publishes events over a keep-alive connection pool; raises Temporary/PermanentPublishError."""

    def __init__(self, base_url: str, application: str, *, legacy: bool, timeout: float, connections: int,
                 max_bytes: int = DEFAULT_PUBLISH_MAX_BYTES) -> None:
        self.legacy = legacy
        self.max_bytes = max_bytes
        self.path = f"/{application}/v1/events" if legacy else "/publish"
        self.url = base_url + self.path
        self._client = HttpClient(base_url, connections=connections, timeout=timeout)

    async def start(self) -> None:
        """Nothing to open ahead of time: connections are made on first use (the publisher may well be down)."""

    async def close(self) -> None:
        await self._client.close()

    async def publish(self, event: Event, trace_headers: Mapping[str, str]) -> None:
        if self.legacy:
            headers = {"content-type": "application/json", **trace_headers}
            body = legacy_body(event)
        else:
            headers = binary_headers(event)
            if trace_headers:
                headers.update(trace_headers)
            body = event.data
        if len(body) > self.max_bytes:  # only if the limit was lowered after the event was spooled
            raise PermanentPublishError(
                f"event body of {len(body)} bytes exceeds GATEWAY_PUBLISH_MAX_BYTES={self.max_bytes}; "
                "it was accepted under a larger limit"
            )
        try:
            status, answer = await self._client.post(self.path, headers, body)
        except HttpClientError as exc:
            raise TemporaryPublishError(f"publisher unreachable: {exc}") from exc
        if 200 <= status < 300:
            return
        message = f"publisher answered {status}: {answer[:200].decode('utf-8', 'replace')}".strip()
        if status >= 500 or status in RETRIABLE_STATUSES:
            raise TemporaryPublishError(message, status=status)
        if status == 413 or TOO_LARGE in answer[:200]:
            message += (f" (the publisher's --max-request-size is below GATEWAY_PUBLISH_MAX_BYTES={self.max_bytes}:"
                        " lower that setting)")
        raise PermanentPublishError(message, status=status)
