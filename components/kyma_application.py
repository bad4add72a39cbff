"""KymaApplication: the ``applicationconnector.kyma-project.io/v1alpha1`` Application that represents a solution.

The Application is cluster-scoped and its name is what Kyma eventing and the Central Application Gateway key on:
events published with ``source: <name>``, API calls to ``central-application-gateway.kyma-system:8080/<name>/...``.

No ``application-type`` label, on purpose: when an Application named like the event's source exists, the publisher
proxy replaces the source with that label's value (eventing-publisher-proxy pkg/cloudevents/builder/generic.go
``GetAppNameOrSource`` -> pkg/application/clean.go ``GetTypeOrName``). On the NATS backend the subject keeps ``-``
(eventing-manager pkg/backend/cleaner/jetstream.go), so a label ``githubacme`` on ``github-acme`` moved every event to
``kyma.githubacme.<type>`` while a Subscription with ``source: github-acme`` listens on ``kyma.github-acme.<type>``.
Without the label the proxy uses the Application's name, which equals the source: the one ``source`` a Subscription
names is the connector's name, on NATS and on EventMesh alike (docs/kyma-contracts.md, "Event source and subjects").

Services: on today's Kyma the program writes ``spec.services`` itself, built by :func:`build_services`
from the same manifest the registration Job applies -- so ``pulumi up`` alone yields a complete Application, rendered
manifests are complete for GitOps, and the registrar's server-side apply of equal values shares ownership instead of
conflicting. On Kyma 1.x (``include_services=False``) the Application Registry owns ``spec.services`` (it adds
``gatewayUrl`` entries of its own), so the program leaves them out and the registration Job fills them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from components._naming import application_type, child, labels, token
from components._options import child_options
from kyma_connectors.core.application_services import build_services, gateway_url
from kyma_connectors.core.manifest import Manifest

API_VERSION: Final[str] = "applicationconnector.kyma-project.io/v1alpha1"
KIND: Final[str] = "Application"
TYPE_LABEL: Final[str] = "application-type"
"""The label the publisher proxy would substitute for the event source; never set (module docstring)."""


@dataclass(frozen=True, kw_only=True)
class KymaApplicationArgs:
    """Inputs of :class:`KymaApplication` (plain values: the Application's shape is known at preview)."""

    manifest: Manifest
    """What the connector registers; its ``application`` is the Application's name."""
    display_name: str
    """Shown in the Kyma dashboard."""
    description: str
    provider_display_name: str
    """Who provides the solution (``GitHub``, ``SAP Qualtrics``)."""
    include_services: bool = True
    """Write ``spec.services`` (today's Kyma); False when the Kyma 1.x Application Registry owns them."""
    spec_labels: Mapping[str, str] = field(default_factory=dict)
    """``spec.labels`` of the Application (free-form metadata for Kyma consumers)."""

    def __post_init__(self) -> None:
        name = self.manifest.application
        if not name or len(name) > 253 or name != name.lower():
            raise ValueError(f"manifest.application: {name!r} is not a valid Application name")
        if not application_type(name):
            raise ValueError(f"manifest.application: {name!r} has no alphanumerics (EventMesh keeps only those)")


def application_labels(name: str) -> dict[str, str]:
    """The Application's metadata labels -- without ``application-type``, so the publisher keeps the name as source
    (components/kyma_subscription.py derives a Subscription's ``source`` from these same labels)."""
    return labels(name, "application")


def application_object(args: KymaApplicationArgs) -> dict[str, Any]:
    """The Application as the API server receives it (also what ``renderYamlToDirectory`` writes)."""
    name = args.manifest.application
    spec: dict[str, Any] = {
        "description": args.description,
        "displayName": args.display_name,
        "providerDisplayName": args.provider_display_name,
        "skipVerify": False,
        "labels": dict(args.spec_labels),
    }
    if args.include_services:
        spec["services"] = build_services(args.manifest)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "labels": application_labels(name)},
        "spec": spec,
    }


def api_gateway_urls(manifest: Manifest) -> dict[str, str]:
    """Where in-cluster workloads call each registered API: service display name -> Central Application Gateway URL."""
    return {
        service.display_name: gateway_url(manifest.application, service.display_name)
        for service in manifest.services
        if service.api is not None
    }


class KymaApplication(pulumi.ComponentResource):
    """The cluster-scoped Application custom resource for one connector."""

    application_name: pulumi.Output[str]
    """The Application's name: the CloudEvents ``source`` and the gateway path segment."""
    gateway_urls: pulumi.Output[dict[str, str]]
    """Central Application Gateway URL per registered API (by service display name)."""

    def __init__(self, name: str, args: KymaApplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(token("KymaApplication"), name, None, opts)
        obj = application_object(args)
        application = k8s.apiextensions.CustomResource(
            child(name, "cr"),
            api_version=obj["apiVersion"],
            kind=obj["kind"],
            metadata=obj["metadata"],
            spec=obj["spec"],
            opts=child_options(self, opts),
        )
        self.application_name = application.metadata.apply(lambda m: str(m["name"]))  # type: ignore[attr-defined]
        self.gateway_urls = pulumi.Output.from_input(api_gateway_urls(args.manifest))
        self.register_outputs({"application_name": self.application_name, "gateway_urls": self.gateway_urls})
