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

from kyma_connectors.registrar.errors import SettingsError

DEFAULT_CREDENTIALS_DIR: Final[Path] = Path("/etc/registrar/credentials")
ENVIRONMENT: Final[frozenset[str]] = frozenset({
    "REGISTRAR_BACKEND", "REGISTRAR_APPLICATION", "REGISTRAR_SPECS_DIR", "REGISTRAR_REGISTRY_URL",
    "REGISTRAR_CREDENTIALS_DIR", "REGISTRAR_WAIT_SECONDS", "REGISTRAR_REQUEST_TIMEOUT", "KUBECONFIG",
})
"""Every variable the registrar reads (besides the in-cluster ``KUBERNETES_SERVICE_*``)."""
_APP_NAME: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and check every variable; raises :class:`SettingsError` listing all problems."""
        problems: list[str] = []
        raw_backend = env.get("REGISTRAR_BACKEND", Backend.APPLICATION_CR.value)
        try:
            backend = Backend(raw_backend)
        except ValueError:
            known = ", ".join(b.value for b in Backend)
            problems.append(f"REGISTRAR_BACKEND: {raw_backend!r} is not one of {known}")
            backend = Backend.APPLICATION_CR

        application = env.get("REGISTRAR_APPLICATION", "")
        if not application:
            problems.append("REGISTRAR_APPLICATION: required (the Kyma Application name)")
        elif not _APP_NAME.match(application) or len(application) > 253:
            problems.append(f"REGISTRAR_APPLICATION: {application!r} is not a valid Application name "
                            "(lowercase alphanumerics, '-' and '.')")

        specs_dir = Path(env.get("REGISTRAR_SPECS_DIR", ""))
        if not env.get("REGISTRAR_SPECS_DIR"):
            problems.append("REGISTRAR_SPECS_DIR: required (the directory holding registration.yaml)")
        elif not specs_dir.is_dir():
            problems.append(f"REGISTRAR_SPECS_DIR: {specs_dir} is not a directory")

        registry_url = env.get("REGISTRAR_REGISTRY_URL") or None
        if backend is Backend.APPLICATION_REGISTRY:
            if not registry_url:
                problems.append("REGISTRAR_REGISTRY_URL: required for the application-registry backend "
                                "(e.g. http://application-registry-external-api.kyma-integration:8081)")
            elif not registry_url.startswith(("http://", "https://")):
                problems.append(f"REGISTRAR_REGISTRY_URL: {registry_url!r} is not an http(s) URL")

        kubeconfig = Path(env["KUBECONFIG"]) if env.get("KUBECONFIG") else None
        if backend is Backend.APPLICATION_CR:
            if kubeconfig is not None and not kubeconfig.is_file():
                problems.append(f"KUBECONFIG: {kubeconfig} is not a file")
            if kubeconfig is None and not env.get("KUBERNETES_SERVICE_HOST"):
                problems.append("KUBECONFIG: not set and not running in a cluster (no KUBERNETES_SERVICE_HOST)")

        wait_seconds = _positive(env, "REGISTRAR_WAIT_SECONDS", 60.0, problems)
        request_timeout = _positive(env, "REGISTRAR_REQUEST_TIMEOUT", 10.0, problems)
        if problems:
            raise SettingsError("; ".join(problems))
        return cls(
            backend=backend,
            application=application,
            specs_dir=specs_dir,
            registry_url=registry_url.rstrip("/") if registry_url else None,
            credentials_dir=Path(env.get("REGISTRAR_CREDENTIALS_DIR") or DEFAULT_CREDENTIALS_DIR),
            kubeconfig=kubeconfig,
            wait_seconds=wait_seconds,
            request_timeout=request_timeout,
        )


def _positive(env: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name}: {raw!r} is not a number")
        return default
    if value <= 0:
        problems.append(f"{name}: must be positive, got {raw}")
        return default
    return value
