"""A minimal, typed client for the Kubernetes REST API, enough for the local control plane and the e2e assertions.

Why not the official `kubernetes` package: the tooling needs six verbs against one loopback server, and a
dependency of ~30 MB with its own generated models would cost more than it gives. The client reads the same
kubeconfig file that Pulumi's Kubernetes provider reads (token user, CA data), so both talk to the server the same way.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
CONTEXT = "kc-local"
"""The context (and cluster) name of every kubeconfig the tooling writes."""


class KubeApiError(Exception):
    """The API server answered with an unexpected status, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class KubeConfig:
    """The parts of a kubeconfig the tooling uses: one cluster, one token user."""

    server: str
    token: str
    ca_pem: bytes | None

    @classmethod
    def load(cls, path: Path) -> KubeConfig:
        """Read the current context of a kubeconfig written by `devtools.cluster.controlplane` (token user, CA data)."""
        doc = yaml.safe_load(path.read_text())
        current = doc.get("current-context")
        contexts = {c["name"]: c["context"] for c in doc.get("contexts", [])}
        clusters = {c["name"]: c["cluster"] for c in doc.get("clusters", [])}
        users = {u["name"]: u["user"] for u in doc.get("users", [])}
        if current not in contexts:
            raise KubeApiError(f"{path}: current-context {current!r} not found")
        ctx = contexts[current]
        cluster, user = clusters[ctx["cluster"]], users[ctx["user"]]
        ca_data = cluster.get("certificate-authority-data")
        return cls(
            server=str(cluster["server"]),
            token=str(user.get("token", "")),
            ca_pem=base64.b64decode(ca_data) if ca_data else None,
        )


    @classmethod
    def in_cluster(cls, secrets: Path = SERVICE_ACCOUNT_DIR) -> KubeConfig:
        """The pod's own view: the API server from KUBERNETES_SERVICE_HOST/PORT, its service-account token and CA."""
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if not host:
            raise KubeApiError("not in a pod: KUBERNETES_SERVICE_HOST is unset")
        return cls(server=f"https://{host}:{port}", token=(secrets / "token").read_text().strip(),
                   ca_pem=(secrets / "ca.crt").read_bytes())

    def write(self, path: Path, user: str = "kc-admin") -> None:
        """Write this config as a kubeconfig (context ``CONTEXT``, token user ``user``), mode 0600 (it carries a
        credential), replaced atomically so a reader never sees half a file."""
        cluster: dict[str, Any] = {"server": self.server}
        if self.ca_pem:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT, "preferences": {},
            "clusters": [{"name": CONTEXT, "cluster": cluster}],
            "users": [{"name": user, "user": {"token": self.token}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        tmp.replace(path)


class KubeApi:
    """REST calls against one API server; paths are API paths such as `/api/v1/namespaces/default/secrets`."""

    def __init__(self, config: KubeConfig, timeout: float = 10.0) -> None:
        self._config = config
        self._timeout = timeout
        self._session = requests.Session()
        # Loopback only: ignore proxy and CA-bundle environment variables (REQUESTS_CA_BUNDLE would override the
        # cluster's CA, http(s)_proxy would route loopback calls elsewhere).
        self._session.trust_env = False
        self._session.headers["Authorization"] = f"Bearer {config.token}"
        self._ca_file: Path | None = None
        if config.ca_pem:
            # requests wants a file path; the bundle is public material (a CA certificate), not a secret.
            handle = tempfile.NamedTemporaryFile(prefix="kc-ca-", suffix=".pem", delete=False)  # noqa: SIM115
            handle.write(config.ca_pem)
            handle.close()
            self._ca_file = Path(handle.name)
            self._session.verify = str(self._ca_file)
        else:
            self._session.verify = False

    @classmethod
    def from_kubeconfig(cls, path: Path, timeout: float = 10.0) -> KubeApi:
        return cls(KubeConfig.load(path), timeout)

    def close(self) -> None:
        self._session.close()
        if self._ca_file is not None:
            self._ca_file.unlink(missing_ok=True)

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        try:
            return self._session.request(method, self._config.server + path, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise KubeApiError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at `path`, or None when the server answers 404."""
        resp = self._request("GET", path)
        if resp.status_code == 404:
            return None
        return self._json(resp, "GET", path)

    def items(self, path: str) -> list[dict[str, Any]]:
        """The items of a list path (an empty list when the resource type is not served)."""
        found = self.get(path)
        return list(found.get("items", [])) if found else []

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._request("POST", path, body), "POST", path)

    def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._request("PUT", path, body), "PUT", path)

    def delete(self, path: str, propagation: str = "Background") -> bool:
        """Delete (Background, Foreground or Orphan propagation); False when it was already gone."""
        resp = self._request("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                                               "propagationPolicy": propagation})
        if resp.status_code == 404:
            return False
        self._json(resp, "DELETE", path)
        return True

    def apply(self, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create the object, or replace it when it exists (keeps CRD upgrades idempotent)."""
        resp = self._request("POST", collection, body)
        if resp.status_code != 409:
            return self._json(resp, "POST", collection)
        path = f"{collection}/{body['metadata']['name']}"
        current = self.get(path) or {}
        updated = dict(body)
        updated["metadata"] = dict(body["metadata"], resourceVersion=current.get("metadata", {}).get("resourceVersion"))
        return self.replace(path, updated)

    def ready(self) -> bool:
        """True once /readyz answers ok (all post-start hooks done, etcd reachable)."""
        try:
            return self._request("GET", "/readyz").status_code == 200
        except KubeApiError:
            return False

    @staticmethod
    def _json(resp: requests.Response, method: str, path: str) -> dict[str, Any]:
        if resp.status_code >= 300:
            detail = resp.text[:500]
            raise KubeApiError(f"{method} {path}: HTTP {resp.status_code}: {detail}", resp.status_code)
        result: dict[str, Any] = resp.json()
        return result


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll `predicate` until it holds; raise KubeApiError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise KubeApiError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def load_manifests(path: Path) -> Iterator[dict[str, Any]]:
    """Every non-empty YAML document of a manifest file."""
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            yield doc
