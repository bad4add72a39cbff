"""Is the webhook URL's host served by the Istio Gateway the APIRule binds to? Checked before any write.

Why here: the program builds the webhook URL (and the APIRule's host) from ``clusterDomain``, but which hosts reach
the cluster is the Gateway's to say: its servers' ``hosts`` (Istio ``Server.hosts``: ``[namespace/]dnsName``, where
``*`` matches everything and ``*.example.com`` every name under it). Kyma's api-gateway takes the same Gateway's
first host as the domain of short APIRule hosts (kyma-project/api-gateway
internal/processing/processors/v2alpha1/virtualservice/virtual_service_processor.go ``getHostsAndDomainFromAPIRule``),
so a custom domain that differs from ``clusterDomain`` would register a URL with GitHub that no route serves. The
registration Job is the program's one step that runs inside the cluster and can read the Gateway, and it runs
before the webhook is registered, so a mismatch fails ``pulumi up`` with the fix instead of losing deliveries.

A Gateway that cannot be read (no Istio CRDs, as on the local control plane, or no permission) is reported and
skipped: the check helps, it never blocks a cluster it cannot see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from kyma_connectors.registrar.errors import ApiError, PermanentError
from kyma_connectors.registrar.transport import HttpClient

VERSIONS: Final[tuple[str, ...]] = ("v1", "v1beta1")
"""networking.istio.io versions tried in order (v1 since Istio 1.22; v1beta1 on older meshes)."""


class WebhookHostError(PermanentError):
    """The Gateway serves no host that matches the webhook URL's; the message says which to change."""

    kind = "webhook-host"


def served(host: str, gateway_host: str) -> bool:
    """Whether one Gateway server host admits ``host`` (the ``namespace/`` part is not about the host)."""
    pattern = gateway_host.rsplit("/", 1)[-1].lower()
    host = host.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def gateway_hosts(gateway: dict[str, Any]) -> list[str]:
    """Every host of every server of a Gateway object."""
    servers = (gateway.get("spec") or {}).get("servers") or []
    return [str(h) for server in servers if isinstance(server, dict) for h in server.get("hosts") or []]


def check(client: HttpClient, gateway: str, host: str, note: Callable[[str], None]) -> None:
    """Raise :class:`WebhookHostError` when the Gateway ``namespace/name`` does not serve ``host``."""
    namespace, name = gateway.split("/", 1)
    found: dict[str, Any] | None = None
    for version in VERSIONS:
        path = f"/apis/networking.istio.io/{version}/namespaces/{namespace}/gateways/{name}"
        try:
            found = client.request("GET", path).json()
            break
        except ApiError as exc:
            if exc.status == 404:
                continue
            note(f"cannot read Gateway {gateway} ({exc}); the webhook host {host} is not checked")
            return
    if found is None:
        note(f"Gateway {gateway} not found (no Istio Gateway CRD or no such Gateway); webhook host {host} not checked")
        return
    hosts = gateway_hosts(found)
    if any(served(host, pattern) for pattern in hosts):
        return
    domains = ", ".join(hosts) or "none"
    raise WebhookHostError(
        f"the webhook URL's host {host} is not served by Gateway {gateway} (its hosts: {domains}), so the solution "
        f"would deliver to an address no route serves; set clusterDomain to the Gateway's domain, or gateway to one "
        f"that serves {host}"
    )
