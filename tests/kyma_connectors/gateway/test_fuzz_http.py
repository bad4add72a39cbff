"""Property-based fuzzing of a running gateway over HTTP: no 500 (only the spool may refuse, with 503), no crash."""

from __future__ import annotations

import contextlib
import json
import socket
import time
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


# --- data that is not RFC 8259 JSON, or not a CloudEvents String -----------------------------------------------------
def signed(body: bytes, delivery: str, content_type: str = "application/json") -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": github_signature(SECRET, body),
    }


NOT_RFC8259 = {
    "lone-high-surrogate": b'{"ref": "x", "repository": {"full_name": "o/\\ud800"}}',
    "lone-low-surrogate": b'{"ref": "x", "note": "\\udc00"}',
    "reversed-pair": b'{"ref": "x", "note": "\\udc00\\ud800"}',
    "nan": b'{"ref": "x", "size": NaN}',
    "infinity": b'{"ref": "x", "size": -Infinity}',
    "utf-16": '{"ref": "x"}'.encode("utf-16"),
    "utf-16-le": '{"ref": "x"}'.encode("utf-16-le"),
    "utf-32": '{"ref": "x"}'.encode("utf-32"),
    "utf-8-bom": b'\xef\xbb\xbf{"ref": "x"}',
    "invalid-utf-8": b'{"ref": "\xff"}',
}


@pytest.mark.parametrize("case", sorted(NOT_RFC8259))
def test_data_that_is_not_rfc8259_json_gets_a_clear_400(running: Gateway, case: str) -> None:
    """Refused with 400 and a message naming the problem, promptly, also when the same delivery is sent again
    (GitHub's and ``connectorctl backfill``'s redelivery keeps the id)."""
    body = NOT_RFC8259[case]
    for _attempt in range(2):
        answer = running.post(body, signed(body, f"bad-{case}"), timeout=3)
        assert answer.status_code == 400, (case, answer.status_code, answer.text)
        assert answer.json()["error"] == "malformed"
        assert "JSON" in answer.json()["message"] or "UTF-8" in answer.json()["message"]


def test_valid_surrogate_pairs_and_escapes_are_accepted_byte_for_byte(running: Gateway) -> None:
    body = b'{"ref": "x", "note": "\\ud83d\\ude00 \\\\ud800 \\u00e9", "repository": {"full_name": "o/r"}}'
    answer = running.post(body, signed(body, "good-pair"), timeout=3)
    assert answer.status_code == 202, answer.text


def test_control_characters_in_the_subject_omit_the_subject(running: Gateway) -> None:
    """``repository.full_name`` with a control character is valid JSON but not a CloudEvents String: the event is
    published without ``subject`` (the data still has the field) rather than refused."""
    body = b'{"ref": "x", "repository": {"full_name": "o/r\\u0000\\n"}}'
    answer = running.post(body, signed(body, "ctl-subject"), timeout=3)
    assert answer.status_code == 202, answer.text


# --- header limits ----------------------------------------------------------------------------------------------------
def raw_exchange(gateway: Gateway, chunks: list[bytes], timeout: float = 5) -> bytes:
    """Send ``chunks`` on one connection (stopping early if the server closes) and return all it answered."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=timeout) as sock:
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while data := sock.recv(65536):
                answer += data
        return answer


def test_huge_header_line_refused_with_431(running: Gateway) -> None:
    """A 64 MiB header line: refused with 431 once it passes the limit, not read to its end."""
    start = b"POST /webhook HTTP/1.1\r\nHost: gw\r\nX-Big: "
    started = time.monotonic()
    answer = raw_exchange(running, [start] + [b"a" * (1 << 20)] * 64)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert time.monotonic() - started < 5
    assert running.alive()


def test_too_many_headers_refused_with_431(running: Gateway) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(500))
    answer = raw_exchange(running, [b"POST /webhook HTTP/1.1\r\nHost: gw\r\n" + many + b"Content-Length: 0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]


def test_unsigned_delivery_refused_before_its_body_is_read(running: Gateway) -> None:
    """No signature header: 401 right after the headers, without waiting for (or reading) the declared body."""
    head = (
        b"POST /webhook HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\n"
        b"X-GitHub-Delivery: early-1\r\nContent-Length: 60000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", running.port), timeout=3) as sock:
        sock.sendall(head)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"connection: close" in answer.lower()
