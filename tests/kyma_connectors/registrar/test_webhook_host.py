"""The webhook host check: the registrar reads the APIRule's Istio Gateway and fails before any write when the
Gateway does not serve the webhook URL's host; an unreadable Gateway is noted and skipped."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from kyma_connectors.registrar.transport import HttpClient, RetryPolicy
from kyma_connectors.registrar.webhook_host import WebhookHostError, check, served
from tests.kyma_connectors.registrar.conftest import APP, SpecsDir, invoke

pytestmark = pytest.mark.timeout(30)
KYMA_GATEWAY: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
    "metadata": {"name": "kyma-gateway", "namespace": "kyma-system"},
    "spec": {"selector": {"istio": "ingressgateway"}, "servers": [
        {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["*.c-1a2b.kyma.ondemand.com"]},
        {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*.c-1a2b.kyma.ondemand.com"]},
    ]},
}


class FakeIstioApi:
    """kube-apiserver's answers for Gateways: the object (v1 and/or v1beta1), 404, or a fixed status."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.status: int | None = None
        self.methods: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_PATCH(self) -> None:
                api.methods.append("PATCH")
                self.send_response(500)
                self.end_headers()

            def do_GET(self) -> None:
                api.methods.append("GET")
                status, body = (api.status, {"kind": "Status", "code": api.status}) if api.status else (
                    (200, api.objects[self.path]) if self.path in api.objects else (404, {"kind": "Status"}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def istio() -> Iterator[FakeIstioApi]:
    fake = FakeIstioApi()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


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
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": istio.url}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    result = invoke({"REGISTRAR_BACKEND": "application-cr", "REGISTRAR_APPLICATION": APP,
                     "REGISTRAR_SPECS_DIR": str(specs_dir.path), "KUBECONFIG": str(kubeconfig),
                     "REGISTRAR_WAIT_SECONDS": "1", "REGISTRAR_WEBHOOK_HOST": "gh-webhook.hooks.acme.com",
                     "REGISTRAR_ISTIO_GATEWAY": "kyma-system/kyma-gateway"})
    assert result.code == 2
    assert result.stderr.startswith("registrar: webhook-host: the webhook URL's host gh-webhook.hooks.acme.com")
    assert istio.methods == ["GET"]
