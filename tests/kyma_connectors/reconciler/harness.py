"""A running hook reconciler against the local kube-apiserver and a loopback solution double, for the evidence tests.

The reconciler runs as its Deployment runs it -- ``python -m kyma_connectors.reconciler`` in its own process, its
settings in ``RECONCILER_*``, the credential as a mounted file -- with ``KUBECONFIG`` instead of a service account.
Subscriptions are real objects in the API server, validated by the real Subscription CRD. Each rig has its own
Application name and namespace, so rigs never see each other's Subscriptions as their own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import requests

from devtools.cluster.kubeapi import KubeApi
from tests.support.paths import REPO

SUBSCRIPTIONS: Final[str] = "/apis/eventing.kyma-project.io/v1alpha2"
TOKEN: Final[str] = "ghp_reconciler_test"
WEBHOOK_SECRET: Final[str] = "whsec-reconciler-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll until ``predicate`` holds; returns the seconds it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - started


@dataclass
class Rig:
    kube: KubeApi
    kubeconfig: Path
    tmp: Path
    solution: str
    api_url: str
    targets: tuple[str, ...] = ()
    app: str = field(default_factory=lambda: f"github-rt{uuid.uuid4().hex[:6]}")
    namespace: str = field(default_factory=lambda: f"subs-{uuid.uuid4().hex[:8]}")
    webhook_url: str = ""
    debounce: float = 1.0
    max_delay: float = 10.0
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    log_path: Path | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        self.webhook_url = self.webhook_url or f"https://{self.app}-webhook.local.kyma.dev/webhook"
        self.kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": self.namespace}})
        self.kube.create(f"/api/v1/namespaces/{self.namespace}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "status"}, "data": {}})
        creds = self.tmp / f"creds-{self.app}"
        creds.mkdir()
        (creds / "token").write_text(TOKEN)
        (creds / "webhook-secret").write_text(WEBHOOK_SECRET)
        self.credentials = creds

    # --- the process ---------------------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "KUBECONFIG": str(self.kubeconfig),
            "RECONCILER_APPLICATION": self.app, "RECONCILER_SOLUTION": self.solution, "RECONCILER_SOURCE": self.app,
            "RECONCILER_API_URL": self.api_url, "RECONCILER_TARGETS": ",".join(self.targets),
            "RECONCILER_WEBHOOK_URL": self.webhook_url, "RECONCILER_CREDENTIALS_DIR": str(self.credentials),
            "RECONCILER_NAMESPACE": self.namespace, "RECONCILER_STATUS_CONFIGMAP": "status",
            "RECONCILER_DEBOUNCE_SECONDS": str(self.debounce), "RECONCILER_MAX_DELAY_SECONDS": str(self.max_delay),
            "RECONCILER_RETRY_MAX_SECONDS": "4", "RECONCILER_PORT": str(self.port), "RECONCILER_BIND": "127.0.0.1",
            **extra,
        }

    def start(self, **extra: str) -> None:
        self.port = free_port()
        self.starts += 1
        self.log_path = self.tmp / f"{self.app}-{self.starts}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "kyma_connectors.reconciler"], env=self.env(**extra),
                                         stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        wait_until(self.ready, 20, "the reconciler's /readyz")

    def ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"reconciler exited {self.proc.returncode}: {self.log()}")
        try:
            return requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        self.proc = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path else ""

    def metrics(self) -> str:
        return requests.get(f"http://127.0.0.1:{self.port}/metrics", timeout=2).text

    def metric(self, line_prefix: str) -> float:
        values = [float(line.rsplit(" ", 1)[1]) for line in self.metrics().splitlines()
                  if line.startswith(line_prefix)]
        return sum(values)

    # --- Subscriptions -------------------------------------------------------------------------------------
    def subscribe(self, name: str, *types: str, source: str | None = None,
                  matching: str = "standard") -> dict[str, Any]:
        body = {"apiVersion": "eventing.kyma-project.io/v1alpha2", "kind": "Subscription",
                "metadata": {"name": name, "namespace": self.namespace, "labels": {"rig": self.app}},
                "spec": {"sink": f"http://sink.{self.namespace}.svc.cluster.local", "source": self.app
                         if source is None else source, "types": list(types), "typeMatching": matching}}
        return self.kube.create(f"{SUBSCRIPTIONS}/namespaces/{self.namespace}/subscriptions", body)

    def subscribe_many(self, names_types: list[tuple[str, str]]) -> None:
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(lambda nt: self.subscribe(nt[0], nt[1]), names_types))

    def unsubscribe_all(self) -> None:
        """Delete every Subscription of the rig in one request (a collection delete by label)."""
        self.kube.delete(f"{SUBSCRIPTIONS}/namespaces/{self.namespace}/subscriptions?labelSelector=rig%3D{self.app}")

    def unsubscribe(self, name: str) -> None:
        self.kube.delete(f"{SUBSCRIPTIONS}/namespaces/{self.namespace}/subscriptions/{name}")

    def status(self) -> dict[str, str]:
        found = self.kube.get(f"/api/v1/namespaces/{self.namespace}/configmaps/status") or {}
        return dict(found.get("data") or {})

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        # No namespace controller runs on the local plane: delete what the rig made, then the namespace.
        for item in self.kube.items(f"{SUBSCRIPTIONS}/namespaces/{self.namespace}/subscriptions"):
            self.unsubscribe(item["metadata"]["name"])
        self.kube.delete(f"/api/v1/namespaces/{self.namespace}/configmaps/status")
        self.kube.delete(f"/api/v1/namespaces/{self.namespace}")
