"""From a registration manifest to the Application CR's ``spec.services`` (applicationconnector v1alpha1).

One pure function used by both writers of ``spec.services``: the Pulumi program (so `pulumi up` alone yields a working
Application, and rendered manifests are complete for GitOps) and the registrar's ``application-cr`` backend (which
re-applies the same list under its own field manager when specs change). Because both build the list here, their
server-side applies carry equal values and share ownership instead of conflicting.

Field names and rules: ../shared/docs/kyma-contracts.md (a) and (b); shapes: ../shared/kyma/crds/application.yaml.
"""

from __future__ import annotations

import re
from typing import Any, Final

from kyma_connectors.core.manifest import ApiDefinition, Manifest, ServiceDefinition

CENTRAL_GATEWAY: Final[str] = "http://central-application-gateway.kyma-system:8080"
"""In-cluster base URL of the Central Application Gateway (manual integration port)."""

_NON_ALNUM: Final[re.Pattern[str]] = re.compile(r"[^a-zA-Z0-9]+")


def normalize_service_name(display_name: str) -> str:
    """The gateway's path segment for a service: its normalised ``displayName``.

    The same rule, in the same order, as application-connector-manager
    components/central-application-gateway/pkg/normalization/normalization.go ``NormalizeName`` (matched by
    internal/metadata/applications/repository.go ``getMatchFunction``): runs of non-alphanumerics become ``-``,
    lowercased, one trailing ``-`` trimmed, *then* cut to 57 characters, *then* one leading ``-`` trimmed. The order
    matters: a long name that starts with a non-alphanumeric ends up 56 characters long, and a cut can leave a
    trailing ``-`` that Kyma keeps.
    """
    normalized = _NON_ALNUM.sub("-", display_name).lower().removesuffix("-")
    return normalized[:57].removeprefix("-")


def gateway_url(application: str, display_name: str) -> str:
    """Where Kyma workloads call a registered API through the Central Application Gateway."""
    return f"{CENTRAL_GATEWAY}/{application}/{normalize_service_name(display_name)}"


def build_services(manifest: Manifest) -> list[dict[str, Any]]:
    """The ``spec.services`` list for the manifest's Application, in manifest order."""
    return [_service(manifest.application, service) for service in manifest.services]


def _service(application: str, service: ServiceDefinition) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    if service.api:
        entries.append(_api_entry(application, service, service.api))
    if service.events:
        entries.append({"type": "Events"})
    return {
        "id": service.id,
        "identifier": service.name,
        "name": service.name,
        "displayName": service.display_name,
        "description": service.description,
        "providerDisplayName": service.provider_display_name,
        "entries": entries,
    }


def _api_entry(application: str, service: ServiceDefinition, api: ApiDefinition) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "API",
        "targetUrl": api.target_url,
        "centralGatewayUrl": gateway_url(application, service.display_name),
        "apiType": api.api_type,
    }
    if api.credentials:
        credentials: dict[str, Any] = {"type": api.credentials.type, "secretName": api.credentials.secret_name}
        if api.credentials.authentication_url:
            credentials["authenticationUrl"] = api.credentials.authentication_url
        if api.credentials.csrf_token_url:
            credentials["csrfInfo"] = {"tokenEndpointURL": api.credentials.csrf_token_url}
        entry["credentials"] = credentials
    if api.request_parameters_secret_name:
        entry["requestParametersSecretName"] = api.request_parameters_secret_name
    return entry
