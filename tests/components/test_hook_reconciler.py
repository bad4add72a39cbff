"""A connector with ``events: subscribed``: the reconciler workload and the hook it manages, under Pulumi mocks."""

from __future__ import annotations

from typing import Any

import pytest

from kyma_connectors.core import contract as c
from kyma_connectors.policy.rules import violations
from tests.components.test_connector import APPLICATION, HOOK, example_settings, run_connectors
from tests.support.pulumi_mocks import MockStack, Registration

pytestmark = pytest.mark.timeout(60)
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"


def subscribed_stack(mock_stack: Any, solution: str) -> MockStack:
    settings = example_settings()
    raw_connectors: list[dict[str, Any]] = []
    for connector in settings.connectors:
        if connector.solution == solution:
            raw_connectors.append({"name": connector.name, "solution": solution, "events": "subscribed",
                                   "credentials": {"token": "t0ken-for-tests"},
                                   **({"github": {"repositories": ["acme/widgets"]}} if solution == "github"
                                      else {"qualtrics": {"datacenter": "fra1"}})})
    stack: MockStack = mock_stack()
    run_connectors(stack, example_settings(connectors=raw_connectors))
    return stack


def reconciler_objects(stack: MockStack) -> list[Registration]:
    return [r for r in stack.kubernetes() if "reconciler" in r.name]


def test_subscribed_mode_hands_events_and_active_to_the_reconciler(mock_stack: Any) -> None:
    stack = subscribed_stack(mock_stack, "github")
    hook = stack.one(HOOK)
    assert hook.inputs["managed_events"] is True
    assert hook.inputs["active"] is False  # created inactive; the reconciler activates it when someone listens
    deployment = stack.one(DEPLOYMENT, "github-acme-reconciler-deployment")
    assert deployment.depends_on(hook)  # created after the hook, deleted before it


def test_rbac_is_list_and_watch_on_subscriptions_and_patch_of_one_config_map(mock_stack: Any) -> None:
    stack = subscribed_stack(mock_stack, "github")
    (cluster_role,) = [r for r in stack.of_type(CLUSTER_ROLE) if "reconciler" in (r.k8s_name or "")]
    assert cluster_role.inputs["rules"] == [{"apiGroups": ["eventing.kyma-project.io"], "resources": ["subscriptions"],
                                             "verbs": ["list", "watch"]}]
    (role,) = [r for r in stack.of_type(ROLE) if "reconciler" in (r.k8s_name or "")]
    status = stack.one(CONFIG_MAP, "github-acme-reconciler-status")
    assert role.inputs["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                                     "resourceNames": [status.k8s_name], "verbs": ["get", "patch"]}]
    assert status.ignore_changes == ("data",)


def test_the_pod_is_restricted_probed_and_gets_credentials_as_files(mock_stack: Any) -> None:
    stack = subscribed_stack(mock_stack, "github")
    deployment = stack.one(DEPLOYMENT, "github-acme-reconciler-deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "kyma_connectors.reconciler"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e.get("value") for e in container["env"]}
    application = stack.one(APPLICATION)
    # What the publisher proxy uses as the source: the Application's application-type label, else its name.
    assert env["RECONCILER_SOURCE"] == application.metadata["labels"].get("application-type", application.k8s_name)
    assert env["RECONCILER_TARGETS"] == "acme/widgets"
    assert env["RECONCILER_CREDENTIALS_DIR"] == c.RECONCILER_CREDENTIALS_MOUNT
    assert not any("t0ken" in str(v) for v in env.values())
    (projected,) = [v["projected"] for v in pod["volumes"] if "projected" in v]
    assert len(projected["sources"]) == 1  # GitHub: the token only, no webhook secret
    secret = stack.one(SECRET, "github-acme-reconciler-credentials")
    assert secret.is_secret("stringData")
    for registration in reconciler_objects(stack):
        assert violations(registration.type, registration.inputs) == {}, registration.name


def test_qualtrics_reconciler_also_gets_the_webhook_secret(mock_stack: Any) -> None:
    stack = subscribed_stack(mock_stack, "qualtrics")
    deployment = stack.one(DEPLOYMENT, "qualtrics-surveys-reconciler-deployment")
    pod = deployment.inputs["spec"]["template"]["spec"]
    (projected,) = [v["projected"] for v in pod["volumes"] if "projected" in v]
    items = [i for s in projected["sources"] for i in s["secret"].get("items", [])]
    assert [i["path"] for i in items] == [c.RECONCILER_WEBHOOK_SECRET_KEY]


def test_without_subscribed_mode_there_is_no_reconciler(mock_stack: Any) -> None:
    stack: MockStack = mock_stack()
    run_connectors(stack, example_settings())
    assert reconciler_objects(stack) == []
    assert all(hook.inputs["managed_events"] is False for hook in stack.of_type(HOOK))
