"""The client of Kyma's eventing publisher proxy: one event per request, binary CloudEvents or the legacy format.

Contract (../shared/docs/kyma-contracts.md section c; kyma-project/eventing-publisher-proxy pkg/handler):
``POST <base>/publish`` in binary mode (``ce-*`` headers, the data as body) answers 204; ``POST
<base>/<application>/v1/events`` takes the Kyma 1.x body ``{event-type, event-type-version, event-id, event-time,
data}`` and answers 200. Which failures are worth a retry is decided here, so the forwarder only sees two error types.
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
from kyma_connectors.gateway.records import Event

RETRIABLE_STATUSES: Final[frozenset[int]] = frozenset({408, 425, 429})
UUID_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[a-fA-F0-9]{8}-([a-fA-F0-9]{4}-){3}[a-fA-F0-9]{12}$")
VERSION_PATTERN: Final[re.Pattern[str]] = re.compile(r"^v[0-9]+$")
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
    return {name: _header_value(value) for name, value in headers.items()}


def _header_value(value: str) -> str:
    """Percent-encode what HTTP headers cannot carry (CloudEvents HTTP binding, section 3.1.3.2)."""
    if value.isascii() and value.isprintable() and '"' not in value and "%" not in value:
        return value
    return quote(value, safe=" !#$&'()*+,/:;<=>?@[]^`{|}")


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

    def __init__(self, base_url: str, application: str, *, legacy: bool, timeout: float, connections: int) -> None:
        self.legacy = legacy
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
            headers = {**binary_headers(event), **trace_headers}
            body = event.data
        try:
            status, answer = await self._client.post(self.path, headers, body)
        except HttpClientError as exc:
            raise TemporaryPublishError(f"publisher unreachable: {exc}") from exc
        if 200 <= status < 300:
            return
        message = f"publisher answered {status}: {answer[:200].decode('utf-8', 'replace')}".strip()
        if status >= 500 or status in RETRIABLE_STATUSES:
            raise TemporaryPublishError(message, status=status)
        raise PermanentPublishError(message, status=status)
