"""HookReconciler: the in-cluster workload that keeps the webhook's events in line with Kyma Subscriptions.

Created for a connector with ``events: subscribed`` (kyma_connectors/reconciler is the service). Least privilege:

* cluster-wide, ``list`` and ``watch`` on ``subscriptions.eventing.kyma-project.io`` -- nothing else, not even
  ``get``;
* in its namespace, ``get``/``patch`` on exactly one ConfigMap, its status (the program creates it, so the
  reconciler needs no ``create``; ``data`` is the reconciler's, so Pulumi ignores changes to it).

The hook credential (GitHub token or App key; for Qualtrics also the webhook secret, the subscriptions' shared key)
reaches the pod as files of a projected volume, never as environment variables. One replica with ``Recreate``: two
reconcilers would only race each other. The pod meets the restricted Pod Security Standard
(components/_pod_security.py), runs without an Istio sidecar (it calls the solution's API and the API server only),
and serves ``/healthz``, ``/readyz`` and ``/metrics`` on port 8080.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from components import _naming
from components import _pod_security as sec
from components._options import child_options
from components._pull_secrets import pull_secrets
from kyma_connectors.core import contract as c

PORT: Final[int] = c.RECONCILER_HTTP_PORT
RECONCILER_COMMAND: Final[list[str]] = ["python", "-m", "kyma_connectors.reconciler"]


@dataclass(frozen=True, kw_only=True)
class SecretKey:
    name: pulumi.Input[str]
    key: str


@dataclass(frozen=True, kw_only=True)
class HookReconcilerArgs:
    """Inputs of :class:`HookReconciler`."""

    application: str
    solution: str
    source: str
    """What the publisher uses as this connector's source (what Subscriptions name)."""
    namespace: str
    image: str
    api_url: str
    targets: Sequence[str]
    webhook_url: pulumi.Input[str]
    image_pull_secrets: tuple[str, ...] = ()
    """Names of ``kubernetes.io/dockerconfigjson`` Secrets in the namespace, for a private registry."""
    token: pulumi.Input[str] | None = None
    app_id: str | None = None
    installation_id: str | None = None
    private_key: pulumi.Input[str] | None = None
    webhook_secret: SecretKey | None = None
    """Qualtrics only: the Secret key holding the webhook secret (each subscription's shared key)."""
    backend: str = "nats"


def cluster_role_name(application: str) -> str:
    """Cluster-scoped names carry the Application's (unique in the cluster), so stacks never collide."""
    return f"kyma-connectors:reconciler:{application}"


def reconciler_env(args: HookReconcilerArgs, status_name: str) -> list[k8s.core.v1.EnvVarArgs]:
    plain: dict[str, pulumi.Input[str]] = {
        c.RECONCILER_APPLICATION: args.application,
        c.RECONCILER_SOLUTION: args.solution,
        c.RECONCILER_SOURCE: args.source,
        c.RECONCILER_API_URL: args.api_url,
        c.RECONCILER_TARGETS: ",".join(args.targets),
        c.RECONCILER_WEBHOOK_URL: args.webhook_url,
        c.RECONCILER_BACKEND: args.backend,
        c.RECONCILER_STATUS_CONFIGMAP: status_name,
        c.RECONCILER_CREDENTIALS_DIR: c.RECONCILER_CREDENTIALS_MOUNT,
        c.RECONCILER_PORT: str(PORT),
    }
    namespace = k8s.core.v1.EnvVarArgs(name=c.RECONCILER_NAMESPACE, value_from=k8s.core.v1.EnvVarSourceArgs(
        field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.namespace")))
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in plain.items()] + [namespace]


class HookReconciler(pulumi.ComponentResource):
    """ServiceAccount, RBAC, status ConfigMap, credential Secret and the Deployment."""

    status_config_map: pulumi.Output[str]
    """Name of the ConfigMap the reconciler writes its decisions to."""

    def __init__(self, name: str, args: HookReconcilerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(_naming.token("HookReconciler"), name, None, opts)
        child = child_options(self, opts)
        labels = _naming.labels(args.application, "hook-reconciler")
        meta = k8s.meta.v1.ObjectMetaArgs
        status_name = f"{name}-status"

        account = k8s.core.v1.ServiceAccount(f"{name}-account", metadata=meta(
            name=name, namespace=args.namespace, labels=labels), opts=child)
        status = k8s.core.v1.ConfigMap(
            f"{name}-status", metadata=meta(name=status_name, namespace=args.namespace, labels=labels),
            data={"events": "(pending: the reconciler has not run yet)"},
            opts=child_options(self, opts, ignore_changes=["data"]),
        )
        grants = self._rbac(name, args, account, status_name, labels, child)
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials", metadata=meta(name=f"{name}-credentials", namespace=args.namespace, labels=labels),
            type="Opaque", string_data=_credential_data(args), opts=child,
        )
        container = k8s.core.v1.ContainerArgs(
            name="reconciler", image=args.image, command=RECONCILER_COMMAND,
            env=reconciler_env(args, status_name),
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT)],
            readiness_probe=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path="/readyz", port="http"), period_seconds=5),
            liveness_probe=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path="/healthz", port="http"), period_seconds=20,
                failure_threshold=3),
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "10m", "memory": "48Mi"}, limits={"cpu": "200m", "memory": "128Mi"}),
            security_context=sec.container_security_context(),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="credentials", mount_path=c.RECONCILER_CREDENTIALS_MOUNT,
                                                       read_only=True), sec.tmp_mount()],
        )
        selector = {"app.kubernetes.io/name": "hook-reconciler", "app.kubernetes.io/instance": args.application}
        k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=meta(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1, strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=meta(labels={**labels, "sidecar.istio.io/inject": "false"}, annotations={
                        "prometheus.io/scrape": "true", "prometheus.io/port": str(PORT),
                        "prometheus.io/path": "/metrics"}),
                    spec=k8s.core.v1.PodSpecArgs(
                        image_pull_secrets=pull_secrets(args.image_pull_secrets),
                        service_account_name=account.metadata.apply(lambda m: m["name"]),
                        security_context=sec.pod_security_context(), containers=[container],
                        termination_grace_period_seconds=10,
                        volumes=[_credentials_volume(args, credentials), sec.tmp_volume()],
                    ),
                ),
            ),
            # The pod lists Subscriptions and patches its status at once: its grants and ConfigMap come first.
            opts=child_options(self, opts, *grants, status),
        )
        self.status_config_map = status.metadata.apply(lambda m: str(m["name"]))
        self.register_outputs({"status_config_map": self.status_config_map})

    @staticmethod
    def _rbac(name: str, args: HookReconcilerArgs, account: k8s.core.v1.ServiceAccount, status_name: str,
              labels: dict[str, str], child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        meta = k8s.meta.v1.ObjectMetaArgs
        subject = k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account.metadata.apply(lambda m: m["name"]),
                                          namespace=args.namespace)
        role_name = cluster_role_name(args.application)
        cluster_role = k8s.rbac.v1.ClusterRole(f"{name}-subscriptions", metadata=meta(name=role_name, labels=labels),
                                               rules=[k8s.rbac.v1.PolicyRuleArgs(
                                                   api_groups=["eventing.kyma-project.io"],
                                                   resources=["subscriptions"], verbs=["list", "watch"])],
                                               opts=child)
        cluster_binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-subscriptions", metadata=meta(name=role_name, labels=labels), subjects=[subject],
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                             name=cluster_role.metadata.apply(lambda m: m["name"])), opts=child)
        role = k8s.rbac.v1.Role(f"{name}-status", metadata=meta(name=f"{name}-status", namespace=args.namespace,
                                                                labels=labels),
                                rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["configmaps"],
                                                                  resource_names=[status_name],
                                                                  verbs=["get", "patch"])], opts=child)
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-status", metadata=meta(name=f"{name}-status", namespace=args.namespace, labels=labels),
            subjects=[subject], role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.apply(lambda m: m["name"])),
            opts=child)
        return [cluster_binding, binding]


def _credential_data(args: HookReconcilerArgs) -> dict[str, pulumi.Input[str]]:
    if args.token is not None:
        return {c.RECONCILER_TOKEN_KEY: pulumi.Output.secret(args.token)}
    if args.app_id and args.installation_id and args.private_key is not None:
        return {c.RECONCILER_APP_ID_KEY: args.app_id, c.RECONCILER_INSTALLATION_ID_KEY: args.installation_id,
                c.RECONCILER_PRIVATE_KEY_KEY: pulumi.Output.secret(args.private_key)}
    raise ValueError(f"HookReconciler {args.application}: a token or GitHub App credentials are required")


def _credentials_volume(args: HookReconcilerArgs, credentials: k8s.core.v1.Secret) -> k8s.core.v1.VolumeArgs:
    sources = [k8s.core.v1.VolumeProjectionArgs(secret=k8s.core.v1.SecretProjectionArgs(
        name=credentials.metadata.apply(lambda m: m["name"])))]
    if args.webhook_secret is not None:
        sources.append(k8s.core.v1.VolumeProjectionArgs(secret=k8s.core.v1.SecretProjectionArgs(
            name=args.webhook_secret.name,
            items=[k8s.core.v1.KeyToPathArgs(key=args.webhook_secret.key, path=c.RECONCILER_WEBHOOK_SECRET_KEY)])))
    return k8s.core.v1.VolumeArgs(name="credentials", projected=k8s.core.v1.ProjectedVolumeSourceArgs(
        sources=sources, default_mode=0o440))
