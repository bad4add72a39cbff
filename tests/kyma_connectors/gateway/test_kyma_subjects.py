"""An event the gateway publishes for a connector reaches the subject a Subscription's consumer listens on.

The Application is exactly what the program builds (components/kyma_application.py ``application_object``) and is
read by the publisher double from an API server, as Kyma's publisher proxy reads it; the gateway runs as its
Deployment runs it; the Subscription is what a user writes (``source: <connector name>``), checked against the real
Subscription CRD. The subjects on both sides come from devtools/doubles/kyma_eventing.py, which names the Kyma code
of each rule. The control case puts back the ``application-type`` label the program once set: on NATS the subjects part.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from components.kyma_application import KymaApplicationArgs, application_object
from devtools.doubles.kyma_eventing import Backend, Eventing
from kyma_connectors.core.manifest import Manifest
from tests.kyma_connectors.gateway.harness import Gateway, PublisherDouble, github_headers, payload_json
from tests.support.crds import assert_valid_custom_resource
from tests.support.json_api import JsonApi, json_api, not_found

pytestmark = pytest.mark.timeout(90)
CONNECTOR = "github-acme"
APPLICATIONS = "/apis/applicationconnector.kyma-project.io/v1alpha1/applications/"
TOKEN = "test-token"


@dataclass
class FakeApiServer:
    """Applications served like kube-apiserver serves them (the object, 401 without the token, else 404)."""

    api: JsonApi
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def kubeconfig(self, path: Path, token: str = TOKEN) -> Path:
        return self.api.kubeconfig(path, token)


@pytest.fixture
def api_server() -> Iterator[FakeApiServer]:
    objects: dict[str, dict[str, Any]] = {}

    def answer(_method: str, path: str, headers: Mapping[str, str]) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"kind": "Status", "code": 401, "reason": "Unauthorized"}
        name = path.removeprefix(APPLICATIONS)
        return (200, objects[name]) if path.startswith(APPLICATIONS) and name in objects else not_found(path)

    with json_api(answer) as api:
        yield FakeApiServer(api, objects)


def program_application(*, stale_label: bool = False) -> dict[str, Any]:
    manifest = Manifest(application=CONNECTOR, solution="github", services=())
    obj = application_object(KymaApplicationArgs(manifest=manifest, display_name="GitHub (acme)", description="d",
                                                 provider_display_name="GitHub"))
    if stale_label:
        obj["metadata"]["labels"]["application-type"] = "githubacme"
    return obj


def subscription(event_type: str) -> dict[str, Any]:
    """What a user writes for the connector's events (the one documented ``source``)."""
    sub = {
        "apiVersion": "eventing.kyma-project.io/v1alpha2", "kind": "Subscription",
        "metadata": {"name": "on-issues", "namespace": "team"},
        "spec": {"source": CONNECTOR, "types": [event_type], "sink": "http://sink.team.svc.cluster.local"},
    }
    assert_valid_custom_resource(sub)
    return sub


def publish_through_gateway(tmp_path: Path, kubeconfig: Path, backend: Backend) -> dict[str, Any]:
    double = PublisherDouble(tmp_path, "--kubeconfig", str(kubeconfig), "--backend", backend.value)
    double.start()
    gateway = Gateway(tmp_path / "gw", double.url, {"GATEWAY_APPLICATION": CONNECTOR})
    try:
        (tmp_path / "gw").mkdir()
        gateway.start()
        body = payload_json({"action": "opened", "issue": {"number": 1}, "repository": {"full_name": "acme/x"}})
        answer = gateway.post(body, github_headers("test-secret", body, "issues", "d-1"))
        assert answer.status_code == 202, answer.text
        (event,) = double.wait_for(1)
        return event
    finally:
        gateway.stop()
        double.stop()


@pytest.mark.parametrize("backend", [Backend.NATS, Backend.EVENT_MESH])
def test_the_connector_event_reaches_the_subscription_subject(
    tmp_path: Path, api_server: FakeApiServer, backend: Backend
) -> None:
    api_server.objects[CONNECTOR] = program_application()
    event = publish_through_gateway(tmp_path, api_server.kubeconfig(tmp_path / "kubeconfig"), backend)
    spec = subscription(event["type"])["spec"]
    listens_on = Eventing(backend=backend).subscription_subject(spec["source"], spec["types"][0])
    assert event["source"] == CONNECTOR
    assert event["backend"]["subject"] == listens_on
    assert event["backend"]["originaltype"] == "issues.opened.v1"  # what the sink's event type is reverted to


def test_the_stale_application_type_label_would_lose_the_event_on_nats(
    tmp_path: Path, api_server: FakeApiServer
) -> None:
    """The control: the double reads the label from the API server and moves the subject, as Kyma's proxy does."""
    api_server.objects[CONNECTOR] = program_application(stale_label=True)
    event = publish_through_gateway(tmp_path, api_server.kubeconfig(tmp_path / "kubeconfig"), Backend.NATS)
    spec = subscription(event["type"])["spec"]
    assert event["backend"]["subject"] == "kyma.githubacme.issues.opened.v1"
    assert event["backend"]["subject"] != Eventing().subscription_subject(spec["source"], spec["types"][0])


def test_an_application_the_proxy_cannot_read_leaves_the_source(tmp_path: Path, api_server: FakeApiServer) -> None:
    """EPP generic.go GetAppNameOrSource: a lister error means "no Application", so the source stays as sent."""
    api_server.objects[CONNECTOR] = program_application(stale_label=True)
    kubeconfig = api_server.kubeconfig(tmp_path / "kubeconfig", token="wrong")
    event = publish_through_gateway(tmp_path, kubeconfig, Backend.NATS)
    assert event["backend"]["subject"] == "kyma.github-acme.issues.opened.v1"
