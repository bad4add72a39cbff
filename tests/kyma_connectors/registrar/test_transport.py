"""Bounded backoff and the transient/permanent split, against the loopback registry double."""

from __future__ import annotations

import pytest
import requests

from devtools.doubles.registry import RegistryDouble
from kyma_connectors.registrar.errors import ApiError, TransientError
from kyma_connectors.registrar.transport import HttpClient, RetryPolicy
from tests.kyma_connectors.core.loopback import Answer, scripted

pytestmark = pytest.mark.timeout(30)
HEALTH = "/github-acme/v1/health"


def _client(url: str, budget: float = 2.0) -> tuple[HttpClient, list[float]]:
    slept: list[float] = []
    client = HttpClient(url, requests.Session(), timeout=2, policy=RetryPolicy(budget=budget, first_delay=0.01,
                                                                                 max_delay=0.05),
                        target="registry", sleep=slept.append)
    return client, slept


def test_delays_double_up_to_the_cap() -> None:
    delays = RetryPolicy(first_delay=0.2, max_delay=1.0).delays()
    assert [next(delays) for _ in range(5)] == [0.2, 0.4, 0.8, 1.0, 1.0]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(registry: RegistryDouble, status: int) -> None:
    registry.fail_next(status, times=2)
    client, slept = _client(registry.url)

    response = client.request("GET", HEALTH)

    assert response.status_code == 200
    assert client.requests_sent == 3
    assert slept == [0.01, 0.02]


def test_retry_after_is_honoured_within_the_cap(registry: RegistryDouble) -> None:
    registry.fail_next(429, retry_after="30")
    slept: list[float] = []
    client = HttpClient(registry.url, requests.Session(), timeout=2, policy=RetryPolicy(budget=10, max_delay=0.5),
                        target="registry", sleep=slept.append)

    assert client.request("GET", HEALTH).status_code == 200
    assert slept == [0.5]  # Retry-After 30 s, bounded by max_delay


def test_budget_exhausted_becomes_transient_with_the_last_reason(registry: RegistryDouble) -> None:
    registry.fail_next(503, times=1000)
    now = [0.0]
    client = HttpClient(registry.url, requests.Session(), timeout=2, policy=RetryPolicy(budget=1.0),
                        target="registry", sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])

    with pytest.raises(TransientError, match=r"registry: GET .*: HTTP 503 injected fault \(gave up after 3 attempts"):
        client.request("GET", HEALTH)
    assert now[0] <= 1.0


def test_client_errors_are_permanent_with_the_server_message(registry: RegistryDouble) -> None:
    client, _ = _client(registry.url)

    with pytest.raises(ApiError) as caught:
        client.request("PUT", "/github-acme/v1/metadata/services/not-a-uuid", json={"name": "x"})

    assert caught.value.status == 400
    assert "Invalid path parameter: serviceId" in str(caught.value)
    assert client.requests_sent == 1
    assert client.writes_sent == 1


def test_connection_refused_is_retried_then_transient() -> None:
    client, slept = _client("http://127.0.0.1:9", budget=0.05)

    with pytest.raises(TransientError, match="cannot connect"):
        client.request("GET", HEALTH)
    assert client.requests_sent >= 2
    assert slept


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_post_whose_fate_is_unknown_is_not_repeated(registry: RegistryDouble, status: int) -> None:
    registry.fail_next(status, method="POST")
    client, slept = _client(registry.url)

    with pytest.raises(TransientError, match="not repeated: POST is not idempotent"):
        client.request("POST", "/github-acme/v1/metadata/services",
                       json={"provider": "p", "name": "n", "description": "d"})
    assert client.requests_sent == 1
    assert slept == []


@pytest.mark.parametrize("status", [429, 503])
def test_a_post_the_server_did_not_act_on_is_repeated(registry: RegistryDouble, status: int) -> None:
    registry.fail_next(status, method="POST")
    client, _ = _client(registry.url)

    response = client.request("POST", "/github-acme/v1/metadata/services",
                              json={"provider": "p", "name": "n", "description": "d"})

    assert response.status_code == 200
    assert client.requests_sent == 2
    assert len(registry.services["github-acme"]) == 1


def test_a_post_to_a_closed_port_is_repeated_because_nothing_was_sent() -> None:
    client, _ = _client("http://127.0.0.1:9", budget=0.05)

    with pytest.raises(TransientError, match=r"cannot connect \(ConnectionRefusedError"):
        client.request("POST", "/x", json={})
    assert client.requests_sent >= 2


def test_a_server_side_apply_is_repeated_after_a_502() -> None:
    """The only PATCH the registrar sends is a server-side apply of the whole desired state: the client declares it
    idempotent, so a lost answer is retried in the run instead of failing the Job."""
    with scripted(Answer(502)) as server:
        client, slept = _client(server.url)
        response = client.request("PATCH", "/apis/x/applications/a", data=b"{}",
                                  headers={"Content-Type": "application/apply-patch+yaml"})
        assert response.status_code == 200
        assert server.methods() == ["PATCH", "PATCH"]
        assert server.seen[-1].headers["Content-Type"] == "application/apply-patch+yaml"
    assert slept == [0.01]
    assert (client.requests_sent, client.writes_sent) == (2, 2)


def test_a_post_whose_answer_times_out_is_not_repeated() -> None:
    with scripted(Answer(delay=0.6)) as server:
        slept: list[float] = []
        client = HttpClient(server.url, requests.Session(), timeout=0.2, policy=RetryPolicy(budget=2.0),
                            target="registry", sleep=slept.append)
        with pytest.raises(TransientError, match=r"registry: POST /s: timed out .*not repeated"):
            client.request("POST", "/s", json={})
        assert server.methods() == ["POST"]
    assert slept == []


def test_a_url_that_cannot_be_sent_is_permanent() -> None:
    client, _ = _client("http://127.0.0.1:9")
    with pytest.raises(ApiError, match="cannot send"):
        client.request("GET", "/bad\nheader", headers={"X-Bad": "a\nb"})
