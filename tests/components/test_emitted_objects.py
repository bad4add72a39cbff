"""What the components register (gateway, registration Job, hook reconciler, Subscription), sent to kube-apiserver.

The CRD check in the unit tests covers the APIRule; this covers everything else the way a cluster would: built-in
types' validation (Job pod failure policy, PDB, HPA autoscaling/v2, NetworkPolicy, PVC, RBAC) and the CRDs' CEL rules,
through server-side dry-run create (``dryRun=All``), so nothing but a scratch namespace is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.cluster.kubeapi import KubeApi, KubeApiError
from tests.support.component_samples import VARIANTS, emitted, programs
from tests.support.pulumi_mocks import Registration

pytestmark = [pytest.mark.controlplane, pytest.mark.timeout(120)]

PLURALS = {
    "ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps", "Service": "services",
    "PersistentVolumeClaim": "persistentvolumeclaims", "Deployment": "deployments", "Job": "jobs",
    "PodDisruptionBudget": "poddisruptionbudgets", "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "NetworkPolicy": "networkpolicies", "APIRule": "apirules", "ClusterRole": "clusterroles",
    "ClusterRoleBinding": "clusterrolebindings", "Role": "roles", "RoleBinding": "rolebindings",
    "Secret": "secrets", "Subscription": "subscriptions",
}
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}


@pytest.fixture(scope="module")
def namespace(kube_api: KubeApi) -> Iterator[str]:
    name = f"kc-components-{uuid.uuid4().hex[:8]}"
    kube_api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    kube_api.delete(f"/api/v1/namespaces/{name}")


def _collection(obj: dict[str, Any]) -> str:
    api_version, kind = obj["apiVersion"], obj["kind"]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if kind in CLUSTER_SCOPED:
        return f"{base}/{PLURALS[kind]}"
    return f"{base}/namespaces/{obj['metadata']['namespace']}/{PLURALS[kind]}"


def _integral(value: Any) -> Any:
    """Numbers cross Pulumi's RPC as protobuf doubles; the provider sends integral ones to the API server as ints."""
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _object(registration: Registration) -> dict[str, Any]:
    obj: dict[str, Any] = _integral(registration.k8s_object())
    group_version, kind = registration.type.removeprefix("kubernetes:").rsplit(":", 1)
    obj["apiVersion"] = group_version.removeprefix("core/")
    obj["kind"] = kind
    return obj


@pytest.mark.parametrize("program", VARIANTS)
def test_the_api_server_accepts_every_object(kube_api: KubeApi, namespace: str, program: str) -> None:
    found = emitted(programs(namespace)[program])
    assert found
    rejected = {}
    for registration in found:
        obj = _object(registration)
        try:
            created = kube_api.create(f"{_collection(obj)}?dryRun=All", obj)
        except KubeApiError as exc:
            rejected[registration.name] = str(exc)
            continue
        assert created["metadata"]["name"] == obj["metadata"]["name"]
    assert rejected == {}


def test_the_api_server_would_reject_a_broken_object(kube_api: KubeApi, namespace: str) -> None:
    """Guard for the test above: the dry run really validates (an APIRule rule with two access strategies)."""
    apirule = _object(next(r for r in emitted(programs(namespace)["gateway"]) if r.type.endswith(":APIRule")))
    apirule["spec"]["rules"][0]["jwt"] = {"authentications": [{"issuer": "https://i", "jwksUri": "https://j"}]}
    with pytest.raises(KubeApiError):
        kube_api.create(f"{_collection(apirule)}?dryRun=All", apirule)
