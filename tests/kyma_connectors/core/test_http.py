"""The core HTTP client against real loopback servers: what is repeated, what is sent once, and every bound.

The servers count what reached them, so "not repeated" means the second request never arrived, not that a mock was
called once. Time is a fake clock: budgets and rate-limit waits of minutes run in milliseconds.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Final

import pytest
import requests

from devtools.doubles.qualtrics import QualtricsDouble
from kyma_connectors.core.errors import (
    NOT_REPEATED,
    OUT_OF_ATTEMPTS,
    OUT_OF_BUDGET,
    WAIT_TOO_LONG,
    NoAnswerError,
    OriginError,
    RateLimitedError,
    ServerFailureError,
)
from kyma_connectors.core.http import HttpClient, RetryPolicy, Throttle, retry_after_seconds
from tests.kyma_connectors.core.loopback import Answer, FakeClock, LossyProxy, ScriptedServer, free_port, scripted

pytestmark = pytest.mark.timeout(30)
SECRET: Final[str] = "Bearer s3cr3t-token-value"
QTOKEN: Final[str] = "qualtrics-core-token-0123"
POLICY: Final[RetryPolicy] = RetryPolicy(attempts=5, budget=60.0, first_delay=0.5, max_delay=4.0)
SUBSCRIBE: Final[dict[str, Any]] = {"topics": "surveyengine.completedResponse.SV_1", "publicationUrl": "https://gw/q"}


def client(url: str, clock: FakeClock, policy: RetryPolicy = POLICY, **options: Any) -> HttpClient:
    options.setdefault("timeout", (2.0, 2.0))
    return HttpClient(url, headers={"Authorization": SECRET}, policy=policy, clock=clock, **options)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def qualtrics() -> Iterator[QualtricsDouble]:
    with QualtricsDouble(tokens=(QTOKEN,)) as double:
        yield double


def qualtrics_client(url: str, clock: FakeClock) -> HttpClient:
    return HttpClient(url, headers={"X-API-TOKEN": QTOKEN}, policy=POLICY, clock=clock, timeout=(2.0, 5.0))


def qualtrics_fault(double: QualtricsDouble, status: int, count: int = 1) -> None:
    admin = double.url.removesuffix("/API/v3") + "/_admin/faults"
    requests.post(admin, json={"status": status, "count": count}, timeout=5).raise_for_status()


def subscription_posts(double: QualtricsDouble) -> list[int]:
    return [r["status"] for r in double.brand.requests if r["method"] == "POST"]


# --- what a POST gets: sent once when its fate is unknown ------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_post_is_not_repeated_after_a_5xx_of_unknown_fate(status: int, clock: FakeClock) -> None:
    with scripted(Answer(status)) as server:
        with pytest.raises(ServerFailureError) as caught:
            client(server.url, clock).request("POST", "/things", json={"name": "a"})
        assert server.methods() == ["POST"]
    assert caught.value.gave_up == NOT_REPEATED
    assert caught.value.status == status
    assert caught.value.attempts == 1
    assert "not repeated: POST is not idempotent" in str(caught.value)
    assert clock.slept == []


def test_a_post_is_not_repeated_after_a_read_timeout(clock: FakeClock) -> None:
    """The server got the request and is still working on it: a second POST could do the work twice."""
    with scripted(Answer(delay=0.6)) as server:
        with pytest.raises(NoAnswerError, match="timed out waiting") as caught:
            client(server.url, clock, timeout=(2.0, 0.2)).request("POST", "/things", json={"name": "a"})
        assert server.methods() == ["POST"]
    assert caught.value.gave_up == NOT_REPEATED
    assert caught.value.response is None


def test_a_post_is_not_repeated_after_a_dropped_connection(clock: FakeClock) -> None:
    with scripted(Answer(drop=True)) as server:
        with pytest.raises(NoAnswerError, match="cannot connect") as caught:
            client(server.url, clock).request("POST", "/things", json={})
        assert server.methods() == ["POST"]
    assert caught.value.gave_up == NOT_REPEATED


def test_no_duplicate_qualtrics_subscription_after_an_injected_500(
    qualtrics: QualtricsDouble, clock: FakeClock
) -> None:
    """The Qualtrics double answers the subscribe with an injected 500: the client does not send it again."""
    qualtrics_fault(qualtrics, 500, count=3)
    with pytest.raises(ServerFailureError, match="not repeated"):
        qualtrics_client(qualtrics.url, clock).request("POST", "/eventsubscriptions/", json=SUBSCRIBE)
    assert subscription_posts(qualtrics) == [500]
    assert qualtrics.brand.subscriptions == {}


def test_no_duplicate_qualtrics_subscription_when_the_answer_is_lost_after_creating(
    qualtrics: QualtricsDouble, clock: FakeClock
) -> None:
    """The failure that made repeated POSTs dangerous: Qualtrics created the subscription, the 502 came from in
    between. One POST reached the double, one subscription exists, and the caller learns it was not repeated."""
    with LossyProxy(qualtrics.url.removesuffix("/API/v3")) as proxy:
        proxy.lose = 1
        with pytest.raises(ServerFailureError) as caught:
            qualtrics_client(proxy.url + "/API/v3", clock).request("POST", "/eventsubscriptions/", json=SUBSCRIBE)
    assert caught.value.gave_up == NOT_REPEATED
    assert subscription_posts(qualtrics) == [200]
    assert len(qualtrics.brand.subscriptions) == 1


# --- what is repeated for every method: nothing was processed --------------------------------------------------------
@pytest.mark.parametrize("status", [429, 503])
def test_a_post_is_repeated_after_an_unprocessed_answer(
    status: int, qualtrics: QualtricsDouble, clock: FakeClock
) -> None:
    qualtrics_fault(qualtrics, status)
    answer = qualtrics_client(qualtrics.url, clock).request("POST", "/eventsubscriptions/", json=SUBSCRIBE)
    assert answer.status_code == 200
    assert subscription_posts(qualtrics) == [status, 200]
    assert len(qualtrics.brand.subscriptions) == 1
    assert clock.slept == [0.5]


def test_a_post_is_repeated_after_connection_refused(clock: FakeClock) -> None:
    """Nothing listened on the first attempt; the server is up by the second, which arrives exactly once."""
    port = free_port()
    started: list[ScriptedServer] = []
    clock.on_sleep = lambda _: started.append(ScriptedServer(port).__enter__())
    try:
        answer = client(f"http://127.0.0.1:{port}", clock).request("POST", "/things", json={"name": "a"})
        assert answer.status_code == 200
        assert started[0].methods() == ["POST"]
    finally:
        for server in started:
            server.__exit__()
    assert len(clock.slept) == 1


def test_a_post_to_a_closed_port_is_repeated_until_the_attempts_run_out(clock: FakeClock) -> None:
    http = client(f"http://127.0.0.1:{free_port()}", clock, RetryPolicy(attempts=3, budget=60, first_delay=1.0))
    with pytest.raises(NoAnswerError, match=r"cannot connect \(ConnectionRefusedError") as caught:
        http.request("POST", "/things", json={})
    assert caught.value.gave_up == OUT_OF_ATTEMPTS
    assert http.requests_sent == http.writes_sent == 3
    assert clock.slept == [1.0, 2.0]


# --- idempotent methods: repeated whatever happened ------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
def test_idempotent_methods_are_repeated_after_a_500(method: str, clock: FakeClock) -> None:
    with scripted(Answer(500), Answer(502)) as server:
        answer = client(server.url, clock).request(method, "/things/1")
        assert server.methods() == [method] * 3
    assert answer.status_code == 200
    assert clock.slept == [0.5, 1.0]


def test_a_get_is_repeated_after_a_read_timeout_and_a_dropped_connection(clock: FakeClock) -> None:
    with scripted(Answer(delay=0.6), Answer(drop=True)) as server:
        answer = client(server.url, clock, timeout=(2.0, 0.2)).request("GET", "/things")
        assert server.methods() == ["GET"] * 3
    assert answer.status_code == 200


def test_patch_is_repeated_only_where_declared_idempotent(clock: FakeClock) -> None:
    """A PATCH is sent once by default; a client or a request that declares it idempotent repeats it."""
    with scripted() as server:
        server.answer(Answer(502))
        with pytest.raises(ServerFailureError, match="not repeated"):
            client(server.url, clock).request("PATCH", "/hooks/1", json={"active": True})
        server.answer(Answer(502))
        assert client(server.url, clock, idempotent_patch=True).request("PATCH", "/hooks/1").status_code == 200
        server.answer(Answer(502))
        assert client(server.url, clock).request("PATCH", "/hooks/1", idempotent=True).status_code == 200
        assert server.methods() == ["PATCH"] * 5
    with scripted(Answer(500)) as server:
        with pytest.raises(ServerFailureError, match="not repeated: PUT"):
            client(server.url, clock).request("PUT", "/counter", idempotent=False)
        assert server.methods() == ["PUT"]


def test_final_answers_are_returned_at_once(clock: FakeClock) -> None:
    """4xx and a 501 are answers for the caller to interpret, not failures to retry."""
    with scripted(Answer(404), Answer(422), Answer(501)) as server:
        http = client(server.url, clock)
        assert [http.request("GET", "/x").status_code for _ in range(3)] == [404, 422, 501]
    assert clock.slept == []


# --- bounds ----------------------------------------------------------------------------------------------------------
def test_the_time_budget_bounds_a_call(clock: FakeClock) -> None:
    """Delays 0.2, 0.4, 0.8: the third would end after the 1 s budget, so the call stops after three attempts."""
    policy = RetryPolicy(attempts=100, budget=1.0, first_delay=0.2, max_delay=5.0)
    with scripted(*[Answer(503)] * 10) as server:
        with pytest.raises(ServerFailureError, match=r"HTTP 503 \(gave up after 3 attempts") as caught:
            client(server.url, clock, policy).request("GET", "/x")
        assert server.methods() == ["GET"] * 3
    assert caught.value.gave_up == OUT_OF_BUDGET
    assert clock.slept == [0.2, 0.4]
    assert caught.value.elapsed == pytest.approx(0.6)


def test_attempts_bound_a_call(clock: FakeClock) -> None:
    policy = RetryPolicy(attempts=4, budget=3600.0, first_delay=1.0, max_delay=2.0)
    with scripted(*[Answer(500)] * 10) as server:
        with pytest.raises(ServerFailureError, match="gave up after 4 attempts") as caught:
            client(server.url, clock, policy).request("GET", "/x")
        assert len(server.seen) == 4
    assert caught.value.gave_up == OUT_OF_ATTEMPTS
    assert clock.slept == [1.0, 2.0, 2.0]  # doubling, capped at max_delay


def test_jitter_draws_each_delay_between_half_and_all_of_it(clock: FakeClock) -> None:
    policy = RetryPolicy(attempts=6, first_delay=1.0, max_delay=100.0, jitter=0.5)
    with scripted(*[Answer(503)] * 5) as server:
        client(server.url, clock, policy, rng=random.Random(7)).request("GET", "/x")
    for slept, full in zip(clock.slept, (1.0, 2.0, 4.0, 8.0, 16.0), strict=True):
        assert full / 2 <= slept <= full
    assert len(set(round(s / f, 6) for s, f in zip(clock.slept, (1, 2, 4, 8, 16), strict=True))) > 1


def test_a_policy_that_cannot_try_is_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=1.5)


# --- Retry-After and rate-limit readers ------------------------------------------------------------------------------
def test_retry_after_is_a_hint_capped_at_max_delay(clock: FakeClock) -> None:
    with scripted(Answer(503, {"Retry-After": "30"}), Answer(429, {"Retry-After": "2"})) as server:
        assert client(server.url, clock).request("POST", "/x").status_code == 200
    assert clock.slept == [4.0, 2.0]  # 30 s capped at max_delay 4; 2 s beats the 1 s backoff


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now.timestamp()) == pytest.approx(90.0)
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=5), usegmt=True), now.timestamp()) == 0.0
    assert retry_after_seconds("soon", now.timestamp()) is None
    assert retry_after_seconds(" 12 ", now.timestamp()) == 12.0


def quota_reader(response: requests.Response) -> Throttle | None:
    """A stand-in for an API's own rules (the hook library's GitHub reader): 403 + X-Quota-Wait is binding."""
    wait = response.headers.get("X-Quota-Wait")
    if response.status_code == 403 and wait:
        return Throttle(float(wait), binding=True, reset_at=5000.0)
    return None


def test_a_binding_rate_limit_is_waited_out_exactly_even_for_a_post(clock: FakeClock) -> None:
    with scripted(Answer(403, {"X-Quota-Wait": "120"}), Answer(403, {"X-Quota-Wait": "7"})) as server:
        policy = RetryPolicy(budget=600.0)
        answer = client(server.url, clock, policy, rate_limits=quota_reader).request("POST", "/x", json={})
        assert server.methods() == ["POST"] * 3
    assert answer.status_code == 200
    assert clock.slept == [120.0, 7.0]  # not capped at max_delay: a quota window cannot be beaten by retrying


def test_a_rate_limit_wait_beyond_the_maximum_fails_at_once_with_the_reset(clock: FakeClock) -> None:
    reader = {"rate_limits": quota_reader}
    with scripted(Answer(403, {"X-Quota-Wait": "3600"})) as server, pytest.raises(RateLimitedError) as caught:
        client(server.url, clock, RetryPolicy(budget=7200.0), **reader).request("GET", "/x")
    assert "resets in 3600 s" in str(caught.value)
    assert caught.value.gave_up == WAIT_TOO_LONG
    assert caught.value.reset_at == 5000.0
    assert caught.value.wait == 3600.0
    assert clock.slept == []


def test_a_rate_limit_wait_past_the_budget_fails_at_once(clock: FakeClock) -> None:
    with scripted(Answer(403, {"X-Quota-Wait": "120"})) as server, pytest.raises(RateLimitedError) as caught:
        client(server.url, clock, RetryPolicy(budget=60.0), rate_limits=quota_reader).request("GET", "/x")
    assert caught.value.gave_up == OUT_OF_BUDGET
    assert clock.slept == []


def test_a_403_the_reader_does_not_claim_is_final(clock: FakeClock) -> None:
    with scripted(Answer(403)) as server:
        assert client(server.url, clock, rate_limits=quota_reader).request("GET", "/x").status_code == 403
        assert len(server.seen) == 1


# --- origin guard and secrets ----------------------------------------------------------------------------------------
def test_links_to_another_origin_are_refused(clock: FakeClock) -> None:
    http = client("https://api.github.com", clock)
    assert http.url_for("https://api.github.com/repos/o/r/hooks?page=2").endswith("page=2")
    with pytest.raises(OriginError, match=r"another origin: https://evil\.example"):
        http.url_for("https://evil.example/repos/o/r/hooks?page=2")
    with pytest.raises(OriginError):
        http.url_for("http://api.github.com/repos")  # same host, another scheme


def test_a_redirect_to_another_origin_is_not_followed(clock: FakeClock) -> None:
    """The credential would travel with the redirected request: the other server must never see it."""
    with scripted() as elsewhere, scripted() as server:
        server.answer(Answer(307, {"Location": elsewhere.url + "/steal"}))
        with pytest.raises(OriginError, match="redirect to another origin"):
            client(server.url, clock).request("GET", "/x")
        assert elsewhere.seen == []
        server.answer(Answer(301, {"Location": "/moved"}))
        assert client(server.url, clock).request("GET", "/x").status_code == 200
        assert [seen.path for seen in server.seen] == ["/x", "/x", "/moved"]
        assert server.seen[-1].headers["Authorization"] == SECRET


def test_credentials_stay_out_of_repr_errors_and_logs(clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kyma_connectors.core.http")
    http = client(f"http://127.0.0.1:{free_port()}", clock, RetryPolicy(attempts=2))
    with pytest.raises(NoAnswerError) as caught:
        http.request("GET", "/x", params={"page": "2"})
    assert caplog.records, "a retry is logged"
    texts = [repr(http), str(caught.value), caplog.text, repr(caught.value.__dict__)]
    assert not [text for text in texts if "s3cr3t" in text]


def test_requests_and_writes_are_counted_per_attempt(clock: FakeClock) -> None:
    with scripted(Answer(503), Answer(200), Answer(200)) as server:
        http = client(server.url, clock)
        http.request("PUT", "/a", json={})
        http.request("GET", "/a")
    assert (http.requests_sent, http.writes_sent) == (3, 2)
