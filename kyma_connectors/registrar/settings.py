"""The registrar's settings: the environment read once, at start, into one typed value.

Why up front: a Job that fails after half its writes because a variable is missing leaves the cluster in a state
nobody asked for. Every variable is checked before the first request, and every problem is reported at once.

==============================  ========================================================================
``REGISTRAR_BACKEND``           ``application-cr`` (default; today's Kyma) or ``application-registry`` (1.x)
``REGISTRAR_APPLICATION``       the Kyma Application name (must match the manifest's ``application``)
``REGISTRAR_SPECS_DIR``         the mounted ConfigMap with ``registration.yaml`` and the spec files
``REGISTRAR_REGISTRY_URL``      application-registry only: base URL of the metadata API, without ``/{app}``
``REGISTRAR_CREDENTIALS_DIR``   application-registry only: credential Secrets mounted as ``<dir>/<secretName>/<key>``
``REGISTRAR_WAIT_SECONDS``      how long to wait for an unreachable or overloaded API before giving up (default 60)
``REGISTRAR_REQUEST_TIMEOUT``   seconds per HTTP request (default 10)
``REGISTRAR_WEBHOOK_HOST``      application-cr, optional: the webhook URL's host, checked against the Istio Gateway
``REGISTRAR_ISTIO_GATEWAY``     with it: ``namespace/name`` of the Gateway the APIRule binds to
``KUBECONFIG``                  application-cr: a kubeconfig file; without it the in-cluster service account is used
==============================  ========================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from kyma_connectors.core import contract
from kyma_connectors.core.env import EnvReader
from kyma_connectors.registrar.errors import SettingsError

DEFAULT_CREDENTIALS_DIR: Final[Path] = Path(contract.REGISTRAR_CREDENTIALS_MOUNT)
ENVIRONMENT: Final[frozenset[str]] = frozenset({
    contract.REGISTRAR_BACKEND, contract.REGISTRAR_APPLICATION, contract.REGISTRAR_SPECS_DIR,
    contract.REGISTRAR_REGISTRY_URL, contract.REGISTRAR_CREDENTIALS_DIR, contract.REGISTRAR_WAIT_SECONDS,
    contract.REGISTRAR_REQUEST_TIMEOUT, contract.REGISTRAR_WEBHOOK_HOST, contract.REGISTRAR_ISTIO_GATEWAY, "KUBECONFIG",
})
"""Every variable the registrar reads (besides the in-cluster ``KUBERNETES_SERVICE_*``)."""
_APP_NAME: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_HOST: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$")
_GATEWAY: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


class Backend(StrEnum):
    """Where services are registered."""

    APPLICATION_CR = "application-cr"
    APPLICATION_REGISTRY = "application-registry"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a run needs from its environment."""

    backend: Backend
    application: str
    specs_dir: Path
    registry_url: str | None = None
    credentials_dir: Path = DEFAULT_CREDENTIALS_DIR
    kubeconfig: Path | None = None
    wait_seconds: float = 60.0
    request_timeout: float = 10.0
    webhook_host: str | None = None
    """The webhook URL's host; with ``istio_gateway``, checked to be served by that Gateway before any write."""
    istio_gateway: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every variable; raises :class:`SettingsError` listing all problems."""
        reader = EnvReader(env)
        backend = reader.enum(contract.REGISTRAR_BACKEND, Backend, Backend.APPLICATION_CR) or Backend.APPLICATION_CR
        application = reader.text(contract.REGISTRAR_APPLICATION, None, _APP_NAME,
                                  "the Kyma Application name: lowercase alphanumerics, '-' and '.'") or ""
        if len(application) > 253:
            reader.problem(contract.REGISTRAR_APPLICATION, "longer than 253 characters")
        specs_dir = reader.directory(contract.REGISTRAR_SPECS_DIR, None, must_exist=True) or Path()
        registry_url = reader.url(contract.REGISTRAR_REGISTRY_URL, "")
        if backend is Backend.APPLICATION_REGISTRY and not registry_url and reader.raw(
                contract.REGISTRAR_REGISTRY_URL) is None:
            reader.problem(contract.REGISTRAR_REGISTRY_URL, "required for the application-registry backend "
                           "(e.g. http://application-registry-external-api.kyma-integration:8081)")
        kubeconfig = Path(env["KUBECONFIG"]) if env.get("KUBECONFIG") else None
        if backend is Backend.APPLICATION_CR:
            if kubeconfig is not None and not kubeconfig.is_file():
                reader.problem("KUBECONFIG", f"{kubeconfig} is not a file")
            if kubeconfig is None and not env.get("KUBERNETES_SERVICE_HOST"):
                reader.problem("KUBECONFIG", "not set and not running in a cluster (no KUBERNETES_SERVICE_HOST)")
        wait_seconds = reader.seconds(contract.REGISTRAR_WAIT_SECONDS, 60.0)
        request_timeout = reader.seconds(contract.REGISTRAR_REQUEST_TIMEOUT, 10.0)
        credentials_dir = reader.directory(contract.REGISTRAR_CREDENTIALS_DIR, DEFAULT_CREDENTIALS_DIR)
        webhook_host = reader.text(contract.REGISTRAR_WEBHOOK_HOST, "", _HOST, "a fully qualified host name")
        istio_gateway = reader.text(contract.REGISTRAR_ISTIO_GATEWAY, "", _GATEWAY, "namespace/name")
        if bool(webhook_host) != bool(istio_gateway):
            reader.problem(contract.REGISTRAR_WEBHOOK_HOST, f"set together with {contract.REGISTRAR_ISTIO_GATEWAY}")
        if reader.problems:
            raise SettingsError(reader.problems)
        return cls(
            backend=backend,
            application=application,
            specs_dir=specs_dir,
            registry_url=registry_url or None,
            credentials_dir=credentials_dir or DEFAULT_CREDENTIALS_DIR,
            kubeconfig=kubeconfig,
            wait_seconds=wait_seconds,
            request_timeout=request_timeout,
            webhook_host=webhook_host or None,
            istio_gateway=istio_gateway or None,
        )
