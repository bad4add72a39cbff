"""The publishing client against the publisher double, in-process: encoding, legacy body, error classification."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Awaitable, Callable

import pytest
from aiohttp import web
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cloudevents.core.bindings.http import to_binary_event as sdk_to_binary
from cloudevents.core.v1.event import CloudEvent

from devtools.doubles.publisher import PublisherState, create_app
from kyma_connectors.gateway.errors import PermanentPublishError, TemporaryPublishError
from kyma_connectors.gateway.publisher import Publisher, binary_headers, header_value, legacy_body
from kyma_connectors.gateway.records import Event
from tests.kyma_connectors.gateway.harness import free_port

pytestmark = pytest.mark.timeout(30)
EVENT = Event(
    id="d-1", type="issues.opened.v1", source="app", time="2026-01-01T00:00:00.000Z", data=b'{"x": "\xc3\xa9"}',
    subject='caf\u00e9 "o/r" 100%', extensions={"nativeevent": "issues", "nativeaction": "opened"},
)


async def with_double(scenario: Callable[[str, PublisherState], Awaitable[None]]) -> None:
    state = PublisherState()
    runner = web.AppRunner(create_app(state))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await scenario(f"http://127.0.0.1:{port}", state)
    finally:
        await runner.cleanup()


def test_binary_event_round_trips_through_the_cloudevents_sdk() -> None:
    """Attributes, extensions and a non-ASCII subject (percent-encoded in its header) arrive intact; keep-alive."""

    async def scenario(url: str, state: PublisherState) -> None:
        publisher = Publisher(url, "app", legacy=False, timeout=5, connections=2)
        for _ in range(3):
            await publisher.publish(EVENT, {})
        await publisher.close()
        first = state.events[0]
        assert len(state.events) == 3
        assert (first["id"], first["type"], first["source"], first["subject"]) == (
            "d-1", "issues.opened.v1", "app", EVENT.subject
        )
        assert first["extensions"] == {"nativeevent": "issues", "nativeaction": "opened"}
        assert first["data"] == {"x": "\u00e9"}

    asyncio.run(with_double(scenario))


@pytest.mark.parametrize("value", [
    "plain-ascii/o:r@x", "with space", 'quote "q"', "100% sure", "caf\u00e9 \u2603", "tab\there", "~!#$&'()*+,;=?[]",
])
def test_header_values_are_encoded_like_the_cloudevents_sdk(value: str) -> None:
    """HTTP binding 3.1.3.2: space, ``"``, ``%`` and non-printable/non-ASCII are percent-encoded; the SDK encodes a
    CloudEvent with that subject to the same header, and decodes ours back to the original value."""
    sdk_event = CloudEvent(attributes={"id": "1", "source": "app", "type": "t.v1", "specversion": "1.0",
                                       "subject": value})
    sdk_headers = {k.lower(): v for k, v in sdk_to_binary(sdk_event).headers.items()}
    assert header_value(value) == sdk_headers["ce-subject"]
    assert all(0x21 <= ord(ch) <= 0x7E and ch not in ' "' for ch in header_value(value))
    ours = binary_headers(Event(id="1", type="t.v1", source="app", time="2026-01-01T00:00:00Z", data=b"{}",
                                subject=value, extensions={"note": value}))
    decoded = from_http_event(HTTPMessage(headers=ours, body=b"{}"))
    assert decoded.get_attributes()["subject"] == value
    assert decoded.get_attributes()["note"] == value


def test_legacy_body_shape() -> None:
    body = json.loads(legacy_body(EVENT))
    assert body["event-type"] == "issues.opened"
    assert body["event-type-version"] == "v1"
    assert len(body["event-id"]) == 36  # "d-1" is not a UUID: mapped to a stable name-based one
    assert json.loads(legacy_body(EVENT))["event-id"] == body["event-id"]
    assert body["data"] == {"x": "\u00e9"}


def test_failures_are_classified() -> None:
    async def scenario(url: str, state: PublisherState) -> None:
        publisher = Publisher(url, "app", legacy=False, timeout=5, connections=2)
        state.fail_next, state.fail_status = 1, 503
        with pytest.raises(TemporaryPublishError):
            await publisher.publish(EVENT, {})
        state.fail_next, state.fail_status = 1, 429
        with pytest.raises(TemporaryPublishError):
            await publisher.publish(EVENT, {})
        for status in (401, 403):  # EventMesh's answers while the proxy's token is refreshed: passed through
            state.fail_next, state.fail_status = 1, status
            with pytest.raises(TemporaryPublishError) as temporary:
                await publisher.publish(EVENT, {})
            assert temporary.value.http_status == status
        state.reject_types = {"issues.opened.v1"}
        with pytest.raises(PermanentPublishError) as info:
            await publisher.publish(EVENT, {})
        assert info.value.http_status == 400
        await publisher.close()

    asyncio.run(with_double(scenario))


def test_a_body_over_the_limit_is_named_not_sent() -> None:
    """A lowered limit after spooling, and a proxy whose limit is below ours, each give an error naming the setting."""

    async def scenario(url: str, state: PublisherState) -> None:
        big = Event(id="b-1", type="issues.opened.v1", source="app", time="2026-01-01T00:00:00Z",
                    data=b'{"x": "' + b"a" * 70_000 + b'"}')
        strict = Publisher(url, "app", legacy=False, timeout=5, connections=1, max_bytes=65536)
        with pytest.raises(PermanentPublishError, match="GATEWAY_PUBLISH_MAX_BYTES=65536"):
            await strict.publish(big, {})
        lax = Publisher(url, "app", legacy=False, timeout=5, connections=1, max_bytes=1 << 20)
        with pytest.raises(PermanentPublishError, match="max-request-size") as info:
            await lax.publish(big, {})
        assert info.value.http_status == 400  # the proxy's answer for /publish (EPP handler.go publishCloudEvents)
        legacy = Publisher(url, "app", legacy=True, timeout=5, connections=1, max_bytes=1 << 20)
        with pytest.raises(PermanentPublishError, match="max-request-size") as legacy_info:
            await legacy.publish(big, {})
        assert legacy_info.value.http_status == 413
        assert state.events == []
        for client in (strict, lax, legacy):
            await client.close()

    asyncio.run(with_double(scenario))


async def _silent_server() -> AsyncGenerator[int, None]:
    async def ignore(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(10)

    server = await asyncio.start_server(ignore, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


def test_unreachable_and_silent_publishers_are_temporary() -> None:
    async def scenario() -> None:
        refused = Publisher(f"http://127.0.0.1:{free_port()}", "app", legacy=False, timeout=2, connections=1)
        with pytest.raises(TemporaryPublishError, match="unreachable"):
            await refused.publish(EVENT, {})
        silent = _silent_server()
        port = await anext(silent)
        slow = Publisher(f"http://127.0.0.1:{port}", "app", legacy=False, timeout=0.3, connections=1)
        with pytest.raises(TemporaryPublishError, match="timed out"):
            await slow.publish(EVENT, {})
        await slow.close()
        await silent.aclose()

    asyncio.run(scenario())

