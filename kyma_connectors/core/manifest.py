"""The registration manifest: what a connector registers with Kyma, as one versioned document.

Why a shared module: the Pulumi program writes this manifest into the registration Job's ConfigMap and also builds the
Application's ``spec.services`` from it; the registrar reads it back inside the cluster. Both sides import this module,
so the document has one schema and one parser, and the program and the Job can never disagree on a service's shape.

The document (``registration.yaml`` beside the spec files)::

    apiVersion: connectors.kyma-project.io/v1
    kind: RegistrationManifest
    application: github-acme            # Kyma Application name
    solution: github
    specsConfigMap: {namespace: connectors, name: github-acme-specs}
    services:
      - id: 6f1c...                     # stable: uuid5 of "<application>/<name>"
        name: github-rest-api           # [a-z0-9-]
        displayName: GitHub REST API
        description: ...
        providerDisplayName: GitHub
        api:                            # optional
          targetUrl: https://api.github.com
          spec: openapi.yaml            # a file beside this manifest
          apiType: OpenAPI              # OpenAPI | OData
          credentials: {type: Basic, secretName: github-acme-api}      # optional; also authenticationUrl, csrfTokenUrl
          requestParametersSecretName: github-acme-api-params          # optional
        events:                         # optional
          spec: asyncapi.yaml
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from kyma_connectors.core.errors import CoreError
from kyma_connectors.core.problems import Problem, ProblemsMixin

API_VERSION: Final[str] = "connectors.kyma-project.io/v1"
KIND: Final[str] = "RegistrationManifest"
FILE_NAME: Final[str] = "registration.yaml"
"""The manifest's file name in the specs directory (the mounted ConfigMap)."""

CREDENTIAL_TYPES: Final[tuple[str, ...]] = ("Basic", "OAuth", "OAuthWithCert", "CertificateGen")
"""``credentials.type`` values the Application CRD and the Central Application Gateway know."""
API_TYPES: Final[tuple[str, ...]] = ("OpenAPI", "OData")

_SERVICE_NAME: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_ID_NAMESPACE: Final[uuid.UUID] = uuid.UUID("5d1f2b0e-8a7c-4d0e-9c55-6b0f3c8a91e2")


class ManifestError(ProblemsMixin, CoreError, ValueError):
    """The manifest is malformed; ``problems`` lists every problem with its document path."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


def service_id(application: str, name: str) -> str:
    """A service id that stays the same for the same application and service name, across runs and clusters."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{application}/{name}"))


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """How the Central Application Gateway authenticates to the API; the Secret lives in ``kyma-system``."""

    type: str
    secret_name: str
    authentication_url: str | None = None
    """OAuth token URL (OAuth and OAuthWithCert only)."""
    csrf_token_url: str | None = None
    """When set, the gateway fetches a CSRF token from this URL first."""


@dataclass(frozen=True, kw_only=True)
class ApiDefinition:
    target_url: str
    spec: str | None = None
    api_type: str = "OpenAPI"
    credentials: Credentials | None = None
    request_parameters_secret_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class EventsDefinition:
    spec: str


@dataclass(frozen=True, kw_only=True)
class ServiceDefinition:
    id: str
    name: str
    display_name: str
    description: str
    provider_display_name: str
    api: ApiDefinition | None = None
    events: EventsDefinition | None = None

    def spec_files(self) -> list[str]:
        """The spec files this service refers to, relative to the manifest."""
        files = [self.api.spec] if self.api and self.api.spec else []
        return files + ([self.events.spec] if self.events else [])


@dataclass(frozen=True, kw_only=True)
class Manifest:
    application: str
    solution: str
    services: tuple[ServiceDefinition, ...] = field(default_factory=tuple)
    specs_namespace: str | None = None
    specs_config_map: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The manifest as a plain document (stable key order, no empty optional fields)."""
        doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": KIND, "application": self.application,
                               "solution": self.solution}
        if self.specs_config_map:
            doc["specsConfigMap"] = {"namespace": self.specs_namespace, "name": self.specs_config_map}
        doc["services"] = [_service_to_dict(s) for s in self.services]
        return doc


def _service_to_dict(service: ServiceDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": service.id,
        "name": service.name,
        "displayName": service.display_name,
        "description": service.description,
        "providerDisplayName": service.provider_display_name,
    }
    if service.api:
        api: dict[str, Any] = {"targetUrl": service.api.target_url, "apiType": service.api.api_type}
        if service.api.spec:
            api["spec"] = service.api.spec
        if service.api.credentials:
            creds = service.api.credentials
            api["credentials"] = _drop_none({"type": creds.type, "secretName": creds.secret_name,
                                             "authenticationUrl": creds.authentication_url,
                                             "csrfTokenUrl": creds.csrf_token_url})
        if service.api.request_parameters_secret_name:
            api["requestParametersSecretName"] = service.api.request_parameters_secret_name
        out["api"] = api
    if service.events:
        out["events"] = {"spec": service.events.spec}
    return out


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def parse_manifest(document: Any) -> Manifest:
    """Validate a parsed manifest document; raises :class:`ManifestError` listing every problem at once."""
    problems: list[Problem] = []
    if not isinstance(document, Mapping):
        raise ManifestError([Problem("manifest", "expected a mapping")])
    if document.get("apiVersion") != API_VERSION or document.get("kind") != KIND:
        problems.append(Problem("apiVersion/kind", f"expected {API_VERSION} {KIND}"))
    application = _str(document, "application", "application", problems)
    solution = _str(document, "solution", "solution", problems)
    specs = document.get("specsConfigMap") or {}
    raw_services = document.get("services")
    if not isinstance(raw_services, list):
        problems.append(Problem("services", "expected a list"))
        raw_services = []
    parsed = [(i, s) for i, raw in enumerate(raw_services) if (s := _parse_service(raw, f"services[{i}]", problems))]
    services = [svc for _, svc in parsed]
    for key in ("id", "name", "display_name"):
        seen: set[str] = set()
        for i, svc in parsed:
            value = getattr(svc, key)
            if value in seen:
                problems.append(Problem(f"services[{i}].{_camel(key)}",
                                        f"duplicate {value!r} (must be unique in the Application)"))
            seen.add(value)
    if problems:
        raise ManifestError(problems)
    return Manifest(
        application=application,
        solution=solution,
        services=tuple(services),
        specs_namespace=specs.get("namespace") if isinstance(specs, Mapping) else None,
        specs_config_map=specs.get("name") if isinstance(specs, Mapping) else None,
    )


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _str(doc: Mapping[str, Any], key: str, where: str, problems: list[Problem]) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        problems.append(Problem(f"{where}", "expected a non-empty string"))
        return ""
    return value


def _parse_service(raw: Any, where: str, problems: list[Problem]) -> ServiceDefinition | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(f"{where}", "expected a mapping"))
        return None
    before = len(problems)
    name = _str(raw, "name", f"{where}.name", problems)
    if name and not _SERVICE_NAME.match(name):
        problems.append(Problem(f"{where}.name", f"{name!r} must be lowercase letters, digits and '-'"))
    values = {key: _str(raw, key, f"{where}.{key}", problems)
              for key in ("id", "displayName", "description", "providerDisplayName")}
    api = _parse_api(raw.get("api"), f"{where}.api", problems) if raw.get("api") is not None else None
    events = None
    if raw.get("events") is not None:
        ev = raw["events"]
        spec = _str(ev, "spec", f"{where}.events.spec", problems) if isinstance(ev, Mapping) else ""
        if not isinstance(ev, Mapping):
            problems.append(Problem(f"{where}.events", "expected a mapping"))
        events = EventsDefinition(spec=spec)
    if api is None and events is None:
        problems.append(Problem(f"{where}", "a service needs an api, events, or both"))
    if len(problems) > before:
        return None
    return ServiceDefinition(
        id=values["id"],
        name=name,
        display_name=values["displayName"],
        description=values["description"],
        provider_display_name=values["providerDisplayName"],
        api=api,
        events=events,
    )


def _parse_api(raw: Any, where: str, problems: list[Problem]) -> ApiDefinition | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(f"{where}", "expected a mapping"))
        return None
    target = _str(raw, "targetUrl", f"{where}.targetUrl", problems)
    if target and not target.startswith(("http://", "https://")):
        problems.append(Problem(f"{where}.targetUrl", "expected an http(s) URL"))
    api_type = raw.get("apiType", "OpenAPI")
    if api_type not in API_TYPES:
        problems.append(Problem(f"{where}.apiType", f"{api_type!r} is not one of {', '.join(API_TYPES)}"))
    credentials = None
    if raw.get("credentials") is not None:
        credentials = _parse_credentials(raw["credentials"], f"{where}.credentials", problems)
    spec = raw.get("spec")
    if spec is not None and not isinstance(spec, str):
        problems.append(Problem(f"{where}.spec", "expected a file name"))
        spec = None
    params = raw.get("requestParametersSecretName")
    return ApiDefinition(
        target_url=target,
        spec=spec,
        api_type=str(api_type),
        credentials=credentials,
        request_parameters_secret_name=params if isinstance(params, str) and params else None,
    )


def _parse_credentials(raw: Any, where: str, problems: list[Problem]) -> Credentials | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(f"{where}", "expected a mapping"))
        return None
    kind = raw.get("type")
    if kind not in CREDENTIAL_TYPES:
        known = ", ".join(CREDENTIAL_TYPES)
        problems.append(Problem(f"{where}.type", f"unknown credential type {kind!r} (expected one of {known})"))
    secret_name = _str(raw, "secretName", f"{where}.secretName", problems)
    auth_url = raw.get("authenticationUrl")
    if kind in ("OAuth", "OAuthWithCert") and not auth_url:
        problems.append(Problem(f"{where}.authenticationUrl", f"required for {kind} (the OAuth token URL)"))
    return Credentials(
        type=str(kind),
        secret_name=secret_name,
        authentication_url=auth_url if isinstance(auth_url, str) else None,
        csrf_token_url=raw.get("csrfTokenUrl") if isinstance(raw.get("csrfTokenUrl"), str) else None,
    )
