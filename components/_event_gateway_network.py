"""The event gateway's NetworkPolicy: who may reach the pod, and whom the pod may reach.

Why these peers, each as Kyma clusters really run (docs/kyma-contracts.md, "Cluster networking"):

- in: the Istio ingress gateway (``istio-system``, pods ``istio: ingressgateway``) on the gateway port; the pod also
  carries ``networking.kyma-project.io/from-ingressgateway: allowed``, the only pods the ingress gateway may send to
  once the istio module's network policies are on (kyma-project/istio
  internal/reconciliations/istioresources/networkpolicies/allow-egress-to-customer.yaml).
- in: the metrics scraper (default: Kyma's telemetry metric agent, ``kyma-system`` pods labelled
  ``telemetry.kyma-project.io/metric-scrape: "true"``, kyma-project/telemetry-manager
  internal/resources/otelcollector/agent.go ``NewMetricAgentApplierDeleter``) on the metrics port and the sidecar's
  merged-metrics (15020) and Envoy (15090) ports: the pods carry Prometheus annotations, which is pointless if
  nothing may scrape them.
- out: DNS on 53 to any address plus 8053 to ``kube-system`` ``k8s-app: kube-dns``. On Gardener (SAP BTP Kyma)
  CoreDNS listens on 8053 behind Service port 53 (gardener pkg/component/networking/coredns/constants/constants.go
  ``PortServer``), node-local DNS sits on a link-local address, and NetworkPolicy sees the pod port after Service
  translation; this is the rule Kyma's own modules use (application-connector-manager
  application-connector-optional.yaml ``kyma-project.io--acm-module-to-dns``).
- out: the publisher, derived from ``publisherUrl`` (:func:`publisher_egress`); istiod (xDS on 15012) or the pod
  never becomes ready; and ``extra_egress``.

Everything else is denied, so a compromised gateway cannot reach the Kubernetes API, other workloads or the internet.
Kubelet probes are not subject to NetworkPolicy in the common CNIs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s

if TYPE_CHECKING:
    from components.event_gateway import EventGatewayArgs

NAMESPACE_LABEL: Final[str] = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace (Kubernetes >= 1.22), so namespaces can be selected by name."""
ISTIO_NAMESPACE: Final[str] = "istio-system"
ISTIOD_XDS_PORT: Final[int] = 15012
FROM_INGRESS_LABEL: Final[dict[str, str]] = {"networking.kyma-project.io/from-ingressgateway": "allowed"}
"""Pod label the istio module's ingress-gateway egress policy admits."""
SIDECAR_METRICS_PORTS: Final[tuple[int, ...]] = (15020, 15090)
"""Istio's merged Prometheus endpoint and Envoy's own stats, what scrapers of sidecar pods use."""
DNS_PORT: Final[int] = 53
GARDENER_COREDNS_PORT: Final[int] = 8053
KUBE_DNS_LABEL: Final[dict[str, str]] = {"k8s-app": "kube-dns"}
KYMA_PUBLISHER_SERVICES: Final[frozenset[str]] = frozenset(
    {"eventing-publisher-proxy", "eventing-event-publisher-proxy"})
"""Publisher Services whose port 80 targets pod port 8080 (eventing-manager pkg/eventing/utils.go
``newPublisherProxyService``; Kyma 2.x's ``eventing-event-publisher-proxy`` likewise)."""
KYMA_PUBLISHER_POD_PORT: Final[int] = 8080


@dataclass(frozen=True, kw_only=True)
class Scraper:
    """Who scrapes the gateway's metrics: pods with ``pod_labels`` in ``namespace``."""

    namespace: str = "kyma-system"
    pod_labels: Mapping[str, str] = field(default_factory=lambda: {"telemetry.kyma-project.io/metric-scrape": "true"})


@dataclass(frozen=True)
class PublisherEgress:
    """Where the pod sends events: a namespace's pods, an address block, or (None, None) any address; one port."""

    namespace: str | None
    cidr: str | None
    port: int


def publisher_egress(url: str, gateway_namespace: str, *, namespace: str | None = None,
                     port: int | None = None) -> PublisherEgress:
    """The egress peer and *pod* port for ``publisherUrl``.

    ``http://<service>.<namespace>[.svc[.cluster.local]][:port]`` -> that namespace (a bare ``<service>``: the
    gateway's own); the port is the URL's, except Kyma's publisher Services, whose port 80 targets 8080. An IP
    literal -> that address. Any other host is outside the cluster -> any address on the URL's port. ``namespace``
    and ``port`` override the derivation (a Service whose target port differs from its port).
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    url_port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        cidr = f"{address}/{address.max_prefixlen}"
        return PublisherEgress(namespace, None if namespace else cidr, port or url_port)
    labels = host.split(".")
    in_cluster = len(labels) <= 2 or host.endswith((".svc", ".svc.cluster.local"))
    if not in_cluster:
        return PublisherEgress(namespace, None, port or url_port)
    service = labels[0]
    target = KYMA_PUBLISHER_POD_PORT if service in KYMA_PUBLISHER_SERVICES and url_port == 80 else url_port
    derived = labels[1] if len(labels) > 1 else gateway_namespace
    return PublisherEgress(namespace or derived, None, port or target)


def _namespace(name: str) -> k8s.meta.v1.LabelSelectorArgs:
    return k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_LABEL: name})


def _ports(*ports: tuple[int, str]) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol=protocol) for port, protocol in ports]


def _udp_tcp(port: int) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return _ports((port, "UDP"), (port, "TCP"))


def network_policy(name: str, args: EventGatewayArgs, meta: k8s.meta.v1.ObjectMetaArgs, selector: dict[str, str],
                   child: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    peer = k8s.networking.v1.NetworkPolicyPeerArgs
    rule_in = k8s.networking.v1.NetworkPolicyIngressRuleArgs
    rule_out = k8s.networking.v1.NetworkPolicyEgressRuleArgs
    publisher = publisher_egress(args.publisher_url, args.namespace, namespace=args.publisher_namespace,
                                 port=args.publisher_port)
    publisher_to = (
        [peer(namespace_selector=_namespace(publisher.namespace))] if publisher.namespace
        else [peer(ip_block=k8s.networking.v1.IPBlockArgs(cidr=publisher.cidr))] if publisher.cidr
        else None
    )
    metrics_ports = _ports(*((port, "TCP") for port in (args.port, *SIDECAR_METRICS_PORTS)))
    ingress_gateway = k8s.meta.v1.LabelSelectorArgs(match_labels={"istio": "ingressgateway"})
    return k8s.networking.v1.NetworkPolicy(
        f"{name}-netpol",
        metadata=meta,
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            policy_types=["Ingress", "Egress"],
            ingress=[
                rule_in(from_=[peer(namespace_selector=_namespace(ISTIO_NAMESPACE), pod_selector=ingress_gateway)],
                        ports=_ports((args.port, "TCP"))),
                *(rule_in(from_=[peer(namespace_selector=_namespace(scraper.namespace),
                                      pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(scraper.pod_labels)))],
                          ports=metrics_ports) for scraper in args.scrapers),
            ],
            egress=[
                rule_out(to=publisher_to, ports=_ports((publisher.port, "TCP"))),
                rule_out(ports=_udp_tcp(DNS_PORT)),  # any address: kube-dns, node-local DNS, Gardener's links
                rule_out(to=[peer(namespace_selector=_namespace("kube-system"),
                                  pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=KUBE_DNS_LABEL))],
                         ports=_udp_tcp(GARDENER_COREDNS_PORT)),
                rule_out(to=[peer(namespace_selector=_namespace(ISTIO_NAMESPACE))],
                         ports=_ports((ISTIOD_XDS_PORT, "TCP"))),
                *(rule_out(to=[peer(namespace_selector=_namespace(extra.namespace))],
                           ports=_ports((extra.port, extra.protocol))) for extra in args.extra_egress),
            ],
        ),
        opts=child,
    )
