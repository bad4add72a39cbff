"""GitHub deliveries through a running gateway into the loopback publisher (parsed there with the CloudEvents SDK)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
import requests

from kyma_connectors.core.catalog import load_catalog
from tests.kyma_connectors.gateway.conftest import GatewayFactory
from tests.kyma_connectors.gateway.harness import PublisherDouble, github_headers, github_signature
from tests.support.paths import GITHUB_PAYLOADS

pytestmark = pytest.mark.timeout(60)
SECRET = "test-secret"


@pytest.mark.slow
def test_every_shared_payload_arrives_as_a_cataloged_cloudevent(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    """Each real payload, signed, becomes one CloudEvent: id = delivery, source = app, catalog type, data unchanged."""
    catalog = load_catalog("github")
    gateway = gateway_factory()
    index = json.loads((GITHUB_PAYLOADS / "index.json").read_text())["files"]
    sent: dict[str, tuple[str, str | None, object]] = {}
    for entry in index:
        body = (GITHUB_PAYLOADS / entry["file"]).read_bytes()
        delivery = str(uuid.uuid4())
        answer = gateway.post(body, github_headers(SECRET, body, entry["event"], delivery))
        assert answer.status_code == 202, (entry["file"], answer.text)
        assert answer.json()["id"] == delivery
        assert "catalogued" not in answer.json(), entry["file"]  # in the catalog, not a derived type
        sent[delivery] = (entry["event"], entry["action"], json.loads(body))
    events = {event["id"]: event for event in publisher.wait_for(len(sent))}
    assert set(events) == set(sent)
    for delivery, (name, action, data) in sent.items():
        event = events[delivery]
        assert event["mode"] == "binary"
        assert event["source"] == "test-app"
        assert event["type"] in catalog.types()
        assert event["type"] == catalog.type_for(name, action)
        assert event["data"] == data
        assert event["extensions"]["nativeevent"] == name
        assert event["extensions"].get("nativeaction") == action
        assert event["extensions"]["hookid"] == "42"
    assert gateway.metric("event_gateway_events_published_total") == len(sent)


def test_form_encoded_delivery_publishes_the_payload_field(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    """``application/x-www-form-urlencoded``: the signature covers the raw form body, data is the ``payload`` JSON."""
    gateway = gateway_factory()
    payload = (GITHUB_PAYLOADS / "issues" / "opened.payload.json").read_text()
    body = urlencode({"payload": payload}).encode()
    headers = github_headers(SECRET, body, "issues", "form-1", **{"Content-Type": "application/x-www-form-urlencoded"})
    assert gateway.post(body, headers).status_code == 202
    (event,) = publisher.wait_for(1)
    assert event["type"] == "issues.opened.v1"
    assert event["data"] == json.loads(payload)


def test_ping_is_published_and_traceparent_propagates(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    """GitHub's ``ping`` reaches Kyma (it proves the hook end to end); the sender's W3C context travels along."""
    gateway = gateway_factory()
    body = (GITHUB_PAYLOADS / "ping" / "payload.json").read_bytes()
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    headers = github_headers(SECRET, body, "ping", "ping-1", traceparent=f"00-{trace_id}-b7ad6b7169203331-01")
    assert gateway.post(body, headers).status_code == 202
    (event,) = publisher.wait_for(1)
    assert event["type"] == "ping.v1"
    assert trace_id in event["extensions"]["traceparent"]
    assert trace_id in event["trace_headers"]["traceparent"]
    assert event["trace_headers"]["x-b3-traceid"] == trace_id


def test_forged_missing_and_wrong_secret_signatures_are_rejected(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    """401 for each; nothing published; the response names the problem but never the secret."""
    gateway = gateway_factory()
    body = (GITHUB_PAYLOADS / "push" / "payload.json").read_bytes()
    good = github_headers(SECRET, body, "push", "d-1")
    forged = {**good, "X-Hub-Signature-256": "sha256=" + "ab" * 32}
    missing = {k: v for k, v in good.items() if k != "X-Hub-Signature-256"}
    wrong = {**good, "X-Hub-Signature-256": github_signature("another-secret", body)}
    tampered_body = body.replace(b"Codertocat", b"Attacker")
    for headers, sent in ((forged, body), (missing, body), (wrong, body), (good, tampered_body)):
        answer = gateway.post(sent, headers)
        assert answer.status_code == 401
        assert answer.json()["error"] == "signature"
        assert SECRET not in answer.text
    assert gateway.metric("event_gateway_deliveries_rejected_total") == 4
    assert publisher.events() == []
    assert SECRET not in gateway.log.read_text()


def test_secret_rotation_accepts_old_and_new(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """With two secrets configured, deliveries signed with either are accepted; a third is not."""
    gateway = gateway_factory(GATEWAY_WEBHOOK_SECRETS="old-secret,new-secret")
    body = (GITHUB_PAYLOADS / "push" / "payload.json").read_bytes()
    assert gateway.post(body, github_headers("old-secret", body, "push", "r-1")).status_code == 202
    assert gateway.post(body, github_headers("new-secret", body, "push", "r-2")).status_code == 202
    assert gateway.post(body, github_headers("test-secret", body, "push", "r-3")).status_code == 401
    assert {event["id"] for event in publisher.wait_for(2)} == {"r-1", "r-2"}


def test_redelivery_is_acknowledged_once(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """A GitHub redelivery keeps its X-GitHub-Delivery: acknowledged (200 duplicate), published once."""
    gateway = gateway_factory()
    body = (GITHUB_PAYLOADS / "push" / "payload.json").read_bytes()
    headers = github_headers(SECRET, body, "push", "same-delivery")
    assert gateway.post(body, headers).status_code == 202
    again = gateway.post(body, headers)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    publisher.wait_for(1)
    gateway.wait_drained()
    assert len(publisher.events()) == 1


def test_cheap_clear_rejections(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """415 wrong type, 413 over the cap, 400 malformed, 404/405 wrong endpoint; with GATEWAY_UNKNOWN_EVENTS=drop,
    uncatalogued events are dropped with a 202 that says so, and counted."""
    gateway = gateway_factory(GATEWAY_MAX_BODY_BYTES="4096", GATEWAY_UNKNOWN_EVENTS="drop")
    body = b'{"zen": "x"}'
    text = {**github_headers(SECRET, body, "ping", "x-1"), "Content-Type": "text/plain"}
    assert gateway.post(body, text).status_code == 415
    big = b'{"pad": "' + b"x" * 5000 + b'"}'
    assert gateway.post(big, github_headers(SECRET, big, "push", "x-2")).status_code == 413
    chunks = iter([big[:3000], big[3000:]])  # no Content-Length: the cap is enforced while reading
    headers = github_headers(SECRET, big, "push", "x-6")
    chunked = requests.post(f"{gateway.url}/webhook", data=chunks, headers=headers, timeout=10)
    assert chunked.status_code == 413
    broken = b'{"zen": '
    assert gateway.post(broken, github_headers(SECRET, broken, "push", "x-3")).status_code == 400
    no_event = {k: v for k, v in github_headers(SECRET, body, "push", "x-4").items() if k != "X-GitHub-Event"}
    assert gateway.post(body, no_event).status_code == 400
    unknown = gateway.post(body, github_headers(SECRET, body, "not_a_github_event", "x-5"))
    assert (unknown.status_code, unknown.json()["status"]) == (202, "ignored")
    assert "GATEWAY_UNKNOWN_EVENTS=drop" in unknown.json()["reason"]
    assert unknown.json()["event"] == "not_a_github_event"
    assert gateway.metric("event_gateway_deliveries_ignored_total") == 1
    assert gateway.metric("event_gateway_deliveries_uncatalogued_total", disposition="dropped") == 1
    assert requests.get(f"{gateway.url}/webhook", timeout=5).status_code == 405
    assert requests.post(f"{gateway.url}/other", timeout=5).status_code == 404
    assert gateway.metric("event_gateway_deliveries_rejected_total") == 7  # 415, 413, 413, 400, 400, 405, 404
    assert publisher.events() == []


def test_uncatalogued_events_and_actions_are_published_under_the_derived_type_and_counted(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    """Nothing GitHub sends is lost because the catalog lags: a new action of a known event and a new event."""
    gateway = gateway_factory()
    sent = {"n-1": ("issues", {"action": "brand_new_action"}), "n-2": ("future_event", {"zen": 1}),
            "n-3": ("issues", {"action": "opened"})}
    answers = {}
    for delivery, (event, payload) in sent.items():
        body = json.dumps(payload).encode()
        answers[delivery] = gateway.post(body, github_headers(SECRET, body, event, delivery)).json()
    assert answers["n-1"] == {"status": "accepted", "id": "n-1", "type": "issues.brandnewaction.v1",
                              "catalogued": False}
    assert answers["n-2"]["type"] == "futureevent.v1"
    assert "catalogued" not in answers["n-3"]
    events = {event["id"]: event for event in publisher.wait_for(3)}
    assert events["n-1"]["type"] == "issues.brandnewaction.v1"
    assert events["n-1"]["extensions"]["nativeaction"] == "brand_new_action"
    assert events["n-2"]["type"] == "futureevent.v1"
    assert events["n-3"]["type"] == "issues.opened.v1"
    assert gateway.metric("event_gateway_deliveries_uncatalogued_total", disposition="published") == 2
    assert "is not in the catalog: published as issues.brandnewaction.v1" in gateway.log.read_text()


def test_unknown_events_can_be_published_under_the_catchall_type(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    gateway = gateway_factory(GATEWAY_UNKNOWN_EVENTS="catchall")
    body = b'{"action": "brand_new"}'
    assert gateway.post(body, github_headers(SECRET, body, "future_event", "u-1")).status_code == 202
    (event,) = publisher.wait_for(1)
    assert event["type"] == "github.unknown.v1"
    assert event["extensions"]["nativeevent"] == "future_event"


def test_legacy_mode_publishes_kyma_1x_events(gateway_factory: GatewayFactory, publisher: PublisherDouble) -> None:
    """GATEWAY_LEGACY_EVENTS: ``/<app>/v1/events`` with the 1.x body; the proxy turns it into ``<type>.<version>``."""
    gateway = gateway_factory(GATEWAY_LEGACY_EVENTS="true")
    body = (GITHUB_PAYLOADS / "issues" / "opened.payload.json").read_bytes()
    delivery = str(uuid.uuid4())
    assert gateway.post(body, github_headers(SECRET, body, "issues", delivery)).status_code == 202
    (event,) = publisher.wait_for(1)
    assert event["mode"] == "legacy"
    assert event["source"] == "test-app"
    assert event["type"] == "issues.opened.v1"
    assert event["legacy"]["event-type"] == "issues.opened"
    assert event["legacy"]["event-type-version"] == "v1"
    assert event["id"] == delivery
    assert event["data"] == json.loads(body)


@pytest.mark.slow
def test_a_hand_made_delivery_of_every_generated_event_arrives_under_its_catalog_type(
    gateway_factory: GatewayFactory, publisher: PublisherDouble
) -> None:
    """Every channel of the generated catalog, as GitHub would deliver it (event header, top-level action), signed,
    through the running gateway: one CloudEvent each, with exactly the channel's type and nothing uncatalogued."""
    catalog = load_catalog("github")
    gateway = gateway_factory()
    expected: dict[str, str] = {}
    for number, entry in enumerate(catalog.events):
        payload: dict[str, object] = {"repository": {"full_name": "acme/widgets"}, "sender": {"login": "octocat"}}
        if entry.action is not None:
            payload["action"] = entry.action
        elif entry.event == "repository_dispatch":
            payload["action"] = "deploy-now"  # a dispatch's action is its free-form event_type
        body = json.dumps(payload).encode()
        delivery = f"gen-{number}"
        answer = gateway.post(body, github_headers(SECRET, body, entry.event, delivery))
        assert answer.status_code == 202, (entry.type, answer.text)
        assert answer.json() == {"status": "accepted", "id": delivery, "type": entry.type}
        expected[delivery] = entry.type
    events = {event["id"]: event for event in publisher.wait_for(len(expected), timeout=60)}
    assert {delivery: event["type"] for delivery, event in events.items()} == expected
    assert len(set(expected.values())) == len(catalog.events) >= 200
    assert gateway.metric("event_gateway_deliveries_uncatalogued_total") == 0
    assert gateway.metric("event_gateway_events_published_total") == len(expected)
