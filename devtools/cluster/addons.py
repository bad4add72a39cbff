"""What a Kyma cluster runs that the connector relies on, installed on the local node: Kyma eventing's publisher.

In Kyma, the eventing module runs ``eventing-publisher-proxy`` as a Deployment + Service in ``kyma-system`` (the
Service maps port 80 to the proxy's 8080; eventing-manager pkg/eventing/deployment.go and service.go). Here the same
names, ports and namespace run the publisher double's image (devtools/doubles/Dockerfile), which reads Applications
with its own service account as the proxy's lister does, so a gateway pod reaches it exactly as it would in Kyma:
``http://eventing-publisher-proxy.kyma-system/publish``, resolved by the cluster's DNS.
"""

from __future__ import annotations

from typing import Any, Final

from devtools.cluster.kubeapi import KubeApi, wait_for

NAMESPACE: Final = "kyma-system"
NAME: Final = "eventing-publisher-proxy"
LABELS: Final = {"app.kubernetes.io/name": NAME}


def publisher_objects(image: str) -> list[tuple[str, dict[str, Any]]]:
    """ServiceAccount, read access to Applications, Deployment and Service of the publisher (as in Kyma)."""
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": LABELS}
    rbac = "rbac.authorization.k8s.io/v1"
    return [
        (f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                             "metadata": meta}),
        ("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": NAME, "labels": LABELS},
            "rules": [{"apiGroups": ["applicationconnector.kyma-project.io"], "resources": ["applications"],
                       "verbs": ["get", "list", "watch"]}]}),
        ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": NAME, "labels": LABELS},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]}),
        (f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": 1, "selector": {"matchLabels": LABELS}, "template": {
                "metadata": {"labels": LABELS},
                # /tmp on a memory-backed volume: the root filesystem is read-only and the API client keeps the
                # cluster CA in a temporary file.
                "spec": {"serviceAccountName": NAME, "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory"}}],
                         "containers": [{
                    "name": "publisher", "image": image, "imagePullPolicy": "IfNotPresent",
                    "args": ["--in-cluster"],
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - a pod path
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 2},
                    "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                        "runAsNonRoot": True},
                }]}}}}),
        (f"/api/v1/namespaces/{NAMESPACE}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"selector": LABELS, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
    ]


def deployment_available(deployment: dict[str, Any] | None) -> bool:
    conditions = ((deployment or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)


def install_publisher(api: KubeApi, image: str, timeout: float = 120.0) -> None:
    """Apply the publisher's objects and wait until its Deployment is Available (its pod passed its probe)."""
    for collection, body in publisher_objects(image):
        api.apply(collection, body)
    path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{NAME}"
    wait_for(lambda: deployment_available(api.get(path)), timeout, f"{NAMESPACE}/{NAME} to be Available")


def service_url(api: KubeApi, namespace: str, name: str) -> str:
    """``http://<ClusterIP>:<first port>`` of a Service: reachable from the host through kube-proxy's rules."""
    service = api.get(f"/api/v1/namespaces/{namespace}/services/{name}")
    if not service:
        raise LookupError(f"Service {namespace}/{name} not found")
    spec = service["spec"]
    return f"http://{spec['clusterIP']}:{spec['ports'][0]['port']}"


def gateway_url(api: KubeApi, namespace: str) -> str:
    """The URL of the one event gateway Service in `namespace` (label ``app.kubernetes.io/name: event-gateway``):
    where the ingress gateway would send the APIRule's host on Kyma."""
    names = [s["metadata"]["name"] for s in api.items(f"/api/v1/namespaces/{namespace}/services")
             if (s["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == "event-gateway"]
    if len(names) != 1:
        raise LookupError(f"expected one event-gateway Service in namespace {namespace}, found {names}")
    return service_url(api, namespace, names[0])
