"""Rate limits, server errors and timeouts, against the GitHub double's injected faults and a fake clock."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from devtools.doubles.github import GitHubDouble
from devtools.doubles.qualtrics import QualtricsDouble
from kyma_connectors.hooks.errors import RateLimitedError, ServerError, TransportError, WebhookError
from kyma_connectors.hooks.github import GitHubHooks
from kyma_connectors.hooks.github_auth import github_headers
from kyma_connectors.hooks.qualtrics import QualtricsSubscriptions
from kyma_connectors.hooks.transport import RetryPolicy, Transport
from tests.kyma_connectors.core.loopback import Answer, LossyProxy, scripted
from tests.kyma_connectors.hooks.helpers import TOKEN, FakeClock, admin, github_spec, qualtrics_spec

pytestmark = pytest.mark.timeout(30)
RATE_LIMITED = {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "x", "status": "403"}


def transport(url: str, clock: FakeClock, **policy: Any) -> Transport:
    return Transport(url, github_headers(TOKEN), policy=RetryPolicy(timeout=(2.0, 5.0), **policy), clock=clock)


def test_primary_rate_limit_waits_until_reset_then_succeeds(github: GitHubDouble, clock: FakeClock) -> None:
    """403 with x-ratelimit-remaining 0: sleep until x-ratelimit-reset (+1 s), then the retry goes through."""
    admin(
        github.url, "POST", "faults", {"status": 403, "body": RATE_LIMITED, "exhaust_rate_limit": True, "reset_in": 120}
    )
    answer = transport(github.url, clock).request("GET", "/repos/octo/hello/hooks")
    assert answer.status_code == 200
    assert len(clock.slept) == 1
    assert 115 <= clock.slept[0] <= 125


def test_secondary_rate_limit_honours_retry_after(github: GitHubDouble, clock: FakeClock) -> None:
    admin(
        github.url,
        "POST",
        "faults",
        {
            "status": 429,
            "headers": {"Retry-After": "7"},
            "count": 2,
            "body": {"message": "You have exceeded a secondary rate limit."},
        },
    )
    answer = transport(github.url, clock).request("GET", "/repos/octo/hello/hooks")
    assert answer.status_code == 200
    assert clock.slept == [7.0, 7.0]


def test_secondary_rate_limit_without_headers_waits_a_minute(github: GitHubDouble, clock: FakeClock) -> None:
    """GitHub: without retry-after, wait at least one minute."""
    admin(
        github.url,
        "POST",
        "faults",
        {"status": 403, "body": {"message": "You have exceeded a secondary rate limit. Please wait."}},
    )
    transport(github.url, clock).request("GET", "/repos/octo/hello/hooks")
    assert clock.slept == [60.0]


def test_rate_limit_reset_too_far_fails_with_the_reset_time(github: GitHubDouble, clock: FakeClock) -> None:
    """A reset an hour away is not waited for: the error says when to retry, and nothing slept."""
    admin(
        github.url,
        "POST",
        "faults",
        {"status": 403, "body": RATE_LIMITED, "exhaust_rate_limit": True, "reset_in": 3600},
    )
    with pytest.raises(RateLimitedError, match="resets in") as info:
        transport(github.url, clock).request("GET", "/repos/octo/hello/hooks")
    assert info.value.reset_at is not None
    assert info.value.reset_at > clock.now() + 3000
    assert clock.slept == []


def test_plain_403_is_not_retried(github: GitHubDouble, clock: FakeClock) -> None:
    """A permission 403 (no rate-limit signal) comes back at once for the client to explain."""
    admin(github.url, "POST", "faults", {"status": 403, "body": {"message": "Must have admin rights to Repository."}})
    assert transport(github.url, clock).request("GET", "/repos/octo/hello/hooks").status_code == 403
    assert clock.slept == []


def test_server_errors_back_off_exponentially_then_succeed(github: GitHubDouble, clock: FakeClock) -> None:
    admin(github.url, "POST", "faults", {"status": 502, "count": 3, "body": {"message": "Server Error"}})
    answer = transport(github.url, clock, backoff=1.0).request("GET", "/repos/octo/hello/hooks")
    assert answer.status_code == 200
    assert len(clock.slept) == 3
    assert [round(s / base, 2) <= 1.0 for s, base in zip(clock.slept, (1, 2, 4), strict=True)] == [True] * 3
    assert clock.slept[2] >= 2.0  # 4 s with jitter in [0.5, 1.0]


def test_server_errors_are_bounded(github: GitHubDouble, clock: FakeClock) -> None:
    admin(github.url, "POST", "faults", {"status": 500, "count": 10, "body": {"message": "boom"}})
    with pytest.raises(ServerError, match="after 3 attempts"):
        transport(github.url, clock, attempts=3).request("GET", "/repos/octo/hello/hooks")
    assert len(clock.slept) == 2


def test_connection_refused_is_a_transport_error(clock: FakeClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransportError, match="no answer after 2 attempts"):
        transport(f"http://127.0.0.1:{port}", clock, attempts=2).request("GET", "/repos/octo/hello/hooks")


def test_links_to_another_origin_are_refused(clock: FakeClock) -> None:
    """A pagination link pointing elsewhere would carry our token there: refuse it."""
    with pytest.raises(WebhookError, match="another origin"):
        transport("https://api.github.com", clock).url_for("https://evil.example/repos/o/r/hooks?page=2")


def test_spent_hourly_budget_fails_fast_with_the_reset(clock: FakeClock) -> None:
    """The double's real budget runs out (limit 1): the client sees remaining 0 and an hour to reset, and stops."""
    with GitHubDouble(tokens=(TOKEN,), rate_limit=1) as small:
        client = transport(small.url, clock)
        assert client.request("GET", "/repos/octo/hello/hooks").status_code == 200
        with pytest.raises(RateLimitedError, match="rate limited"):
            client.request("GET", "/repos/octo/hello/hooks")
    assert clock.slept == []


def posts(double: GitHubDouble | QualtricsDouble) -> list[int]:
    world = double.world if isinstance(double, GitHubDouble) else double.brand
    return [r["status"] for r in world.requests if r["method"] == "POST"]


def test_a_hook_create_is_not_repeated_after_a_5xx(github: GitHubDouble, clock: FakeClock) -> None:
    """A POST whose fate is unknown is sent once: repeating it could create a second hook."""
    admin(github.url, "POST", "faults", {"status": 502, "method": "POST", "body": {"message": "Server Error"}})
    hooks = GitHubHooks.for_spec(github_spec(github.url, "https://gw.example/hook"), clock=clock)
    with pytest.raises(ServerError, match="HTTP 502 after 1 attempt; not repeated") as info:
        hooks.create(github_spec(github.url, "https://gw.example/hook"))
    assert info.value.status == 502
    assert posts(github) == [502]
    assert clock.slept == []


def test_a_lost_subscribe_answer_leaves_one_qualtrics_subscription(
    qualtrics: QualtricsDouble, clock: FakeClock
) -> None:
    """Qualtrics created the subscription and a 502 came back from in between: no second subscribe follows."""
    with LossyProxy(qualtrics.url.removesuffix("/API/v3")) as proxy:
        proxy.lose = 1
        spec = qualtrics_spec(proxy.url + "/API/v3", "https://gw.example/q")
        with pytest.raises(ServerError, match="not repeated"):
            QualtricsSubscriptions.for_spec(spec, clock=clock).create("surveyengine.completedResponse", spec.url, "k")
    assert posts(qualtrics) == [200]
    assert len(qualtrics.brand.subscriptions) == 1


def test_a_subscribe_is_repeated_after_throttling(qualtrics: QualtricsDouble, clock: FakeClock) -> None:
    """A 429 says nothing was done: the POST is sent again after the wait, and one subscription results."""
    admin(qualtrics.url.removesuffix("/API/v3"), "POST", "faults", {"status": 429, "headers": {"Retry-After": "4"}})
    spec = qualtrics_spec(qualtrics.url, "https://gw.example/q")
    QualtricsSubscriptions.for_spec(spec, clock=clock).create("surveyengine.completedResponse", spec.url, "k")
    assert posts(qualtrics) == [429, 200]
    assert clock.slept == [4.0]


def test_a_hook_patch_with_the_whole_state_is_repeated_after_a_5xx(github: GitHubDouble, clock: FakeClock) -> None:
    """The PATCH carries the hook's whole desired state, so the transport declares it idempotent."""
    spec = github_spec(github.url, "https://gw.example/hook")
    hooks = GitHubHooks.for_spec(spec, clock=clock)
    hook_id = str(hooks.create(spec)["id"])
    admin(github.url, "POST", "faults", {"status": 500, "method": "PATCH", "body": {"message": "Server Error"}})
    assert hooks.update(hook_id, spec) is not None
    assert [r["status"] for r in github.world.requests if r["method"] == "PATCH"] == [500, 200]
    assert len(clock.slept) == 1


def test_a_5xx_that_is_never_retried_is_still_a_server_error(clock: FakeClock) -> None:
    """501 is final (the core does not retry it), and still reaches the caller as this package's ServerError."""
    with scripted(Answer(501)) as server:
        with pytest.raises(ServerError, match="HTTP 501") as info:
            transport(server.url, clock).request("GET", "/repos/octo/hello/hooks")
        assert len(server.seen) == 1
    assert info.value.status == 501
    assert clock.slept == []
