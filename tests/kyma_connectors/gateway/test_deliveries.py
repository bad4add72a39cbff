"""The pure request -> CloudEvent mapping, including property-based checks that bad input only ever gets a clear
``DeliveryError`` (never another exception)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyma_connectors.core.catalog import load_catalog
from kyma_connectors.gateway.deliveries import (
    Ignored,
    Mapper,
    Uncatalogued,
    parse_json,
    rfc3339,
    rfc3339_epoch,
    rfc3339_now,
)
from kyma_connectors.gateway.errors import DeliveryError, MalformedDeliveryError
from kyma_connectors.gateway.records import Event
from kyma_connectors.gateway.settings import Settings

SECRET = "s3cret"


@functools.cache
def mapper(solution: str, unknown_events: str = "publish") -> Mapper:
    env = {"GATEWAY_SOLUTION": solution, "GATEWAY_APPLICATION": "app", "GATEWAY_WEBHOOK_SECRETS": SECRET,
           "GATEWAY_UNKNOWN_EVENTS": unknown_events}
    return Mapper(Settings.from_env(env), load_catalog(solution))


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_github_mapping_is_exact() -> None:
    body = json.dumps({"action": "opened", "repository": {"full_name": "o/r"}}).encode()
    headers = {
        "content-type": "application/json; charset=utf-8",
        "x-github-event": "issues",
        "x-github-delivery": "d-1",
        "x-github-hook-id": "9",
        "x-hub-signature-256": signed(body),
    }
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert mapper("github").map(headers, body, now=moment) == Event(
        id="d-1",
        type="issues.opened.v1",
        source="app",
        time="2026-01-02T03:04:05.678Z",
        data=body,
        subject="o/r",
        extensions={"nativeevent": "issues", "nativeaction": "opened", "hookid": "9"},
    )


def test_delivery_without_id_gets_a_stable_digest_id() -> None:
    generic = mapper("generic")
    body = b'{"a": 1}'
    headers = {"content-type": "application/json", "x-signature-256": signed(body)}
    first, second = generic.map(headers, body), generic.map(headers, body)
    assert isinstance(first, Event)
    assert isinstance(second, Event)
    assert first.id == second.id
    other = generic.map({**headers, "x-signature-256": signed(b'{"a": 2}')}, b'{"a": 2}')
    assert isinstance(other, Event)
    assert other.id != first.id


def test_qualtrics_topic_resolution() -> None:
    qualtrics = mapper("qualtrics")
    msg = '{"SurveyID": "SV_1"}'
    mac = hmac.new(SECRET.encode(), msg.encode(), hashlib.sha512).hexdigest()
    form = {"content-type": "application/x-www-form-urlencoded"}
    for topic, expected in [
        ("brand.surveyengine.completedResponse.SV_1", "surveyengine.completedresponse.v1"),
        ("brand.controlpanel.deactivateSurvey", "controlpanel.deactivatesurvey.v1"),
        ("surveyengine.completedResponse.SV_1", "surveyengine.completedresponse.v1"),  # no brand prefix
        ("controlpanel.activateSurvey", "controlpanel.activatesurvey.v1"),
    ]:
        result = qualtrics.map(form, urlencode({"Topic": topic, "MSG": msg, "HMAC": mac}).encode())
        assert isinstance(result, Event)
        assert result.type == expected
    def deliver(topic: str, solution_mapper: Mapper = qualtrics) -> Event | Uncatalogued | Ignored:
        return solution_mapper.map(form, urlencode({"Topic": topic, "MSG": msg, "HMAC": mac}).encode())

    unknown = deliver("brand.nothing.here")
    assert isinstance(unknown, Uncatalogued)
    assert (unknown.event.type, unknown.native_event) == ("nothing.here.v1", "nothing.here")
    # a per-survey topic Qualtrics adds later: one derived type for every survey, not one per survey id
    for survey in ("SV_1", "SV_2abc"):
        later = deliver(f"brand.surveyengine.newKind.{survey}")
        assert isinstance(later, Uncatalogued)
        assert later.event.type == "surveyengine.newkind.v1"
        assert later.event.extensions["topic"] == f"brand.surveyengine.newKind.{survey}"
    assert deliver("brand.nothing.here", mapper("qualtrics", "drop")) == Ignored("nothing.here", None)


def test_uncatalogued_github_events_and_actions_get_the_derived_type() -> None:
    """A known event with a new action, or a new event: published under the naming rule's type, marked as such."""
    for event, action, expected in [("issues", "brand_new_action", "issues.brandnewaction.v1"),
                                    ("future_event", None, "futureevent.v1"),
                                    ("future_event", "made", "futureevent.made.v1")]:
        body = json.dumps({"action": action} if action else {}).encode()
        headers = {"content-type": "application/json", "x-github-event": event, "x-github-delivery": "d",
                   "x-hub-signature-256": signed(body)}
        published = mapper("github").map(headers, body)
        assert isinstance(published, Uncatalogued)
        assert (published.event.type, published.native_event, published.native_action) == (expected, event, action)
        assert published.event.extensions["nativeevent"] == event
        assert mapper("github", "drop").map(headers, body) == Ignored(event, action)
        catchall = mapper("github", "catchall").map(headers, body)
        assert isinstance(catchall, Uncatalogued)
        assert catchall.event.type == "github.unknown.v1"
    # a name the rule cannot turn into a type still gets published, under the catch-all type
    body = b"{}"
    odd = {"content-type": "application/json", "x-github-event": "___", "x-hub-signature-256": signed(body)}
    result = mapper("github").map(odd, body)
    assert isinstance(result, Uncatalogued)
    assert result.event.type == "github.unknown.v1"


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
HEADERS = st.dictionaries(
    st.sampled_from(
        ["content-type", "x-github-event", "x-github-delivery", "x-hub-signature-256", "authorization",
         "x-webhook-event", "webhook-id", "x-signature-256", "x-github-hook-id"]
    ),
    HEADER_TEXT,
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain", ""])


@pytest.mark.parametrize("solution", ["github", "qualtrics", "generic"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=HEADERS, body=st.binary(max_size=300), content_type=CONTENT_TYPES, sign=st.booleans())
def test_arbitrary_input_only_raises_delivery_errors(
    solution: str, headers: dict[str, str], body: bytes, content_type: str, sign: bool
) -> None:
    """Whatever arrives -- even correctly signed garbage -- maps to an event (maybe uncatalogued), Ignored, or a
    DeliveryError."""
    request = {**headers, "content-type": content_type}
    if sign:
        request["x-hub-signature-256"] = request["x-signature-256"] = signed(body)
    try:
        result = mapper(solution).map(request, body)
    except DeliveryError as exc:
        problem: DeliveryError | None = exc
    else:
        problem = None
    if problem is not None:
        assert 400 <= problem.status < 500
        assert SECRET not in str(problem)
        return
    assert isinstance(result, Event | Uncatalogued | Ignored)
    if isinstance(result, Uncatalogued):
        result = result.event
    if isinstance(result, Event):
        assert result.source == "app"
        json.loads(result.data)  # data is always valid JSON


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'{"n": 1e400}', {"n": float("inf")}),  # beyond a double: orjson refuses, RFC 8259 section 9 allows it
        # read as a double (only the mapping's string fields are used; the data is published byte for byte)
        (b'{"n": 123456789012345678901234567890}', {"n": 1.2345678901234568e29}),
        (b"[" * 600 + b"]" * 600, json.loads(b"[" * 600 + b"]" * 600)),
        (b'{"e": "\\ud83d\\ude00"}', {"e": "\U0001f600"}),
    ],
    ids=["huge-number", "big-integer", "deep-nesting", "surrogate-pair"],
)
def test_parse_json_accepts_every_rfc_8259_text_whichever_parser_reads_it(text: bytes, expected: object) -> None:
    assert parse_json(text) == expected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (b'\xef\xbb\xbf{"a": 1}', "byte order mark"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": "\\ud800"}', "unpaired UTF-16 surrogate"),
        (b'{"a": 1} x', "not valid JSON"),
    ],
    ids=["bom", "not-utf8", "nan", "infinity", "lone-surrogate", "trailing-garbage"],
)
def test_parse_json_names_the_rule_a_refused_text_breaks(text: bytes, rule: str) -> None:
    with pytest.raises(MalformedDeliveryError, match=rule):
        parse_json(text)


def test_the_event_time_is_now_in_rfc_3339_utc_to_the_millisecond() -> None:
    for _ in range(2000):  # crosses at least one second boundary most of the time; each stamp within a ms of now
        before = datetime.now(UTC)
        stamp = rfc3339_now()
        after = datetime.now(UTC)
        assert len(stamp) == 24
        assert stamp.endswith("Z")
        assert rfc3339(before) <= stamp <= rfc3339(after)


@pytest.mark.parametrize(
    "stamp",
    ["2026-12-03T13:45:25.123Z", "2026-12-03T13:45:26.000Z", "2026-12-03T13:45:25.999Z", "2026-12-31T23:59:59.500Z",
     "2026-12-03T13:45:25Z", "2026-12-03T14:45:25.123+01:00", "2026-12-03T13:45:25.123456Z"],
)
def test_the_epoch_of_an_event_time_is_its_full_parse(stamp: str) -> None:
    """The per-second cache gives what parsing the whole time gives, for the gateway's form and any other."""
    whole = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    assert rfc3339_epoch(stamp) == pytest.approx(whole, abs=1e-6)
    assert rfc3339_epoch("2026-12-03T13:45:2x.123Z") is None
