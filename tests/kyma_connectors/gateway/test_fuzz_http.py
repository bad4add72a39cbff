"""Property-based fuzzing of a running gateway over HTTP: no 500 (only the spool may refuse, with 503), no crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kyma_connectors.gateway.harness import Gateway, PublisherDouble, github_signature

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]
SECRET = "test-secret"
ALLOWED = {200, 202, 400, 401, 413, 415}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    publisher = PublisherDouble(workdir)
    publisher.start()
    gateway = Gateway(workdir, publisher.url, {"GATEWAY_MAX_BODY_BYTES": "65536"})
    gateway.start()
    yield gateway
    gateway.stop()
    publisher.stop()


VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(str.strip)
HEADERS = st.dictionaries(
    st.sampled_from(["Content-Type", "X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256", "X-GitHub-Hook-ID",
                     "Content-Encoding", "Transfer-Encoding-Note", "traceparent", "b3", "X-Other"]),
    VALUE,
    max_size=6,
)
BODIES = st.one_of(
    st.binary(max_size=2000),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=20,
    ).map(lambda value: json.dumps(value).encode()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=HEADERS, body=BODIES, sign=st.booleans(), event=st.sampled_from(["push", "issues", "ping", "zzz"]))
def test_fuzzed_requests_never_get_a_500(
    running: Gateway, headers: dict[str, str], body: bytes, sign: bool, event: str
) -> None:
    request = dict(headers)
    if sign:
        request.setdefault("Content-Type", "application/json")
        request["X-GitHub-Event"] = event
        request["X-Hub-Signature-256"] = github_signature(SECRET, body)
    answer = running.post(body, request)
    assert answer.status_code in ALLOWED, (answer.status_code, answer.text)
    assert answer.headers["content-type"] == "application/json"
    assert SECRET not in answer.text


def test_gateway_survived_the_fuzzing(running: Gateway) -> None:
    assert running.alive()
    assert requests.get(f"{running.url}/readyz", timeout=5).status_code == 200
