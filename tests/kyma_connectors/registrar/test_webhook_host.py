"""The webhook host check: the registrar reads the APIRule's Istio Gateway and fails before any write when the
Gateway does not serve the webhook URL's host; an unreadable Gateway is noted and skipped."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from kyma_connectors.registrar.transport import HttpClient, RetryPolicy
from kyma_connectors.registrar.webhook_host import WebhookHostError, check, served
from tests.kyma_connectors.registrar.conftest import APP, SpecsDir, invoke
from tests.support.json_api import JsonApi, json_api, not_found

pytestmark = pytest.mark.timeout(30)
KYMA_GATEWAY: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
    "metadata": {"name": "kyma-gateway", "namespace": "kyma-system"},
    "spec": {"selector": {"istio": "ingressgateway"}, "servers": [
        {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*.c-1a2b.kyma.ondemand.com"]},
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*.c-1a2b.kyma.ondemand.com"]},
    ]},
}


@dataclass
class FakeIstioApi:
    """kube-apiserver's answers for Gateways: the object (v1 and/or v1beta1), 404, or a fixed ``status``."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: int | None = None
    api: JsonApi | None = None

    @property
    def url(self) -> str:
        assert self.api is not None
        return self.api.url

    @property
    def methods(self) -> list[str]:
        assert self.api is not None
        return [method for method, _path in self.api.requests]

    def answer(self, _method: str, path: str, _headers: Mapping[str, str]) -> tuple[int, Any]:
        if self.status is not None:
            return self.status, {"kind": "Status", "code": self.status}
        return (200, self.objects[path]) if path in self.objects else not_found(path)


@pytest.fixture
def istio() -> Iterator[FakeIstioApi]:
    fake = FakeIstioApi()
    with json_api(fake.answer) as api:
        fake.api = api
        yield fake


def client(url: str) -> HttpClient:
    return HttpClient(url, requests.Session(), timeout=5, policy=RetryPolicy(budget=1), target="kube-apiserver")


@pytest.mark.parametrize(("host", "pattern", "expected"), [
    ("hooks.c-1a2b.kyma.ondemand.com", "*.c-1a2b.kyma.ondemand.com", True),
    ("a.b.c-1a2b.kyma.ondemand.com", "*.c-1a2b.kyma.ondemand.com", True),   # Istio wildcards match any depth
    ("hooks.example.com", "*.c-1a2b.kyma.ondemand.com", False),
    ("hooks.example.com", "*/hooks.example.com", True),                      # namespace part ignored
    ("hooks.example.com", "*", True),
    ("c-1a2b.kyma.ondemand.com", "*.c-1a2b.kyma.ondemand.com", False),
])
def test_istio_host_matching(host: str, pattern: str, expected: bool) -> None:
    assert served(host, pattern) is expected


def test_a_served_host_passes_and_a_custom_domain_fails_with_the_fix(istio: FakeIstioApi) -> None:
    istio.objects["/apis/networking.istio.io/v1/namespaces/kyma-system/gateways/kyma-gateway"] = KYMA_GATEWAY
    notes: list[str] = []
    check(client(istio.url), "kyma-system/kyma-gateway", "gh-webhook.c-1a2b.kyma.ondemand.com", notes.append)
    assert notes == []
    with pytest.raises(WebhookHostError, match="set clusterDomain to the Gateway's domain") as info:
        check(client(istio.url), "kyma-system/kyma-gateway", "gh-webhook.hooks.acme.com", notes.append)
    assert "*.c-1a2b.kyma.ondemand.com" in str(info.value)
    assert info.value.exit_code == 2  # permanent: the Job's podFailurePolicy fails it at once


def test_an_older_mesh_serves_v1beta1_only(istio: FakeIstioApi) -> None:
    istio.objects["/apis/networking.istio.io/v1beta1/namespaces/kyma-system/gateways/kyma-gateway"] = KYMA_GATEWAY
    with pytest.raises(WebhookHostError):
        check(client(istio.url), "kyma-system/kyma-gateway", "x.other.org", lambda _message: None)


@pytest.mark.parametrize("status", [None, 403])
def test_an_unreadable_gateway_is_noted_and_skipped(istio: FakeIstioApi, status: int | None) -> None:
    """No Istio CRDs (the local control plane: 404 for both versions) or no permission: a note, no failure."""
    istio.status = status
    notes: list[str] = []
    check(client(istio.url), "kyma-system/kyma-gateway", "x.other.org", notes.append)
    assert len(notes) == 1
    assert "not checked" in notes[0]


def test_a_run_with_a_foreign_host_fails_before_any_write(istio: FakeIstioApi, specs_dir: SpecsDir,
                                                         tmp_path: Path) -> None:
    """Through the registrar's entry point, as the Job runs it: exit 2, one line naming the fix, only GETs sent."""
    istio.objects["/apis/networking.istio.io/v1/namespaces/kyma-system/gateways/kyma-gateway"] = KYMA_GATEWAY
    assert istio.api is not None
    kubeconfig = istio.api.kubeconfig(tmp_path / "kubeconfig", "t")
    result = invoke({"REGISTRAR_BACKEND": "application-cr", "REGISTRAR_APPLICATION": APP,
                     "REGISTRAR_SPECS_DIR": str(specs_dir.path), "KUBECONFIG": str(kubeconfig),
                     "REGISTRAR_WAIT_SECONDS": "1", "REGISTRAR_WEBHOOK_HOST": "gh-webhook.hooks.acme.com",
                     "REGISTRAR_ISTIO_GATEWAY": "kyma-system/kyma-gateway"})
    assert result.code == 2
    assert result.stderr.startswith("registrar: webhook-host: the webhook URL's host gh-webhook.hooks.acme.com")
    assert istio.methods == ["GET"]
