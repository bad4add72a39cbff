"""The product's life cycle, run by the real Pulumi CLI and engine against the local cluster's real node and the GitHub
double.

preview (creates only) -> up without skipAwait (the registration Job's pod writes the Application, the gateway's pods
pass their probes, Pulumi's own await logic decides) -> a ping and a signed push travel double -> gateway pod ->
cluster DNS -> publisher pod -> up again (no changes) -> refresh (no
drift) -> config change (one more event, a new webhook secret): preview shows exactly the expected updates -> up
(hook and Secret updated) -> the hook deleted by hand on GitHub: refresh notices, up recreates it -> destroy
(pods and namespace gone through the real garbage collector and namespace controller, hook gone on GitHub).

The phases share one stack and run in order; when one fails the later ones are skipped (they would only repeat
the failure). Assertions read the API server and the double directly, not just the engine's report.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.cluster import addons
from devtools.cluster import stack as driver
from devtools.cluster.kubeapi import KubeApi, KubeApiError, wait_for
from tests.e2e.cluster import ObjectKey, path_of, snapshot
from tests.e2e.conftest import GitHubDoubleProcess
from tests.e2e.flows import Subject, emit, hook_deliveries, hooks, published_events, publisher_url, push_payload
from tests.e2e.project import Project, make_project

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600), pytest.mark.usefixtures("program_ready")]

SUBJECT = Subject(connector="github-e2e", namespace="kc-e2e", repository="octo-org/e2e")
CONNECTOR, NAMESPACE, REPOSITORY = SUBJECT.connector, SUBJECT.namespace, SUBJECT.repository
EVENTS = ["push", "issues"]
SECRET_1, SECRET_2 = "e2e-webhook-secret-one", "e2e-webhook-secret-two"
WEBHOOK_TYPE = "pulumi-python:dynamic/kyma-connectors:WebhookRegistration"
# What the program must create for one GitHub connector on the modular Kyma contract (docs/program.md).
EXPECTED_KINDS = {
    "kubernetes:core/v1:Namespace",
    "kubernetes:applicationconnector.kyma-project.io/v1alpha1:Application",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:batch/v1:Job",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:Service",
    "kubernetes:gateway.kyma-project.io/v2:APIRule",
    WEBHOOK_TYPE,
}


def gateway_reader_rbac() -> set[ObjectKey]:
    """What the program places outside the connector's namespace: the registrar's get on the one Istio Gateway its
    APIRule binds to, which lives in that Gateway's namespace (components/registration_job.py, ``_gateway_reader``;
    the e2e stack keeps the default ``kyma-system/kyma-gateway``)."""
    name = f"kyma-connectors-registrar-{CONNECTOR}"
    return {ObjectKey("rbac.authorization.k8s.io/v1", kind, "kyma-system", name) for kind in ("Role", "RoleBinding")}


@dataclass
class Lifecycle:
    """State carried from phase to phase."""

    project: Project
    api: KubeApi
    github: GitHubDoubleProcess
    before: set[ObjectKey]
    outputs: dict[str, Any] = field(default_factory=dict)
    hook_id: int | None = None
    config_changed: bool = False


def connector_outputs(project: Project) -> dict[str, Any]:
    found = project.stack.outputs()["connectors"].value
    assert CONNECTOR in found, f"stack outputs lack {CONNECTOR}: {sorted(found)}"
    result: dict[str, Any] = found[CONNECTOR]
    return result


def _created_before_deleted(steps: list[driver.Step], type_: str) -> bool:
    """For a replaced resource: the engine plans its create-replacement before its delete-replaced."""
    ops = [step.op for step in steps if step.type == type_]
    return "create-replacement" in ops and ops.index("create-replacement") < ops.index("delete-replaced")


def webhook_secret_in_cluster(api: KubeApi) -> set[str]:
    """Decoded values of every Secret of the connector's namespace (the webhook secret must be among them)."""
    values: set[str] = set()
    for secret in api.items(f"/api/v1/namespaces/{NAMESPACE}/secrets"):
        for value in (secret.get("data") or {}).values():
            values.add(base64.b64decode(value).decode(errors="replace"))
    return values


@pytest.fixture(scope="module")
def lifecycle(e2e_plane: Path, e2e_api: KubeApi, github_double: GitHubDoubleProcess, state_dir: Path,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    before = snapshot(e2e_api)
    project = make_project(tmp_path_factory.mktemp("projects"), "e2e", state_dir, e2e_plane)
    project.set_config(SUBJECT.config(github_double.url, EVENTS),
                       {"connectors[0].credentials.token": github_double.token,
                        "connectors[0].webhookSecret": SECRET_1})
    state = Lifecycle(project, e2e_api, github_double, before)
    yield state
    # Whatever happened, leave no hook or object behind for the next session.
    try:
        driver.run("destroy", project.stack, quiet=True)
    except driver.StackError as exc:
        print(f"cleanup destroy failed: {exc}")


class TestLifecycle:
    incremental = True  # tests/e2e/conftest.py skips later phases after a failure

    def test_01_preview_creates_everything(self, lifecycle: Lifecycle) -> None:
        log, _ = driver.run("preview", lifecycle.project.stack, quiet=True)
        ops = {step.op for step in log.changed()}
        assert ops == {"create"}, log.by_op()
        kinds = {step.type for step in log.changed()}
        assert kinds >= EXPECTED_KINDS, f"missing: {EXPECTED_KINDS - kinds}"
        # A preview changes nothing anywhere.
        assert hooks(lifecycle.github) == []
        assert snapshot(lifecycle.api) == lifecycle.before

    def test_02_up_creates_objects_in_the_api_server_and_the_hook(self, lifecycle: Lifecycle) -> None:
        log, _ = driver.run("up", lifecycle.project.stack, quiet=True)
        assert {step.op for step in log.changed()} == {"create"}
        api = lifecycle.api
        app = api.get(path_of("applicationconnector.kyma-project.io/v1alpha1", "applications", CONNECTOR))
        assert app is not None, "Application CR not in the API server"
        created = snapshot(api) - lifecycle.before
        kinds = {key.kind for key in created}
        assert {"Application", "APIRule", "Deployment", "Service", "Job", "Secret", "ConfigMap"} <= kinds
        outside = {key for key in created if key.namespace not in ("", NAMESPACE)}
        assert outside == gateway_reader_rbac(), f"unexpected objects outside the connector namespace: {outside}"
        # Nothing skipped Pulumi's await logic: up returned because the workloads really ran.
        deployments = api.items(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments")
        assert deployments
        for deployment in deployments:
            assert "pulumi.com/skipAwait" not in (deployment["metadata"].get("annotations") or {})
            assert addons.deployment_available(deployment), deployment.get("status")
            status = deployment["status"]
            assert status.get("readyReplicas") == deployment["spec"]["replicas"], status
        jobs = api.items(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs")
        assert jobs
        assert all((j.get("status") or {}).get("succeeded") == 1 for j in jobs), [j.get("status") for j in jobs]
        # The registrar pod wrote the services through its own ServiceAccount (Node,RBAC authorisation).
        services = (app.get("spec") or {}).get("services") or []
        assert services, f"the registration Job's pod wrote no spec.services: {app.get('spec')}"
        assert any(entry.get("entries") for entry in services), services
        assert SECRET_1 in webhook_secret_in_cluster(api)

        lifecycle.outputs = outputs = connector_outputs(lifecycle.project)
        found = hooks(lifecycle.github)
        assert len(found) == 1
        hook = found[0]
        assert hook["target"] == REPOSITORY
        assert sorted(hook["events"]) == sorted(EVENTS)
        assert hook["config"]["url"] == outputs["webhookUrl"]
        assert hook["config"]["secret"] == SECRET_1
        assert str(outputs["webhookIds"][REPOSITORY]) == str(hook["id"])
        lifecycle.hook_id = hook["id"]

    def test_02a_ping_and_push_reach_the_publisher_pod(self, lifecycle: Lifecycle) -> None:
        api, github = lifecycle.api, lifecycle.github
        SUBJECT.route(github, api, lifecycle.outputs["webhookUrl"])
        publisher = publisher_url(api)
        requests.delete(f"{publisher}/events", timeout=10).raise_for_status()
        owner, repo = REPOSITORY.split("/")
        ping = requests.post(f"{github.url}/api/v3/repos/{owner}/{repo}/hooks/{lifecycle.hook_id}/pings",
                             headers={"Authorization": f"token {github.token}"}, timeout=30)
        assert ping.status_code == 204, ping.text
        assert emit(github, REPOSITORY, "push", push_payload()) == 1
        deliveries = {d["event"]: d for d in hook_deliveries(github, lifecycle.hook_id)
                      if d["event"] in ("ping", "push") and d["status_code"] < 300}
        assert set(deliveries) == {"ping", "push"}, hook_deliveries(github, lifecycle.hook_id)
        # A 2xx means the gateway's spool holds the delivery (fsynced); publishing follows from the spool.
        guids = {delivery["guid"] for delivery in deliveries.values()}
        try:
            wait_for(lambda: guids <= {event["id"] for event in published_events(publisher)}, 30,
                     "the publisher pod to receive the ping and the push")
        except KubeApiError:
            pytest.fail(f"not at the publisher pod: {guids}; it has {published_events(publisher)}")
        by_id = {event["id"]: event for event in published_events(publisher)}
        assert by_id[deliveries["push"]["guid"]]["type"].endswith("push.v1"), by_id[deliveries["push"]["guid"]]

    def test_03_second_up_changes_nothing(self, lifecycle: Lifecycle) -> None:
        log, _ = driver.run("up", lifecycle.project.stack, expect_no_changes=True, quiet=True)
        assert log.changed() == []

    def test_04_refresh_finds_no_drift(self, lifecycle: Lifecycle) -> None:
        log, _ = driver.run("refresh", lifecycle.project.stack, expect_no_changes=True, quiet=True)
        assert log.changed() == []
        assert [h["id"] for h in hooks(lifecycle.github)] == [lifecycle.hook_id]

    def test_05_config_change_previews_exactly_the_expected_updates(self, lifecycle: Lifecycle) -> None:
        project = lifecycle.project
        project.set_config(SUBJECT.config(lifecycle.github.url, [*EVENTS, "release"]),
                           {"connectors[0].webhookSecret": SECRET_2})
        lifecycle.config_changed = True
        log, _ = driver.run("preview", project.stack, quiet=True)
        changed = log.changed()
        by_type: dict[str, set[str]] = {}
        for step in changed:
            by_type.setdefault(step.type, set()).add(step.op)
        # The hook changes in place (events + secret), keeping its id on GitHub.
        assert by_type.get(WEBHOOK_TYPE) == {"update"}, log.by_op()
        webhook = next(step for step in changed if step.type == WEBHOOK_TYPE)
        assert {"events", "secret"} <= set(webhook.diffs), webhook.diffs
        # The webhook Secret changes; pulumi-kubernetes replaces Secrets on data changes by default, which is
        # fine as long as the old one is deleted only after its replacement exists (it is auto-named for that).
        assert "kubernetes:core/v1:Secret" in by_type, log.by_op()
        assert "delete-replaced" not in by_type["kubernetes:core/v1:Secret"] or \
            _created_before_deleted(changed, "kubernetes:core/v1:Secret"), log.by_op()
        # The gateway picks the new secret up through a rolling update: never deleted first, never replaced.
        assert by_type.get("kubernetes:apps/v1:Deployment", {"update"}) == {"update"}, log.by_op()
        # Nothing that does not depend on the events or the secret changes.
        untouched = {"kubernetes:core/v1:Namespace", "kubernetes:core/v1:ServiceAccount",
                     "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
                     "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kubernetes:core/v1:Service",
                     "kubernetes:networking.k8s.io/v1:NetworkPolicy", "kubernetes:policy/v1:PodDisruptionBudget",
                     "kubernetes:gateway.kyma-project.io/v2:APIRule"}
        assert not (set(by_type) & untouched), log.by_op()

    def test_06_up_applies_the_change(self, lifecycle: Lifecycle) -> None:
        if not lifecycle.config_changed:  # phase 05 was deselected or failed before setting it
            lifecycle.project.set_config(SUBJECT.config(lifecycle.github.url, [*EVENTS, "release"]),
                                         {"connectors[0].webhookSecret": SECRET_2})
        driver.run("up", lifecycle.project.stack, quiet=True)
        found = hooks(lifecycle.github)
        assert [h["id"] for h in found] == [lifecycle.hook_id]  # edited in place, not recreated
        assert sorted(found[0]["events"]) == sorted([*EVENTS, "release"])
        assert found[0]["config"]["secret"] == SECRET_2
        secrets = webhook_secret_in_cluster(lifecycle.api)
        assert SECRET_2 in secrets
        assert SECRET_1 not in secrets
        driver.run("up", lifecycle.project.stack, expect_no_changes=True, quiet=True)

    def test_07_hook_deleted_by_hand_is_recreated(self, lifecycle: Lifecycle) -> None:
        github = lifecycle.github
        requests.delete(f"{github.url}/_admin/hooks/{lifecycle.hook_id}", timeout=10).raise_for_status()
        assert hooks(github) == []
        driver.run("refresh", lifecycle.project.stack, quiet=True)
        log, _ = driver.run("up", lifecycle.project.stack, quiet=True)
        assert WEBHOOK_TYPE in {step.type for step in log.changed()}, log.by_op()
        found = hooks(github)
        assert len(found) == 1
        assert found[0]["id"] != lifecycle.hook_id
        assert sorted(found[0]["events"]) == sorted([*EVENTS, "release"])
        assert found[0]["config"]["secret"] == SECRET_2
        outputs = connector_outputs(lifecycle.project)
        assert str(outputs["webhookIds"][REPOSITORY]) == str(found[0]["id"])
        driver.run("up", lifecycle.project.stack, expect_no_changes=True, quiet=True)

    def test_08_destroy_leaves_nothing(self, lifecycle: Lifecycle) -> None:
        log, _ = driver.run("destroy", lifecycle.project.stack, quiet=True)
        assert {step.op for step in log.changed()} == {"delete"}
        assert hooks(lifecycle.github) == []
        # The namespace controller and the garbage collector run: pods, ReplicaSets and the namespace are gone.
        wait_for(lambda: lifecycle.api.get(f"/api/v1/namespaces/{NAMESPACE}") is None, 120,
                 f"namespace {NAMESPACE} to be gone")
        assert lifecycle.api.items(f"/api/v1/namespaces/{NAMESPACE}/pods") == []
        left = snapshot(lifecycle.api) - lifecycle.before
        assert left == set(), sorted(map(str, left))
