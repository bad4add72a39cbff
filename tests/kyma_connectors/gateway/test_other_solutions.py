"""SAP Qualtrics and generic signed webhooks through a running gateway."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest

from kyma_connectors.core.catalog import load_catalog
from tests.kyma_connectors.gateway.conftest import GatewayFactory
from tests.kyma_connectors.gateway.harness import PublisherDouble, github_signature

pytestmark = pytest.mark.timeout(60)
KEY = "kyma4ever"
MSG = (
    '{"Status":"Complete","SurveyID":"SV_1AmkKSDmoZ4XlQx","ResponseID":"R_0B7IcnXszjEUHLP",'
    '"CompletedDate":"2019-06-25 07:58:25","BrandID":"sapdevelopment"}'
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BASIC_WRONG = base64.b64encode(b"svc:wrong").decode()


def qualtrics_body(topic: str, msg: str, key: str | None) -> bytes:
    fields = {"Topic": topic, "MSG": msg}
    if key is not None:
        fields["HMAC"] = hmac.new(key.encode(), msg.encode(), hashlib.sha512).hexdigest()
    return urlencode(fields).encode()


def test_qualtrics_completed_response(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """The connector-tools vector: brand prefix and survey suffix stripped, MSG published as JSON data."""
    gateway = gateway_factory(GATEWAY_SOLUTION="qualtrics", GATEWAY_APPLICATION="survey", GATEWAY_WEBHOOK_SECRETS=KEY)
    topic = "sapdevelopment.surveyengine.completedResponse.SV_1AmkKSDmoZ4XlQx"
    body = qualtrics_body(topic, MSG, KEY)
    first = gateway.post(body, FORM)
    assert first.status_code == 202, first.text
    assert gateway.post(body, FORM).json()["status"] == "duplicate"  # same content -> same digest id
    activated = qualtrics_body("sapdevelopment.controlpanel.activateSurvey", '{"SurveyID":"SV_1"}', KEY)
    assert gateway.post(activated, FORM).status_code == 202
    events = {event["type"]: event for event in publisher.wait_for(2)}
    completed = events["surveyengine.completedresponse.v1"]
    assert completed["source"] == "survey"
    assert completed["data"] == json.loads(MSG)
    assert completed["extensions"]["topic"] == topic
    assert completed["id"] == first.json()["id"]
    assert set(events) <= set(load_catalog("qualtrics").types())


def test_every_catalogued_qualtrics_topic_arrives_under_its_type(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    """A hand-made delivery of every catalogued topic, in the form Qualtrics sends it (brand prefix; per-survey
    topics with the survey id), becomes its catalog type; a topic Qualtrics adds later, its derived type."""
    catalog = load_catalog("qualtrics")
    gateway = gateway_factory(GATEWAY_SOLUTION="qualtrics", GATEWAY_APPLICATION="survey", GATEWAY_WEBHOOK_SECRETS=KEY)
    expected = {}
    for entry in catalog.events:
        per_survey = entry.subscription is not None and entry.subscription.endswith(".*")
        topic = f"sapdevelopment.{entry.event}" + (".SV_1AmkKSDmoZ4XlQx" if per_survey else "")
        answer = gateway.post(qualtrics_body(topic, '{"BrandID":"sapdevelopment"}', KEY), FORM)
        assert answer.status_code == 202, (topic, answer.text)
        assert "catalogued" not in answer.json()
        expected[answer.json()["id"]] = entry.type
    later = gateway.post(qualtrics_body("sapdevelopment.surveyengine.newKind.SV_9", "{}", KEY), FORM).json()
    assert (later["type"], later["catalogued"]) == ("surveyengine.newkind.v1", False)
    events = {event["id"]: event["type"] for event in publisher.wait_for(len(expected) + 1)}
    assert {delivery: events[delivery] for delivery in expected} == expected
    assert sorted(expected.values()) == sorted(catalog.types())


def test_qualtrics_rejects_wrong_or_missing_hmac(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    gateway = gateway_factory(GATEWAY_SOLUTION="qualtrics", GATEWAY_APPLICATION="survey", GATEWAY_WEBHOOK_SECRETS=KEY)
    topic = "brand.surveyengine.completedResponse.SV_1"
    assert gateway.post(qualtrics_body(topic, MSG, "wrong"), FORM).status_code == 401
    assert gateway.post(qualtrics_body(topic, MSG, None), FORM).status_code == 401
    assert gateway.post(qualtrics_body(topic, MSG, KEY), {"Content-Type": "application/json"}).status_code == 415
    assert gateway.post(qualtrics_body(topic, "not json", KEY), FORM).status_code == 400
    assert publisher.events() == []


def test_generic_hmac_with_event_and_id_headers(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """Configurable signature header and prefix; event name from GATEWAY_GENERIC_EVENT_HEADER, absent -> webhook."""
    gateway = gateway_factory(
        GATEWAY_SOLUTION="generic",
        GATEWAY_APPLICATION="hooks",
        GATEWAY_WEBHOOK_SECRETS="gen-secret",
        GATEWAY_GENERIC_SIGNATURE_HEADER="X-Acme-Signature",
        GATEWAY_GENERIC_SIGNATURE_PREFIX="",
        GATEWAY_GENERIC_EVENT_HEADER="X-Acme-Event",
    )
    body = b'{"order": 7}'
    signature = github_signature("gen-secret", body).removeprefix("sha256=")
    plain = {"Content-Type": "application/json", "X-Acme-Signature": signature, "Webhook-Id": "evt-1"}
    assert gateway.post(body, plain).status_code == 202
    named = {**plain, "X-Acme-Event": "order.created", "Webhook-Id": "evt-2"}
    assert gateway.post(body, named).status_code == 202
    assert gateway.post(body, {**plain, "X-Acme-Signature": "00" * 32}).status_code == 401
    events = {event["id"]: event for event in publisher.wait_for(2)}
    assert events["evt-1"]["type"] == "webhook.received.v1"
    assert events["evt-1"]["data"] == {"order": 7}
    assert events["evt-2"]["type"] == "order.created.v1"  # not in the catalog: the naming rule's type
    assert events["evt-2"]["extensions"]["nativeevent"] == "order.created"


@pytest.mark.parametrize(
    ("auth", "secret", "good", "bad"),
    [
        ("bearer", "tok", "Bearer tok", "Bearer nope"),
        ("basic", "svc:pw", "Basic " + base64.b64encode(b"svc:pw").decode(), "Basic " + BASIC_WRONG),
    ],
)
def test_generic_credentials(
    gateway_factory: GatewayFactory, publisher: PublisherDouble, auth: str, secret: str, good: str, bad: str
) -> None:
    gateway = gateway_factory(
        GATEWAY_SOLUTION="generic", GATEWAY_GENERIC_AUTH=auth, GATEWAY_WEBHOOK_SECRETS=secret
    )
    body = b'{"n": 1}'
    assert gateway.post(body, {"Content-Type": "application/json", "Authorization": bad}).status_code == 401
    assert gateway.post(body, {"Content-Type": "application/json", "Authorization": good}).status_code == 202
    (event,) = publisher.wait_for(1)
    assert event["type"] == "webhook.received.v1"
