"""What the end-to-end tests do to a connector from outside: its stack config, the GitHub double's hooks and
ingress, the publisher pod's record, and the gateway's Service and pods on the node.

Each test module names its own connector, namespace and repository, so two of them never share objects; the
plane (and its single node) is shared by the session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from devtools.cluster import addons
from devtools.cluster.kubeapi import KubeApi
from devtools.doubles.shared_data import shared_path
from tests.e2e.conftest import GitHubDoubleProcess

# The images built from images/*/Dockerfile and loaded into the node (devtools/cluster/images.py).
LOCAL_IMAGES = {
    "images.gateway": "kyma-connectors/event-gateway:local",
    "images.registrar": "kyma-connectors/registrar:local",
    "images.reconciler": "kyma-connectors/reconciler:local",
}


@dataclass(frozen=True)
class Subject:
    """One connector under test: its name, the namespace the program creates for it, the repository it hooks."""

    connector: str
    namespace: str
    repository: str

    def config(self, github_url: str, events: list[str]) -> dict[str, Any]:
        """The plain stack config of a GitHub connector on the local cluster (secrets are set apart)."""
        values: dict[str, Any] = {
            "clusterDomain": "e2e.kyma.local",
            "namespace": self.namespace,
            "createNamespace": True,
            **LOCAL_IMAGES,
            "connectors[0].name": self.connector,
            "connectors[0].solution": "github",
            "connectors[0].apiUrl": f"{github_url}/api/v3",
            "connectors[0].github.repositories[0]": self.repository,
        }
        values |= {f"connectors[0].events[{i}]": event for i, event in enumerate(events)}
        return values

    def gateway_service(self, api: KubeApi) -> str:
        """Base URL (ClusterIP) of the connector's gateway Service: where Istio would route the APIRule's host."""
        return addons.gateway_url(api, self.namespace)

    def gateway_pods(self, api: KubeApi) -> list[dict[str, Any]]:
        return [pod for pod in api.items(f"/api/v1/namespaces/{self.namespace}/pods")
                if pod["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "event-gateway"]

    def route(self, github: GitHubDoubleProcess, api: KubeApi, webhook_url: str) -> None:
        """Send the hook's deliveries to the gateway's Service, as the ingress gateway would on Kyma."""
        route_ingress(github, {str(urlsplit(webhook_url).hostname): self.gateway_service(api)})


def route_ingress(github: GitHubDoubleProcess, routes: dict[str, str]) -> None:
    requests.put(f"{github.url}/_admin/ingress", json=routes, timeout=10).raise_for_status()


def hooks(github: GitHubDoubleProcess) -> list[dict[str, Any]]:
    resp = requests.get(f"{github.url}/_admin/hooks", timeout=30)
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()
    return result


def hook_deliveries(github: GitHubDoubleProcess, hook_id: int | None) -> list[dict[str, Any]]:
    return next((h["deliveries"] for h in hooks(github) if h["id"] == hook_id), [])


def publisher_url(api: KubeApi) -> str:
    """The publisher double's pod behind Service eventing-publisher-proxy in kyma-system."""
    return addons.service_url(api, addons.NAMESPACE, addons.NAME)


def published_events(publisher: str) -> list[dict[str, Any]]:
    resp = requests.get(f"{publisher}/events", timeout=30)
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()
    return result


def push_payload() -> dict[str, Any]:
    """A real push delivery's payload (../shared/github/payloads)."""
    result: dict[str, Any] = json.loads(shared_path("github/payloads/push/payload.json").read_text())
    return result


def emit(github: GitHubDoubleProcess, repository: str, event: str, payload: dict[str, Any]) -> int:
    """Something happened on `repository`: the double delivers it to every subscribed hook; the count sent."""
    sent = requests.post(f"{github.url}/_admin/activity", timeout=30, json={
        "scope": "repo", "target": repository, "event": event, "payload": payload})
    assert sent.status_code == 201, sent.text
    count: int = sent.json()["deliveries"]
    return count
