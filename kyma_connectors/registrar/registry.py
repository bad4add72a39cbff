"""Backend ``application-registry``: the Kyma 1.x Application Registry metadata API (behind the feature flag).

The contract: ../shared/kyma/legacy/application-registry-metadata-api.yaml and kyma-contracts.md (e) -- under
``{REGISTRAR_REGISTRY_URL}/{application}``: ``GET/POST /v1/metadata/services``, ``PUT/DELETE
/v1/metadata/services/{id}``. The registry assigns ids; the registrar matches its services by ``identifier`` (the
manifest's service name, unique in the Application) and marks what it registered with two labels:

- :data:`MANAGED_BY_LABEL` -- ownership: only services carrying it are ever deleted;
- :data:`FINGERPRINT_LABEL` -- what was sent (:mod:`registrar.fingerprint`), so one list call decides everything.

A run: GET the list; POST services the registry lacks; PUT those whose fingerprint differs (or that match by
identifier but were registered by someone else: they are adopted); DELETE owned services gone from the manifest.
A rerun with the same input is a single GET.

Mapping from the manifest (kyma-contracts.md (e)): ``name`` = display name, ``provider`` = provider display name,
``api.spec`` = the OpenAPI document (OData: ``apiType: OData`` and no spec -- the registry fetches ``$metadata``
itself), ``events.spec`` = the AsyncAPI document, credentials inline from the mounted Secrets
(:mod:`registrar.credentials`). ``OAuthWithCert`` has no 1.x equivalent and is refused before any write.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote

import requests

from kyma_connectors.core.manifest import Credentials, ServiceDefinition
from kyma_connectors.core.problems import Problem
from kyma_connectors.registrar.bundle import SpecBundle
from kyma_connectors.registrar.credentials import MountedSecrets
from kyma_connectors.registrar.errors import ApiError, RegistrarError, SpecError
from kyma_connectors.registrar.fingerprint import digest, fingerprint, sealed
from kyma_connectors.registrar.report import Action, ServiceOutcome
from kyma_connectors.registrar.transport import HttpClient

MANAGED_BY_LABEL: Final[str] = "connectors.kyma-project.io/managed-by"
MANAGED_BY: Final[str] = "kyma-connectors-registrar"
FINGERPRINT_LABEL: Final[str] = "connectors.kyma-project.io/fingerprint"
MASK: Final[str] = "********"


class RegistryBackend:
    """Registers a manifest's services with one application's metadata API."""

    def __init__(self, client: HttpClient, application: str, secrets: MountedSecrets) -> None:
        self._client = client
        self._secrets = secrets
        self._path = f"/{quote(application, safe='')}/v1/metadata/services"
        self._application = application
        self._secret_values: set[str] = set()
        self._digests: dict[int, str] = {}
        self._digests_for: SpecBundle | None = None

    def register(self, bundle: SpecBundle, report: Callable[[ServiceOutcome], None]) -> list[ServiceOutcome]:
        """List once, then create, update and delete only what differs; ``report`` hears of each step as it lands,
        so a run that fails half-way still logs what it did (the Job's retry continues from the registry's state)."""
        bodies = [(service, self._details(service, bundle)) for service in bundle.manifest.services]
        listed = self._send("GET", self._path).json()
        if not isinstance(listed, list):
            raise ApiError(f"application-registry: GET {self._path} returned {type(listed).__name__}, expected a list")
        by_identifier = {str(entry.get("identifier")): entry for entry in listed if entry.get("identifier")}

        outcomes: list[ServiceOutcome] = []

        def done(action: Action, name: str, sid: Any) -> None:
            outcomes.append(ServiceOutcome(action=action, name=name, id=str(sid)))
            report(outcomes[-1])

        for service, body in bodies:
            existing = by_identifier.get(service.name)
            if existing is None:
                done(Action.CREATED, service.name, self._send("POST", self._path, body).json().get("id"))
            elif _ours(existing.get("labels") or {}) == body["labels"]:
                done(Action.UNCHANGED, service.name, existing["id"])
            else:
                self._send("PUT", f"{self._path}/{quote(str(existing['id']), safe='')}", body)
                done(Action.UPDATED, service.name, existing["id"])

        wanted = {service.name for service in bundle.manifest.services}
        for entry in listed:
            labels = entry.get("labels") or {}
            if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and entry.get("identifier") not in wanted:
                try:
                    self._send("DELETE", f"{self._path}/{quote(str(entry['id']), safe='')}")
                except ApiError as exc:
                    if exc.status != 404:  # gone already (a repeated DELETE whose first answer was lost): fine
                        raise
                done(Action.DELETED, str(entry.get("identifier")), entry["id"])
        return outcomes

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        """One request; a server that echoes the body in its error must not put credentials into our one line."""
        try:
            return self._client.request(method, path, json=body)
        except RegistrarError as exc:
            exc.args = (_scrub(str(exc), self._secret_values),)
            raise

    def _details(self, service: ServiceDefinition, bundle: SpecBundle) -> dict[str, Any]:
        """The ServiceDetails body, labelled with ownership and the fingerprint of everything else."""
        body: dict[str, Any] = {
            "provider": service.provider_display_name,
            "name": service.display_name,
            "description": service.description,
            "identifier": service.name,
        }
        secrets: list[bytes] = []
        if service.api:
            api: dict[str, Any] = {"targetUrl": service.api.target_url}
            if service.api.api_type == "OData":
                api["apiType"] = "OData"
            elif service.api.spec:
                api["spec"] = bundle.documents[service.api.spec]
            if service.api.credentials:
                api["credentials"] = self._credentials(service, service.api.credentials, secrets)
            if service.api.request_parameters_secret_name:
                params = self._request_parameters(service.api.request_parameters_secret_name)
                if params:
                    api["requestParameters"] = params
                    self._secret_values.update(value for values in params.values() for entries in values.values()
                                               for value in entries if isinstance(value, str) and value)
                    secrets.append(self._seal(service.api.request_parameters_secret_name,
                                              json.dumps(params, sort_keys=True)))
            body["api"] = api
        if service.events:
            body["events"] = {"spec": bundle.documents[service.events.spec]}
        public = _masked(body, self._document_digests(bundle))
        body["labels"] = {MANAGED_BY_LABEL: MANAGED_BY,
                          FINGERPRINT_LABEL: fingerprint(public, secrets)}
        return body

    def _document_digests(self, bundle: SpecBundle) -> dict[int, str]:
        """id(document) -> digest, computed once per file: 100 services sharing one catalog hash it once."""
        if self._digests_for is not bundle:
            self._digests = {id(doc): digest(doc) for doc in bundle.documents.values()}
            self._digests_for = bundle
        return self._digests

    def _seal(self, secret_name: str, *values: str) -> bytes:
        self._secret_values.update(value for value in values if value)
        return sealed(values, salt=f"{self._application}/{secret_name}")

    def _credentials(self, service: ServiceDefinition, creds: Credentials, secrets: list[bytes]) -> dict[str, Any]:
        csrf = {"csrfInfo": {"tokenEndpointURL": creds.csrf_token_url}} if creds.csrf_token_url else {}
        if creds.type == "Basic":
            username = self._secrets.value(creds.secret_name, "username")
            password = self._secrets.value(creds.secret_name, "password")
            secrets.append(self._seal(creds.secret_name, username, password))
            return {"basic": {"username": username, "password": password, **csrf}}
        if creds.type == "OAuth":
            client_id = self._secrets.value(creds.secret_name, "clientId")
            client_secret = self._secrets.value(creds.secret_name, "clientSecret")
            secrets.append(self._seal(creds.secret_name, client_id, client_secret))
            return {"oauth": {"url": creds.authentication_url, "clientId": client_id,
                              "clientSecret": client_secret, **csrf}}
        if creds.type == "CertificateGen":
            return {"certificateGen": {"commonName": f"{self._application}-{service.name}"[:64], **csrf}}
        raise SpecError([Problem(f"services {service.name!r}", f"credentials type {creds.type!r} is not supported by "
                                 "the Application Registry (Kyma 1.x knows Basic, OAuth and CertificateGen)")])

    def _request_parameters(self, secret: str) -> dict[str, Any]:
        found = {key: self._secrets.optional_json(secret, key) for key in ("headers", "queryParameters")}
        for key, value in found.items():
            if value is not None and not all(isinstance(v, list) and all(isinstance(i, str) for i in v)
                                             for v in value.values()):
                raise SpecError([Problem("credentials", f"key {key!r} of Secret {secret!r} must map names to lists "
                                                 'of strings, e.g. {"X-Api-Key": ["..."]}')])
        return {key: value for key, value in found.items() if value is not None}


def _ours(labels: dict[str, Any]) -> dict[str, Any]:
    """Our labels only: the registry may add its own (1.x adds ``connected-app``), which must not look like drift."""
    return {key: value for key, value in labels.items() if key in (MANAGED_BY_LABEL, FINGERPRINT_LABEL)}


def _scrub(text: str, secrets: set[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def _masked(body: dict[str, Any], digests: dict[int, str]) -> dict[str, Any]:
    """The body with documents replaced by their digests and every credential value and request parameter masked."""
    public = dict(body)
    for part in ("api", "events"):
        if part in body and "spec" in body[part]:
            public[part] = {**body[part], "spec": digests[id(body[part]["spec"])]}
    public = copy.deepcopy(public)
    api = public.get("api") or {}
    for kind in ("basic", "oauth"):
        fields = (api.get("credentials") or {}).get(kind)
        for key in ("username", "password", "clientId", "clientSecret"):
            if fields and key in fields:
                fields[key] = MASK
    if "requestParameters" in api:
        api["requestParameters"] = MASK
    return public
