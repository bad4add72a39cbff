"""The event gateway's NetworkPolicy: who may reach the pod, and whom the pod may reach.

Why these peers: deliveries enter through the Istio ingress gateway (``istio-system``, pods ``istio: ingressgateway``);
the pod publishes to the eventing publisher proxy and resolves names through cluster DNS; its Istio sidecar needs
istiod (xDS on 15012) or the pod never becomes ready. Everything else is denied, so a compromised gateway cannot
reach the Kubernetes API, other workloads or the internet. NetworkPolicies match pod ports, not Service ports, hence
the publisher's container port. Kubelet probes are not subject to NetworkPolicy in the common CNIs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pulumi
import pulumi_kubernetes as k8s

if TYPE_CHECKING:
    from components.event_gateway import EventGatewayArgs

NAMESPACE_LABEL: Final[str] = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace (Kubernetes >= 1.22), so namespaces can be selected by name."""
ISTIO_NAMESPACE: Final[str] = "istio-system"
ISTIOD_XDS_PORT: Final[int] = 15012


def _namespace(name: str) -> k8s.meta.v1.LabelSelectorArgs:
    return k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_LABEL: name})


def _ports(*ports: tuple[int, str]) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(port=port, protocol=protocol) for port, protocol in ports]


def network_policy(name: str, args: EventGatewayArgs, meta: k8s.meta.v1.ObjectMetaArgs, selector: dict[str, str],
                   child: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    peer = k8s.networking.v1.NetworkPolicyPeerArgs
    rule_out = k8s.networking.v1.NetworkPolicyEgressRuleArgs
    return k8s.networking.v1.NetworkPolicy(
        f"{name}-netpol",
        metadata=meta,
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            policy_types=["Ingress", "Egress"],
            ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                from_=[peer(namespace_selector=_namespace(ISTIO_NAMESPACE),
                            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"istio": "ingressgateway"}))],
                ports=_ports((args.port, "TCP")),
            )],
            egress=[
                rule_out(to=[peer(namespace_selector=_namespace(args.publisher_namespace))],
                         ports=_ports((args.publisher_port, "TCP"))),
                rule_out(to=[peer(namespace_selector=_namespace("kube-system"))],
                         ports=_ports((53, "UDP"), (53, "TCP"))),
                rule_out(to=[peer(namespace_selector=_namespace(ISTIO_NAMESPACE))],
                         ports=_ports((ISTIOD_XDS_PORT, "TCP"))),
                *(rule_out(to=[peer(namespace_selector=_namespace(extra.namespace))],
                           ports=_ports((extra.port, extra.protocol))) for extra in args.extra_egress),
            ],
        ),
        opts=child,
    )
