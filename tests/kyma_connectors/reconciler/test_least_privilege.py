"""Least privilege, enforced: the reconciler runs as its ServiceAccount, with only the RBAC the program emits.

A control plane of its own with ``--authorization-mode=RBAC`` (the shared test plane allows everything). The
ServiceAccount, ClusterRole, Role, bindings and status ConfigMap are the objects ``HookReconciler`` registers; the
token is a real ServiceAccount token from the TokenRequest API. The reconciler must do its whole job with it, and the
same token must be refused everything else.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from devtools.cluster import controlplane as cp
from devtools.cluster.kubeapi import KubeApi
from devtools.doubles.github import GitHubDouble
from kyma_connectors.core.catalog import load_catalog
from tests.kyma_connectors.reconciler.conftest import REPOSITORY
from tests.kyma_connectors.reconciler.harness import SUBSCRIPTIONS, WEBHOOK_SECRET, Rig, wait_until
from tests.support.component_samples import emitted, programs
from tests.support.controlplane import PLANES, ensure_binaries_on_path, skip_or_fail

pytestmark = [pytest.mark.controlplane, pytest.mark.slow]
KINDS = {"ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps", "Role": "roles", "RoleBinding": "rolebindings",
         "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}


@pytest.fixture(scope="module")
def rbac_plane() -> Iterator[Path]:
    missing = ensure_binaries_on_path()
    if missing:
        skip_or_fail(f"local control plane unavailable: {', '.join(missing)} not found (run make toolchain)")
    settings = PLANES["rbac"].settings(authorization="RBAC")
    started_here = not cp.status(settings).healthy
    try:
        kubeconfig = cp.up(settings, log=lambda msg: None)
    except cp.ControlPlaneError as exc:
        skip_or_fail(f"RBAC control plane failed to start: {exc}")
        raise
    yield kubeconfig
    if started_here and os.environ.get("KC_CP_KEEP") != "1":
        cp.down(settings, log=lambda msg: None)


def _apply_reconciler_rbac(admin: KubeApi, namespace: str) -> str:
    """Create what HookReconciler registers, minus the Deployment and the credential Secret; returns the SA name."""
    account = ""
    for registration in emitted(programs(namespace)["reconciler"]):
        kind = registration.type.rsplit(":", 1)[1]
        if kind not in KINDS:
            continue
        obj: dict[str, Any] = copy.deepcopy(registration.k8s_object())
        group_version = registration.type.removeprefix("kubernetes:").rsplit(":", 1)[0].removeprefix("core/")
        obj["apiVersion"], obj["kind"] = group_version, kind
        base = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
        scoped = "" if kind.startswith("Cluster") else f"/namespaces/{namespace}"
        admin.apply(f"{base}{scoped}/{KINDS[kind]}", obj)
        if kind == "ServiceAccount":
            account = obj["metadata"]["name"]
    return account


def _token_kubeconfig(admin_kubeconfig: Path, admin: KubeApi, namespace: str, account: str, tmp: Path) -> Path:
    answer = admin.create(f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})
    doc = yaml.safe_load(admin_kubeconfig.read_text())
    doc["users"][0]["user"] = {"token": answer["status"]["token"]}
    path = tmp / "reconciler-kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_the_reconciler_works_with_its_own_rbac_and_nothing_more(rbac_plane: Path, tmp_path: Path) -> None:
    catalog = load_catalog("github")
    with KubeApi.from_kubeconfig(rbac_plane) as admin, GitHubDouble(tokens=("ghp_reconciler_test",)) as github:
        rig = Rig(kube=admin, kubeconfig=rbac_plane, tmp=tmp_path, solution="github", api_url=github.url,
                  targets=(REPOSITORY,))
        try:
            account = _apply_reconciler_rbac(admin, rig.namespace)
            rig.kubeconfig = _token_kubeconfig(rbac_plane, admin, rig.namespace, account, tmp_path)
            hook = github.world.new_hook("repo", REPOSITORY, ["push"], False, {
                "url": rig.webhook_url, "content_type": "json", "secret": WEBHOOK_SECRET})
            push = catalog.type_for("push")
            assert push is not None
            rig.subscribe("on-push", push)
            rig.start(RECONCILER_STATUS_CONFIGMAP=f"{account}-status")
            wait_until(lambda: hook.active and hook.events == ["push"], 15, "push on the hook, as the ServiceAccount")
            wait_until(lambda: "push" in _data(admin, rig.namespace, f"{account}-status").get("events", ""), 5,
                       "the status ConfigMap patched, as the ServiceAccount")
            assert "HTTP 403" not in rig.log()

            with KubeApi.from_kubeconfig(rig.kubeconfig) as mine:
                assert _status(mine, "GET", f"{SUBSCRIPTIONS}/subscriptions") == 200
                assert _status(mine, "GET", f"/api/v1/namespaces/{rig.namespace}/secrets") == 403
                assert _status(mine, "GET", f"/api/v1/namespaces/{rig.namespace}/configmaps/status") == 403
                assert _status(mine, "GET", f"{SUBSCRIPTIONS}/namespaces/{rig.namespace}/subscriptions/on-push") == 403
                assert _status(mine, "DELETE", f"{SUBSCRIPTIONS}/namespaces/{rig.namespace}/subscriptions/on-push") \
                    == 403
                assert _status(mine, "GET", "/apis/applicationconnector.kyma-project.io/v1alpha1/applications") == 403
            assert rig.stop() == 0
        finally:
            rig.close()


def _data(admin: KubeApi, namespace: str, name: str) -> dict[str, str]:
    found = admin.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}") or {}
    return dict(found.get("data") or {})


def _status(api: KubeApi, method: str, path: str) -> int:
    answer: requests.Response = api._request(method, path)
    return answer.status_code
