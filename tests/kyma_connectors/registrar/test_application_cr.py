"""The application-cr backend against a real kube-apiserver with the real Application CRD from ../shared/kyma/crds.

What is proven here, with the API server's own managedFields as the witness:
- services appear in ``spec.services``, shaped by ``registration.build_services`` and accepted by the CRD;
- a rerun with the same input makes zero writes (the object's resourceVersion does not move);
- a service removed from the manifest disappears; services the registrar never owned stay;
- fields owned by others (``pulumi up``'s description, labels, annotations) keep their values and their owner, and
  ``pulumi up`` re-applying the same services afterwards does not conflict (ownership is shared).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kyma_connectors.core.application_services import build_services
from kyma_connectors.core.kube import KubeSession, from_kubeconfig
from kyma_connectors.core.manifest import Manifest
from kyma_connectors.registrar.application_cr import (
    API_VERSION,
    COLLECTION,
    FIELD_MANAGER,
    OWNED_ANNOTATION,
    SPECS_ANNOTATION,
    ApplicationCrBackend,
)
from kyma_connectors.registrar.bundle import load_bundle
from kyma_connectors.registrar.errors import EXIT_PERMANENT
from kyma_connectors.registrar.report import ServiceOutcome
from kyma_connectors.registrar.transport import HttpClient, RetryPolicy
from tests.kyma_connectors.registrar.conftest import SpecsDir, api_service, events_service, invoke
from tests.support.controlplane import control_plane  # noqa: F401 - the session fixture

pytestmark = [pytest.mark.controlplane, pytest.mark.timeout(120)]

PULUMI_MANAGER = "pulumi-kubernetes-3f1c2a9e"
"""How pulumi-kubernetes names its field manager (``pulumi-kubernetes-<hash>``); it applies without force."""


class Cluster:
    """Test-side access to the API server: server-side apply as another manager, reads, deletes."""

    def __init__(self, kubeconfig: Path) -> None:
        connection = from_kubeconfig(kubeconfig)
        self.server = connection.server
        self.session = KubeSession(connection)

    def apply(self, body: dict[str, Any], manager: str, *, force: bool = False) -> requests.Response:
        path = f"{COLLECTION}/{body['metadata']['name']}"
        return self.session.patch(self.server + path, data=json.dumps(body),
                                  headers={"Content-Type": "application/apply-patch+yaml"},
                                  params={"fieldManager": manager, "force": str(force).lower()}, timeout=10)

    def get(self, name: str) -> dict[str, Any]:
        response = self.session.get(f"{self.server}{COLLECTION}/{name}", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def delete(self, name: str) -> None:
        self.session.delete(f"{self.server}{COLLECTION}/{name}", timeout=10)


@pytest.fixture
def cluster(control_plane: Path) -> Iterator[Cluster]:  # noqa: F811 - pytest fixture injection
    found = Cluster(control_plane)
    yield found
    found.session.close()


@pytest.fixture
def app_name(cluster: Cluster) -> Iterator[str]:
    name = f"reg-{uuid.uuid4().hex[:10]}"
    yield name
    cluster.delete(name)


def _env(specs: SpecsDir, kubeconfig: Path) -> dict[str, str]:
    return {"REGISTRAR_BACKEND": "application-cr", "REGISTRAR_APPLICATION": specs.application,
            "REGISTRAR_SPECS_DIR": str(specs.path), "KUBECONFIG": str(kubeconfig),
            "REGISTRAR_WAIT_SECONDS": "5"}


def _pulumi_up(cluster: Cluster, specs: SpecsDir, *, description: str = "GitHub for Acme") -> requests.Response:
    """What the program's KymaApplication applies: description, labels, and the same build_services list."""
    manifest = Manifest(application=specs.application, solution="github", services=tuple(specs.services))
    body = {
        "apiVersion": API_VERSION, "kind": "Application",
        "metadata": {"name": specs.application, "labels": {"app.kubernetes.io/instance": specs.application},
                     "annotations": {"pulumi.com/autonamed": "false"}},
        "spec": {"description": description, "labels": {"team": "extensions"},
                 "services": build_services(manifest)},
    }
    return cluster.apply(body, PULUMI_MANAGER)


def _managed(app: dict[str, Any], manager: str) -> dict[str, Any]:
    """The fieldsV1 tree a manager owns through Apply operations."""
    for entry in app["metadata"].get("managedFields", []):
        if entry["manager"] == manager and entry["operation"] == "Apply":
            return dict(entry["fieldsV1"])
    return {}


def test_services_appear_and_rerun_writes_nothing(cluster: Cluster, specs_dir: SpecsDir, app_name: str,
                                                  control_plane: Path) -> None:  # noqa: F811
    specs_dir.application = app_name
    specs_dir.write(api_service("github-rest-api", app=app_name), events_service(app=app_name))
    assert _pulumi_up(cluster, specs_dir).status_code in (200, 201)

    first = invoke(_env(specs_dir, control_plane))

    assert first.code == 0, first.stderr
    assert first.actions() == {"github-rest-api": "unchanged", "github-events": "unchanged"}
    assert first.summary["writes"] == 1  # the annotations are new: one apply, taking co-ownership
    app = cluster.get(app_name)
    manifest = Manifest(application=app_name, solution="github", services=tuple(specs_dir.services))
    assert app["spec"]["services"] == build_services(manifest)
    annotations = app["metadata"]["annotations"]
    assert annotations[OWNED_ANNOTATION] == ",".join(sorted(s.id for s in specs_dir.services))
    assert annotations[SPECS_ANNOTATION] == "connectors/acme-specs"
    version = app["metadata"]["resourceVersion"]

    again = invoke(_env(specs_dir, control_plane))

    assert again.code == 0, again.stderr
    assert again.summary == {**again.summary, "result": "unchanged", "writes": 0, "requests": 1}
    assert set(again.actions().values()) == {"unchanged"}
    assert cluster.get(app_name)["metadata"]["resourceVersion"] == version


def test_registrar_alone_creates_then_removed_service_disappears(cluster: Cluster, specs_dir: SpecsDir,
                                                                 app_name: str, control_plane: Path) -> None:  # noqa: F811
    specs_dir.application = app_name
    specs_dir.write(api_service("github-rest-api", app=app_name), events_service(app=app_name))
    assert cluster.apply({"apiVersion": API_VERSION, "kind": "Application", "metadata": {"name": app_name},
                          "spec": {"description": "bare"}}, PULUMI_MANAGER).status_code in (200, 201)

    created = invoke(_env(specs_dir, control_plane))
    assert created.actions() == {"github-rest-api": "created", "github-events": "created"}
    assert [s["name"] for s in cluster.get(app_name)["spec"]["services"]] == ["github-rest-api", "github-events"]

    specs_dir.write(api_service("github-rest-api", app=app_name, description="Changed."))
    changed = invoke(_env(specs_dir, control_plane))

    assert changed.code == 0, changed.stderr
    assert changed.actions() == {"github-rest-api": "updated", "github-events": "deleted"}
    services = cluster.get(app_name)["spec"]["services"]
    assert [(s["name"], s["description"]) for s in services] == [("github-rest-api", "Changed.")]
    assert cluster.get(app_name)["metadata"]["annotations"][OWNED_ANNOTATION] == specs_dir.services[0].id


def test_fields_owned_by_others_stay_untouched_and_pulumi_up_does_not_conflict(
        cluster: Cluster, specs_dir: SpecsDir, app_name: str, control_plane: Path) -> None:  # noqa: F811
    specs_dir.application = app_name
    specs_dir.write(api_service("github-rest-api", app=app_name))
    assert _pulumi_up(cluster, specs_dir).status_code in (200, 201)
    before = cluster.get(app_name)

    assert invoke(_env(specs_dir, control_plane)).code == 0

    after = cluster.get(app_name)
    for key in ("description", "labels"):
        assert after["spec"][key] == before["spec"][key]
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    assert after["metadata"]["annotations"]["pulumi.com/autonamed"] == "false"
    pulumi_fields = _managed(after, PULUMI_MANAGER)
    registrar_fields = _managed(after, FIELD_MANAGER)
    assert {"f:description", "f:labels", "f:services"} <= set(pulumi_fields["f:spec"])
    assert set(registrar_fields["f:spec"]) == {"f:services"}  # shared, equal values: no conflict
    assert set(registrar_fields["f:metadata"]["f:annotations"]) == {f"f:{OWNED_ANNOTATION}", f"f:{SPECS_ANNOTATION}"}
    assert "f:labels" not in registrar_fields["f:metadata"]

    # The next `pulumi up` (no force) changes its own field and re-applies the same services: no 409.
    reapplied = _pulumi_up(cluster, specs_dir, description="GitHub for Acme, v2")
    assert reapplied.status_code == 200, reapplied.text
    assert cluster.get(app_name)["spec"]["description"] == "GitHub for Acme, v2"
    assert invoke(_env(specs_dir, control_plane)).summary["writes"] == 0


def test_services_the_registrar_never_owned_are_kept(cluster: Cluster, specs_dir: SpecsDir, app_name: str,
                                                     control_plane: Path) -> None:  # noqa: F811
    foreign = {"id": "ucl-0001", "name": "ucl-api", "displayName": "UCL API", "providerDisplayName": "SAP",
               "description": "Registered by someone else.", "entries": [{"type": "API", "targetUrl": "https://x"}]}
    assert cluster.apply({"apiVersion": API_VERSION, "kind": "Application", "metadata": {"name": app_name},
                          "spec": {"services": [foreign]}}, "compass-runtime-agent").status_code in (200, 201)
    specs_dir.application = app_name
    specs_dir.write(events_service(app=app_name))

    assert invoke(_env(specs_dir, control_plane)).code == 0
    specs_dir.write(api_service("github-rest-api", app=app_name))
    result = invoke(_env(specs_dir, control_plane))

    assert result.actions() == {"github-rest-api": "created", "github-events": "deleted"}
    names = [s["name"] for s in cluster.get(app_name)["spec"]["services"]]
    assert names == ["ucl-api", "github-rest-api"]


def test_missing_application_is_a_permanent_failure(specs_dir: SpecsDir, app_name: str,
                                                    control_plane: Path) -> None:  # noqa: F811
    specs_dir.application = app_name
    specs_dir.write(events_service(app=app_name))

    result = invoke(_env(specs_dir, control_plane))

    assert result.code == EXIT_PERMANENT
    assert f"Application '{app_name}' not found" in result.stderr


def test_concurrent_write_between_read_and_apply_is_detected_and_replanned(
        cluster: Cluster, specs_dir: SpecsDir, app_name: str, control_plane: Path) -> None:  # noqa: F811
    specs_dir.application = app_name
    specs_dir.write(api_service("github-rest-api", app=app_name))
    assert _pulumi_up(cluster, specs_dir).status_code in (200, 201)
    connection = from_kubeconfig(control_plane)
    client = HttpClient(connection.server, KubeSession(connection), timeout=10, policy=RetryPolicy(budget=5),
                        target="kube-apiserver")
    backend = ApplicationCrBackend(client, app_name)
    before = cluster.get(app_name)["metadata"]["resourceVersion"]
    real_get = backend._get
    raced: list[str] = []

    def get_then_someone_writes() -> dict[str, Any]:
        current = real_get()
        if not raced:  # another writer lands after our read, before our apply
            raced.append(cluster.apply({"apiVersion": API_VERSION, "kind": "Application",
                                        "metadata": {"name": app_name}, "spec": {"description": "raced"}},
                                       "someone-else", force=True).json()["metadata"]["resourceVersion"])
        return current

    backend._get = get_then_someone_writes  # type: ignore[method-assign]
    reported: list[ServiceOutcome] = []
    outcomes = backend.register(load_bundle(specs_dir.path, application=app_name), reported.append)
    client.close()

    assert raced[0] != before  # the race really wrote
    assert client.requests_sent == 4  # GET, apply answered 409 (stale resourceVersion), GET, apply
    assert [o.action.value for o in outcomes] == ["unchanged"]
    assert reported == outcomes  # reported once, after the apply that landed
    app = cluster.get(app_name)
    assert app["spec"]["description"] == "raced"
    assert OWNED_ANNOTATION in app["metadata"]["annotations"]
