"""The event gateway's pod: its environment (the gateway's ``GATEWAY_*`` contract), volumes and Deployment spec.

Split from :mod:`components.event_gateway` so that module keeps the component's shape (args, children, outputs) and
this one the details of the pod: which variables the gateway reads (kyma_connectors/gateway/settings.py), where the
spool and a
custom catalog are mounted, and how the Istio sidecar is told to outlive the gateway's drain.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Final

import pulumi
import pulumi_kubernetes as k8s

from components import _pod_security as sec
from components._event_gateway_network import FROM_INGRESS_LABEL
from components._pull_secrets import pull_secrets
from kyma_connectors.core import contract

if TYPE_CHECKING:
    from components.event_gateway import EventGatewayArgs, SpoolVolume

SPOOL_DIR: Final[str] = contract.GATEWAY_SPOOL_MOUNT
CATALOG_DIR: Final[str] = contract.GATEWAY_CATALOG_MOUNT
CATALOG_KEY: Final[str] = "asyncapi.yaml"
ISTIO_PROXY_CONFIG: Final[str] = "proxy.istio.io/config"
"""Per-pod Istio proxy settings (ProxyConfig as JSON)."""
CATALOG_HASH_ANNOTATION: Final[str] = "connectors.kyma-project.io/catalog-sha256"
"""Pod template annotation carrying the custom catalog's digest: a changed catalog rolls the pods, which read the
document once at start."""

_QUANTITY: Final[re.Pattern[str]] = re.compile(r"^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_UNITS: Final[dict[str, int]] = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                                 "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
PRE_STOP_SECONDS: Final[int] = 5
"""How long a terminating pod keeps serving before its SIGTERM. The kubelet's SIGTERM and the pod's removal from the
Service's endpoints happen at once, and kube-proxy (or the ingress gateway's Envoy, through istiod) still sends new
connections to the pod for a moment; a pod that stopped listening refuses them, and GitHub never retries a refused
delivery. Seen on the local node: 21 of 1,201 deliveries refused across two rolling updates and a pod deletion
without it, none with it (tests/e2e/test_rotation.py)."""
SPOOL_HEADROOM: Final[float] = 0.9
"""The gateway stops accepting (503) at 90% of the volume: past an emptyDir's sizeLimit the kubelet evicts the pod,
and a filled PVC fails writes; both are worse than a sender's retry."""


def quantity_bytes(quantity: str) -> int | None:
    """Bytes of a Kubernetes storage quantity in the common integer forms (``1Gi``, ``500M``); None otherwise."""
    match = _QUANTITY.match(quantity)
    return int(match.group(1)) * _UNITS[match.group(2) or ""] if match else None


def gateway_env(args: EventGatewayArgs) -> list[k8s.core.v1.EnvVarArgs]:
    """The gateway's environment: plain settings as values, every secret through ``secretKeyRef``."""
    shutdown_grace = max(1, args.termination_grace_seconds - pre_stop_seconds(args) - 5)
    plain = {
        contract.GATEWAY_SOLUTION: args.solution,
        contract.GATEWAY_APPLICATION: args.application,
        contract.GATEWAY_PUBLISHER_URL: args.publisher_url,
        contract.GATEWAY_SPOOL_DIR: SPOOL_DIR,
        contract.GATEWAY_PORT: str(args.port),
        contract.GATEWAY_LEGACY_EVENTS: "true" if args.legacy_events else "false",
        contract.GATEWAY_PUBLISH_MAX_BYTES: str(args.publish_max_bytes),
        contract.GATEWAY_OVERSIZE: args.oversize,
        contract.GATEWAY_SPOOL_MAX_BYTES: str(int((quantity_bytes(args.spool.size) or 0) * SPOOL_HEADROOM)),
        # Finish draining before the kubelet's SIGKILL: the grace period also covers the preStop sleep and the sidecar.
        contract.GATEWAY_SHUTDOWN_GRACE_SECONDS: str(shutdown_grace),
        **({contract.GATEWAY_CATALOG: f"{CATALOG_DIR}/{CATALOG_KEY}"} if _has_catalog(args) else {}),
        **args.env,
    }
    secrets = {contract.GATEWAY_WEBHOOK_SECRETS: args.webhook_secret, **args.secret_env}
    return [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in plain.items()] + [
        k8s.core.v1.EnvVarArgs(name=key, value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=ref.name, key=ref.key)))
        for key, ref in secrets.items()
    ]


def pre_stop_seconds(args: EventGatewayArgs) -> int:
    """The preStop sleep (:data:`PRE_STOP_SECONDS`), at most a third of the grace period; 0 on Kyma 1.x, whose
    Kubernetes predates the ``sleep`` lifecycle action (beta and on by default since 1.30, GA in 1.34)."""
    return 0 if args.legacy_events else min(PRE_STOP_SECONDS, args.termination_grace_seconds // 3)


def _lifecycle(args: EventGatewayArgs) -> k8s.core.v1.LifecycleArgs | None:
    seconds = pre_stop_seconds(args)
    if not seconds:
        return None
    return k8s.core.v1.LifecycleArgs(pre_stop=k8s.core.v1.LifecycleHandlerArgs(
        sleep=k8s.core.v1.SleepActionArgs(seconds=seconds)))


def _has_catalog(args: EventGatewayArgs) -> bool:
    return args.catalog_document is not None or args.catalog_config_map is not None


def _catalog_volume(catalog_map: pulumi.Input[str] | None) -> list[k8s.core.v1.VolumeArgs]:
    if catalog_map is None:
        return []
    return [k8s.core.v1.VolumeArgs(name="catalog", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=catalog_map))]


def deployment_spec(args: EventGatewayArgs, labels: dict[str, str], selector: dict[str, str],
                     account: k8s.core.v1.ServiceAccount, spool_claim: k8s.core.v1.PersistentVolumeClaim | None,
                     catalog_map: pulumi.Input[str] | None) -> k8s.apps.v1.DeploymentSpecArgs:
    probe = k8s.core.v1.HTTPGetActionArgs
    container = k8s.core.v1.ContainerArgs(
        name="event-gateway",
        image=args.image,
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=args.port)],
        env=gateway_env(args),
        readiness_probe=k8s.core.v1.ProbeArgs(http_get=probe(path="/readyz", port="http"), period_seconds=5),
        liveness_probe=k8s.core.v1.ProbeArgs(http_get=probe(path="/healthz", port="http"), period_seconds=10,
                                             failure_threshold=3),
        lifecycle=_lifecycle(args),
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": args.resources.cpu_request, "memory": args.resources.memory_request},
            limits={"cpu": args.resources.cpu_limit, "memory": args.resources.memory_limit},
        ),
        security_context=sec.container_security_context(),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="spool", mount_path=SPOOL_DIR),
            sec.tmp_mount(),
            *([k8s.core.v1.VolumeMountArgs(name="catalog", mount_path=CATALOG_DIR, read_only=True)]
              if catalog_map is not None else []),
        ],
    )
    return k8s.apps.v1.DeploymentSpecArgs(
        replicas=None if args.hpa else args.replicas,  # with an HPA, `pulumi up` must not reset the scale
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        # A ReadWriteOnce spool cannot attach to the new pod while the old one holds it.
        strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate") if args.spool.persistent else
        k8s.apps.v1.DeploymentStrategyArgs(
            type="RollingUpdate",
            rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
        ),
        template=k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                # APIRule v2 serves mesh workloads only; the istio module's policies let the ingress gateway send only
                # to pods with FROM_INGRESS_LABEL (components/_event_gateway_network.py).
                labels={**labels, "sidecar.istio.io/inject": "true", **FROM_INGRESS_LABEL},
                annotations={"prometheus.io/scrape": "true", "prometheus.io/port": str(args.port),
                             "prometheus.io/path": "/metrics", **_catalog_annotation(args),
                             ISTIO_PROXY_CONFIG: _proxy_config(args)},
            ),
            spec=k8s.core.v1.PodSpecArgs(
                image_pull_secrets=pull_secrets(args.image_pull_secrets),
                service_account_name=account.metadata.apply(lambda m: m["name"]),
                automount_service_account_token=False,  # the gateway never calls the Kubernetes API
                termination_grace_period_seconds=args.termination_grace_seconds,
                security_context=sec.pod_security_context(),
                containers=[container],
                volumes=[_spool_volume(args.spool, spool_claim), sec.tmp_volume(), *_catalog_volume(catalog_map)],
            ),
        ),
    )


def _proxy_config(args: EventGatewayArgs) -> str:
    """The sidecar starts before the gateway and outlives its drain: publishing goes through the sidecar, and a
    delivery not yet forwarded when an emptyDir spool's pod goes away is lost with the pod."""
    drain = max(1, args.termination_grace_seconds - 5)
    return json.dumps({"holdApplicationUntilProxyStarts": True, "terminationDrainDuration": f"{drain}s"})


def _catalog_annotation(args: EventGatewayArgs) -> dict[str, str]:
    if args.catalog_document is None:
        return {}
    return {CATALOG_HASH_ANNOTATION: hashlib.sha256(args.catalog_document.encode()).hexdigest()}


def _spool_volume(spool: SpoolVolume, claim: k8s.core.v1.PersistentVolumeClaim | None) -> k8s.core.v1.VolumeArgs:
    if claim is not None:
        return k8s.core.v1.VolumeArgs(name="spool", persistent_volume_claim=(
            k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=claim.metadata.apply(lambda m: m["name"]))))
    # Disk-backed (not medium: Memory): the spool must outlive a container restart and not count against RAM.
    return k8s.core.v1.VolumeArgs(name="spool", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=spool.size))


