"""EventGateway: the Kubernetes side of the connector's data plane (the service itself is ``kyma_connectors/gateway/``).

Webhooks arrive through the Istio ingress gateway and an APIRule **v2** that exposes exactly one route,
``POST /webhook`` with ``noAuth``: the sender authenticates by signing the body, and that signature is checked inside
the gateway against the Secret mounted here (GitHub and Qualtrics cannot present a JWT). Everything else about the pod
is locked down: restricted pod security, secrets only through ``secretKeyRef``, a NetworkPolicy that admits the
ingress gateway and lets the pod reach only the eventing publisher proxy, DNS and istiod.

The spool volume is where the gateway writes each accepted delivery before it answers 2xx. By default it is an
``emptyDir`` with a size limit: it survives container restarts (a crash, an OOM kill, a failed liveness probe) but
not the pod's deletion or eviction: whatever the gateway has not forwarded by the end of its grace period (a rolling
update, a drain) or by a node loss is gone with the pod. ``SpoolVolume(persistent=True)`` uses a
PersistentVolumeClaim instead, which survives the pod and the node; a ReadWriteOnce volume serves one pod, so that
mode requires one replica and the ``Recreate`` strategy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

from components import _event_gateway_network as net
from components import _event_gateway_pod as pod
from components import _naming
from components._options import child_options
from kyma_connectors.core import contract
from kyma_connectors.core.catalog import SPECS_DIR, catalog_path

RESOURCE_TYPE: Final[str] = _naming.token("EventGateway")
SPOOL_DIR: Final[str] = pod.SPOOL_DIR
CATALOG_DIR: Final[str] = pod.CATALOG_DIR
APIRULE_API_VERSION: Final[str] = "gateway.kyma-project.io/v2"
WEBHOOK_PATH: Final[str] = "/webhook"


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """A key of a Kubernetes Secret in the gateway's namespace."""

    name: pulumi.Input[str]
    key: str


@dataclass(frozen=True, kw_only=True)
class Egress:
    """A further destination the gateway pod may reach (the NetworkPolicy denies everything not listed)."""

    namespace: str
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True, kw_only=True)
class Autoscaling:
    """HorizontalPodAutoscaler bounds; the Deployment then leaves ``replicas`` to the HPA."""

    min_replicas: int = 2
    max_replicas: int = 5
    cpu_utilization: int = 70
    """Target average CPU utilisation in percent of the request."""


@dataclass(frozen=True, kw_only=True)
class ContainerResources:
    """Requests and limits; the defaults fit the gateway's benchmark (RSS under 100 MB, ~3k deliveries/s/core)."""

    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str = "1"
    memory_limit: str = "256Mi"


@dataclass(frozen=True, kw_only=True)
class SpoolVolume:
    """The durable spool (see the module docstring for what each kind survives)."""

    size: str = "1Gi"
    """emptyDir ``sizeLimit`` or the PVC's requested storage."""
    persistent: bool = False
    """True: a PersistentVolumeClaim (survives pod and node loss; one replica). False: an emptyDir."""
    storage_class: str | None = None
    """StorageClass of the PVC; None uses the cluster default."""


@dataclass(frozen=True, kw_only=True)
class EventGatewayArgs:
    """Inputs of :class:`EventGateway`. The environment it sets is the gateway's contract (docs/event-gateway.md)."""

    application: str
    """Kyma Application name: the CloudEvents ``source`` (``GATEWAY_APPLICATION``)."""
    namespace: str
    """Namespace of every namespaced child; must be Istio-injected (APIRule v2 only serves mesh workloads)."""
    solution: str
    """``github`` | ``qualtrics`` | ``generic`` (``GATEWAY_SOLUTION``)."""
    image: str
    """Event gateway image reference."""
    image_pull_secrets: tuple[str, ...] = ()
    """Names of ``kubernetes.io/dockerconfigjson`` Secrets in the namespace, for a private registry."""
    host: str
    """APIRule host: a short label (the domain comes from the Istio Gateway) or an FQDN."""
    webhook_secret: SecretRef
    """Secret key with the comma-separated webhook secrets (``GATEWAY_WEBHOOK_SECRETS``)."""
    cluster_domain: str | None = None
    """Kyma cluster domain, e.g. ``c-1a2b3c.kyma.ondemand.com``; required when ``host`` is a short label."""
    gateway: str = "kyma-system/kyma-gateway"
    """Istio Gateway (``namespace/name``) the APIRule binds to."""
    publisher_url: str = "http://eventing-publisher-proxy.kyma-system"
    """Eventing publisher proxy base URL (``GATEWAY_PUBLISHER_URL``)."""
    publisher_namespace: str | None = None
    """Namespace of the publisher pods for the NetworkPolicy's egress rule; None derives it from ``publisher_url``
    (components/_event_gateway_network.py ``publisher_egress``)."""
    publisher_port: int | None = None
    """Pod port of the publisher for the egress rule; None derives it (Kyma's publisher Services map 80 to 8080)."""
    scrapers: tuple[net.Scraper, ...] = (net.Scraper(),)
    """Who may scrape the pods' metrics (default: Kyma's telemetry metric agent); ``()`` admits no scraper."""
    publish_max_bytes: int = contract.PUBLISHER_MAX_REQUEST_BYTES
    """The publisher proxy's ``--max-request-size`` (``GATEWAY_PUBLISH_MAX_BYTES``); Kyma leaves it at 65,536."""
    oversize: str = "trim"
    """``trim`` | ``refuse`` (``GATEWAY_OVERSIZE``): an event over ``publish_max_bytes`` is trimmed or refused with
    413 on receipt, never accepted and then lost (docs/event-gateway.md, "Events over the publisher's size limit")."""
    legacy_events: bool = False
    """Publish Kyma 1.x legacy events (``GATEWAY_LEGACY_EVENTS``), the documented Kyma contract flag."""
    port: int = 8080
    """The gateway's HTTP port (``GATEWAY_PORT``): webhook, probes and metrics."""
    replicas: int = 2
    """Fixed replica count when ``hpa`` is None; two keep the webhook up while a node drains."""
    hpa: Autoscaling | None = None
    resources: ContainerResources = field(default_factory=ContainerResources)
    spool: SpoolVolume = field(default_factory=SpoolVolume)
    catalog_document: str | None = None
    """A custom AsyncAPI catalog (the document's text), e.g. a generic source's own events. The component keeps it
    in a ConfigMap of its own and rolls the pods when it changes. None: the solution's catalog shipped in the image."""
    catalog_config_map: pulumi.Input[str] | None = None
    """Alternatively, an existing ConfigMap with the catalog under key ``asyncapi.yaml`` (not watched for changes)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Further non-secret settings: ``GATEWAY_*`` (e.g. the unknown-event policy) and ``OTEL_*`` (tracing export)."""
    extra_egress: tuple[Egress, ...] = ()
    """Destinations beyond the publisher, DNS and istiod, e.g. the OTLP collector named in ``env``
    (``Egress(namespace="kyma-system", port=4318)`` for Kyma's telemetry module)."""
    secret_env: Mapping[str, SecretRef] = field(default_factory=dict)
    """Further secret settings (e.g. the generic solution's bearer credential), always via ``secretKeyRef``."""
    termination_grace_seconds: int = 30
    """Time to drain in-flight requests on SIGTERM before the kubelet kills the pod."""

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError("EventGatewayArgs: " + "; ".join(problems))


def _problems(args: EventGatewayArgs) -> list[str]:
    problems: list[str] = []
    if not catalog_path(args.solution).is_file():
        shipped = sorted(p.parent.name for p in SPECS_DIR.glob("*/asyncapi.yaml"))
        problems.append(f"solution: {args.solution!r} has no catalog in specs/ (shipped: {', '.join(shipped)})")
    if args.catalog_document is not None and args.catalog_config_map is not None:
        problems.append("catalog_document: give either catalog_document or catalog_config_map, not both")
    if "." not in args.host and not args.cluster_domain:
        problems.append(f"cluster_domain: required when host {args.host!r} is a short label")
    if args.oversize not in ("trim", "refuse"):
        problems.append(f"oversize: expected 'trim' or 'refuse', got {args.oversize!r}")
    if args.publish_max_bytes < 4096:
        problems.append("publish_max_bytes: expected at least 4096")
    if not urlsplit(args.publisher_url).hostname:
        problems.append(f"publisher_url: {args.publisher_url!r} has no host")
    if args.spool.persistent and (args.hpa is not None or args.replicas != 1):
        problems.append("spool.persistent: a ReadWriteOnce spool serves one pod; set replicas=1 and no hpa")
    if args.hpa and not 1 <= args.hpa.min_replicas <= args.hpa.max_replicas:
        problems.append("hpa: expected 1 <= min_replicas <= max_replicas")
    if args.replicas < 1:
        problems.append("replicas: expected at least 1")
    if pod.quantity_bytes(args.spool.size) is None:
        problems.append(f"spool.size: {args.spool.size!r} is not a Kubernetes quantity such as 1Gi or 500Mi")
    if args.termination_grace_seconds < 2:
        problems.append("termination_grace_seconds: expected at least 2")
    reserved = contract.GATEWAY_WRITTEN_BY_PROGRAM
    problems.extend(f"env[{key!r}]: set by the component itself" for key in (*args.env, *args.secret_env)
                    if key in reserved)
    return problems


def fqdn(host: str, cluster_domain: str | None) -> str:
    """The public host name: an FQDN as given, or the short label under the cluster domain."""
    return host if "." in host else f"{host}.{cluster_domain}"


def webhook_url(host: str, cluster_domain: str | None) -> str:
    """Where the solution delivers webhooks; the APIRule serves exactly this path."""
    return f"https://{fqdn(host, cluster_domain)}{WEBHOOK_PATH}"


def apirule_spec(args: EventGatewayArgs, service_name: pulumi.Input[str]) -> dict[str, Any]:
    """APIRule v2 spec: one host, one rule, ``POST /webhook`` without auth (the gateway checks the signature).

    The host is always the FQDN of :func:`webhook_url`, never a short label: for a short label Kyma takes the domain
    from the Gateway's first server host (api-gateway internal/processing/processors/v2alpha1/virtualservice/
    virtual_service_processor.go ``getHostsAndDomainFromAPIRule``), which can differ from ``clusterDomain`` (a
    custom domain, a custom Gateway): the URL registered with the solution would point elsewhere. With the FQDN
    both are one value; the Gateway must serve that domain (docs/kyma-contracts.md, "APIRule host").
    """
    return {
        "hosts": [fqdn(args.host, args.cluster_domain)],
        "gateway": args.gateway,
        "service": {"name": service_name, "namespace": args.namespace, "port": args.port},
        "rules": [{"path": WEBHOOK_PATH, "methods": ["POST"], "noAuth": True}],
    }


class EventGateway(pulumi.ComponentResource):
    """ServiceAccount, Deployment, Service, APIRule v2, PodDisruptionBudget, optional HPA and PVC, NetworkPolicy."""

    service_name: pulumi.Output[str]
    """In-cluster Service name of the gateway."""
    host: pulumi.Output[str]
    """Public FQDN the APIRule serves."""
    webhook_url: pulumi.Output[str]
    """``https://<host>/webhook``: the payload URL to register with the solution."""

    def __init__(self, name: str, args: EventGatewayArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RESOURCE_TYPE, name, None, opts)
        child = child_options(self, opts)
        labels = _naming.labels(name, "event-gateway")
        selector = {"app.kubernetes.io/name": "event-gateway", "app.kubernetes.io/instance": name}
        meta = k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels)

        account = k8s.core.v1.ServiceAccount(
            f"{name}-account", metadata=meta, automount_service_account_token=False, opts=child
        )
        spool_claim = None
        if args.spool.persistent:
            spool_claim = k8s.core.v1.PersistentVolumeClaim(
                f"{name}-spool",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-spool", namespace=args.namespace, labels=labels),
                spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                    access_modes=["ReadWriteOnce"],
                    storage_class_name=args.spool.storage_class,
                    resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": args.spool.size}),
                ),
                # Deleting the claim deletes undelivered events; keep it when the component goes away.
                opts=child.merge(pulumi.ResourceOptions(retain_on_delete=True)),
            )
        catalog_map: pulumi.Input[str] | None = args.catalog_config_map
        if args.catalog_document is not None:
            catalog = k8s.core.v1.ConfigMap(
                f"{name}-catalog",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-catalog", namespace=args.namespace, labels=labels),
                data={pod.CATALOG_KEY: args.catalog_document},
                opts=child,
            )
            catalog_map = catalog.metadata.apply(lambda m: str(m["name"]))
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta,
            spec=pod.deployment_spec(args, labels, selector, account, spool_claim, catalog_map),
            opts=child,
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta,
            spec=k8s.core.v1.ServiceSpecArgs(
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=args.port, target_port="http",
                                                   app_protocol="http")],
            ),
            opts=child,
        )
        self.service_name = service.metadata.apply(lambda m: str(m["name"]))
        k8s.apiextensions.CustomResource(
            f"{name}-apirule",
            api_version=APIRULE_API_VERSION,
            kind="APIRule",
            metadata=meta,
            spec=apirule_spec(args, self.service_name),
            # The rule routes to pods that must be ready, or Istio answers 503 to the first deliveries.
            opts=child_options(self, opts, deployment),
        )
        min_available = args.hpa.min_replicas if args.hpa else args.replicas
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta,
            # With one replica, minAvailable 1 would block node drains forever; allow one pod down instead.
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                min_available=1 if min_available > 1 else None,
                max_unavailable=1 if min_available <= 1 else None,
            ),
            opts=child,
        )
        if args.hpa:
            _autoscaler(name, args.hpa, meta, deployment, child)
        net.network_policy(name, args, meta, selector, child)

        self.host = pulumi.Output.from_input(fqdn(args.host, args.cluster_domain))
        self.webhook_url = pulumi.Output.from_input(webhook_url(args.host, args.cluster_domain))
        self.register_outputs({"service_name": self.service_name, "host": self.host, "webhook_url": self.webhook_url})


def _autoscaler(name: str, hpa: Autoscaling, meta: k8s.meta.v1.ObjectMetaArgs, deployment: k8s.apps.v1.Deployment,
                child: pulumi.ResourceOptions) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{name}-hpa",
        metadata=meta,
        spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                api_version="apps/v1", kind="Deployment", name=deployment.metadata.apply(lambda m: m["name"])),
            min_replicas=hpa.min_replicas,
            max_replicas=hpa.max_replicas,
            metrics=[k8s.autoscaling.v2.MetricSpecArgs(
                type="Resource",
                resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                    name="cpu", target=k8s.autoscaling.v2.MetricTargetArgs(
                        type="Utilization", average_utilization=hpa.cpu_utilization)),
            )],
        ),
        opts=child,
    )
