"""How a service reaches the Kubernetes API server: the in-cluster service account or a kubeconfig file.

Why our own few lines instead of the official client: the registrar needs two verbs (GET and server-side apply) on
one resource, the hook reconciler list and watch on one; plain ``requests`` keeps the images small and every request
visible and countable. Supported credentials are
what Jobs and local control planes use: the service account token with its CA, and kubeconfig users with ``token``,
``tokenFile`` or client certificates (file or ``-data``), with ``certificate-authority(-data)`` or
``insecure-skip-tls-verify``. Exec and auth-provider plugins are refused with a clear message.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import requests
import urllib3
import yaml

from kyma_connectors.core.problems import Problem, ProblemsMixin

SERVICE_ACCOUNT_DIR: Final[Path] = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeConfigError(ProblemsMixin, ValueError):
    """No usable credentials: the kubeconfig or the service account cannot be read or is unsupported.

    Each service wraps it in its own settings error (one base per package); ``problems`` carries over as is.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


@dataclass(frozen=True, kw_only=True)
class KubeConnection:
    """A server URL and what to present to it. Material given inline is kept as bytes until a session is made."""

    server: str
    token: str | None = None
    ca: bytes | Path | None = None
    client_cert: tuple[bytes | Path, bytes | Path] | None = None
    insecure: bool = False

    def __repr__(self) -> str:  # never print the token or key material
        return f"KubeConnection(server={self.server!r}, insecure={self.insecure})"


def in_cluster(env: Mapping[str, str], account_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeConnection:
    """The pod's service account, as every in-cluster client finds it."""
    host, port = env.get("KUBERNETES_SERVICE_HOST", ""), env.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise KubeConfigError.at("in-cluster credentials", "KUBERNETES_SERVICE_HOST is not set")
    try:
        token = (account_dir / "token").read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise KubeConfigError.at("in-cluster credentials", f"cannot read the service account token: {exc}") from exc
    host = f"[{host}]" if ":" in host else host
    return KubeConnection(server=f"https://{host}:{port}", token=token, ca=account_dir / "ca.crt")


def from_kubeconfig(path: Path) -> KubeConnection:
    """The current context of a kubeconfig file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KubeConfigError.at(f"KUBECONFIG {path}", f"cannot read: {exc}") from exc
    if not isinstance(doc, dict):
        raise KubeConfigError.at(f"KUBECONFIG {path}", "not a kubeconfig document")
    try:
        context = _named(doc, "contexts", doc.get("current-context"))["context"]
        cluster = _named(doc, "clusters", context["cluster"])["cluster"]
        user = _named(doc, "users", context.get("user"))["user"] if context.get("user") else {}
    except (KeyError, TypeError) as exc:
        raise KubeConfigError.at(f"KUBECONFIG {path}", f"incomplete current context ({exc})") from exc
    if "exec" in user or "auth-provider" in user:
        raise KubeConfigError.at(f"KUBECONFIG {path}", "exec and auth-provider users are not supported; "
                            "use a token or a client certificate")
    base = path.parent
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token_file = Path(user["tokenFile"]) if Path(user["tokenFile"]).is_absolute() else base / user["tokenFile"]
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KubeConfigError.at(f"KUBECONFIG {path}", f"cannot read tokenFile: {exc}") from exc
    cert = _material(user.get("client-certificate-data"), user.get("client-certificate"), base)
    key = _material(user.get("client-key-data"), user.get("client-key"), base)
    return KubeConnection(
        server=str(cluster["server"]).rstrip("/"),
        token=str(token) if token else None,
        ca=_material(cluster.get("certificate-authority-data"), cluster.get("certificate-authority"), base),
        client_cert=(cert, key) if cert is not None and key is not None else None,
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
    )


def _named(doc: dict[str, Any], section: str, name: Any) -> dict[str, Any]:
    for entry in doc.get(section) or []:
        if entry.get("name") == name:
            return dict(entry)
    raise KeyError(f"{section[:-1]} {name!r} not found")


def _material(data: str | None, file: str | None, base: Path) -> bytes | Path | None:
    if data:
        return base64.b64decode(data)
    if file:
        path = Path(file)
        return path if path.is_absolute() else base / path
    return None


class KubeSession(requests.Session):
    """A session authenticated for one API server; inline certificates live in a private temp dir until close."""

    def __init__(self, connection: KubeConnection) -> None:
        super().__init__()
        self._tmp: Path | None = None  # created only for inline (``-data``) material
        if connection.token:
            self.headers["Authorization"] = f"Bearer {connection.token}"
        if connection.insecure:
            # The operator chose insecure-skip-tls-verify; a warning per request would drown the JSON log.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            self.verify = False
        elif connection.ca is not None:
            self.verify = str(self._file(connection.ca, "ca.crt"))
        if connection.client_cert is not None:
            cert, key = connection.client_cert
            self.cert = (str(self._file(cert, "client.crt")), str(self._file(key, "client.key")))

    def merge_environment_settings(self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        """Keep the cluster's CA: requests would otherwise let ``REQUESTS_CA_BUNDLE`` replace ``self.verify``."""
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.verify is not True:
            settings["verify"] = self.verify
        return settings

    def _file(self, material: bytes | Path, name: str) -> Path:
        if isinstance(material, Path):
            return material
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="kube-"))
        path = self._tmp / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(material)
        return path

    def close(self) -> None:
        super().close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
