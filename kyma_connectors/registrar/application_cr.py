"""Backend ``application-cr``: the services of today's Kyma Application custom resource.

The contract (../shared/docs/kyma-contracts.md (a), ../shared/kyma/crds/application.yaml): ``spec.services`` of the
cluster-scoped ``applicationconnector.kyma-project.io/v1alpha1`` Application. The CRD gives the list no
``x-kubernetes-list-type``, so server-side apply treats it as **atomic**: whoever applies it owns all of it. Two
writers exist -- ``pulumi up`` (so the program alone yields a working Application) and this job -- and both build the
list with :func:`registration.build_services`, so their applies carry equal values and share ownership instead of
conflicting.

How a run works:

1. GET the Application (it must exist; the program creates it before the Job).
2. Desired = ``build_services(manifest)``. Owned = the manifest's ids plus the ids recorded in the
   :data:`OWNED_ANNOTATION` by the previous run, so a service dropped from the manifest is dropped from the list.
   Services nobody gave us (another team's, the UCL agent's) are kept, in their order, ahead of ours.
3. If the merged list and our annotations equal what is there: **no write**, every service logs ``unchanged``.
4. Otherwise one server-side apply (``application/apply-patch+yaml``, field manager :data:`FIELD_MANAGER`,
   ``force=true`` because the list is atomic) of exactly ``spec.services`` and our annotations, carrying the
   ``resourceVersion`` it read: if someone wrote in between, the server answers 409 and the run starts over from 1.
   Fields others own (``spec.description``, ``spec.labels``, other annotations) are not in the apply, so their
   ownership and values stay as they are.

Specs stay findable: :data:`SPECS_ANNOTATION` names the ConfigMap (``namespace/name``) that holds the manifest and
every registered document (docs/registrar.md shows the kubectl one-liner).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from kyma_connectors.core.application_services import build_services
from kyma_connectors.registrar.bundle import SpecBundle
from kyma_connectors.registrar.errors import ApiError, TransientError
from kyma_connectors.registrar.report import Action, ServiceOutcome
from kyma_connectors.registrar.transport import HttpClient

API_VERSION: Final[str] = "applicationconnector.kyma-project.io/v1alpha1"
COLLECTION: Final[str] = f"/apis/{API_VERSION}/applications"
FIELD_MANAGER: Final[str] = "kyma-connectors-registrar"
OWNED_ANNOTATION: Final[str] = "connectors.kyma-project.io/registered-services"
"""Comma-separated ids of the services this job put into ``spec.services`` (sorted)."""
SPECS_ANNOTATION: Final[str] = "connectors.kyma-project.io/specs-configmap"
"""``namespace/name`` of the ConfigMap with ``registration.yaml`` and the OpenAPI/AsyncAPI documents."""
APPLY_CONTENT_TYPE: Final[str] = "application/apply-patch+yaml"
_MAX_CONFLICTS: Final[int] = 5


class ApplicationCrBackend:
    """Registers a manifest's services in one Application's ``spec.services``."""

    def __init__(self, client: HttpClient, application: str) -> None:
        self._client = client
        self._application = application
        self._path = f"{COLLECTION}/{quote(application, safe='')}"

    def register(self, bundle: SpecBundle, report: Callable[[ServiceOutcome], None]) -> list[ServiceOutcome]:
        """Bring ``spec.services`` in line with the manifest; at most one write, none when already in line.

        ``report`` hears of each service once the single apply has landed (or when none was needed)."""
        for _ in range(_MAX_CONFLICTS):
            current = self._get()
            step = plan(current, bundle)
            if step.write:
                try:
                    self._apply(current, step)
                except ApiError as exc:
                    if exc.status == 409:  # resourceVersion moved under us: read again and re-plan
                        continue
                    raise
            for outcome in step.outcomes:
                report(outcome)
            return step.outcomes
        raise TransientError(f"Application {self._application}: changed by another writer on each of "
                             f"{_MAX_CONFLICTS} attempts")

    def _get(self) -> dict[str, Any]:
        try:
            return dict(self._client.request("GET", self._path).json())
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(f"Application {self._application!r} not found: the program creates it before the "
                               f"registration Job (pulumi up); is the Application CRD installed? ({exc})",
                               status=404) from exc
            raise

    def _apply(self, current: dict[str, Any], step: Plan) -> None:
        body = {
            "apiVersion": API_VERSION,
            "kind": "Application",
            "metadata": {
                "name": self._application,
                "resourceVersion": current.get("metadata", {}).get("resourceVersion"),
                "annotations": step.annotations,
            },
            "spec": {"services": step.services},
        }
        self._client.request(
            "PATCH", self._path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": APPLY_CONTENT_TYPE},
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
        )


@dataclass(frozen=True)
class Plan:
    """The merged list, our annotations, what happens to each service, and whether a write is needed."""

    services: list[dict[str, Any]]
    annotations: dict[str, str]
    outcomes: list[ServiceOutcome]
    write: bool


def plan(current: dict[str, Any], bundle: SpecBundle) -> Plan:
    """Merge the manifest's services into the live Application (a GET result); pure, so it is tested on its own."""
    live: list[dict[str, Any]] = list((current.get("spec") or {}).get("services") or [])
    live_annotations: dict[str, str] = dict((current.get("metadata") or {}).get("annotations") or {})
    previously_owned = {i for i in live_annotations.get(OWNED_ANNOTATION, "").split(",") if i}

    desired = build_services(bundle.manifest)
    desired_ids = [service["id"] for service in desired]
    owned = previously_owned | set(desired_ids)
    merged = [service for service in live if service.get("id") not in owned] + desired

    annotations = {OWNED_ANNOTATION: ",".join(sorted(desired_ids))}
    manifest = bundle.manifest
    if manifest.specs_config_map:
        annotations[SPECS_ANNOTATION] = f"{manifest.specs_namespace or 'default'}/{manifest.specs_config_map}"

    live_by_id = {service.get("id"): service for service in live}
    outcomes: list[ServiceOutcome] = []
    for service in desired:
        before = live_by_id.get(service["id"])
        action = Action.CREATED if before is None else Action.UNCHANGED if before == service else Action.UPDATED
        outcomes.append(ServiceOutcome(action=action, name=service["name"], id=service["id"]))
    for service in live:
        if service.get("id") in previously_owned and service.get("id") not in desired_ids:
            outcomes.append(ServiceOutcome(action=Action.DELETED, name=str(service.get("name")),
                                           id=str(service.get("id"))))

    ours_in_place = all(live_annotations.get(key) == value for key, value in annotations.items())
    write = merged != live or not ours_in_place
    return Plan(merged, annotations, outcomes, write)
