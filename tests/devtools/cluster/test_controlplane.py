"""The local control plane really stores and validates objects: Kyma CRDs installed, kyma-system present,
CRD schema validation enforced, and deletes finish without controllers (garbage collector disabled)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from devtools.cluster.kubeapi import KubeApi, KubeApiError

pytestmark = [pytest.mark.controlplane, pytest.mark.timeout(180)]

APPS = "/apis/applicationconnector.kyma-project.io/v1alpha1/applications"


def test_version_is_stamped(kube_api: KubeApi) -> None:
    version = kube_api.get("/version") or {}
    assert version.get("major") == "1"
    assert int(version.get("minor", "0")) >= 13  # pulumi-kubernetes refuses clusters older than 1.13


def test_kyma_crds_and_namespace_installed(kube_api: KubeApi) -> None:
    crds = {c["metadata"]["name"] for c in kube_api.items("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")}
    assert {"applications.applicationconnector.kyma-project.io", "apirules.gateway.kyma-project.io",
            "subscriptions.eventing.kyma-project.io"} <= crds
    assert kube_api.get("/api/v1/namespaces/kyma-system") is not None


def test_crd_schema_is_enforced_and_delete_completes(kube_api: KubeApi) -> None:
    name = f"cp-test-{uuid.uuid4().hex[:8]}"
    bad = {"apiVersion": "applicationconnector.kyma-project.io/v1alpha1", "kind": "Application",
           "metadata": {"name": name}, "spec": {"services": "not-a-list"}}
    with pytest.raises(KubeApiError) as rejected:
        kube_api.create(APPS, bad)
    assert rejected.value.status == 422
    good = dict(bad, spec={"description": "control plane test"})
    created = kube_api.create(APPS, good)
    assert created["metadata"]["name"] == name
    # Foreground is what pulumi-kubernetes asks for by default; it must not hang on a GC finalizer here.
    assert kube_api.delete(f"{APPS}/{name}", propagation="Foreground")
    assert kube_api.get(f"{APPS}/{name}") is None


def test_kubeconfig_is_private(control_plane: Path) -> None:
    assert control_plane.stat().st_mode & 0o077 == 0  # holds the admin token
