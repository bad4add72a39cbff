"""kyma-connectors: the Pulumi program (``pulumi up`` per environment).

Deliberately thin: read and validate the whole stack config (every problem reported, nothing registered when any is
found), set the stack-wide options (GitOps render provider, the namespace), build one
``Connector`` per configured solution instance, export their outputs. Everything else lives in
``components/`` and ``kyma_connectors.program`` (the stack config).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import Connector, ConnectorArgs
from components._naming import labels
from kyma_connectors.program import StackSettings, load_settings


def stack_options(settings: StackSettings) -> pulumi.ResourceOptions:
    """Options every Connector gets: the render provider (GitOps mode) and the namespace it must wait for."""
    provider = None
    if settings.render_yaml_to_directory:
        # Manifests are written to this directory instead of being applied; a GitOps tool applies them.
        provider = k8s.Provider("render", render_yaml_to_directory=settings.render_yaml_to_directory)
    depends_on: list[pulumi.Resource] = []
    if settings.create_namespace:
        depends_on.append(k8s.core.v1.Namespace(
            "namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=settings.namespace,
                # APIRule v2 serves only workloads in the Istio mesh: the gateways need the sidecar.
                labels={**labels(settings.namespace, "namespace"), "istio-injection": "enabled"},
            ),
            opts=pulumi.ResourceOptions(provider=provider),
        ))
    return pulumi.ResourceOptions(providers=[provider] if provider else None, depends_on=depends_on or None)


def connector_outputs(connector: Connector, *, generic: bool) -> dict[str, Any]:
    """One connector's stack outputs; the webhook secret only for generic senders, who must be given it."""
    outputs: dict[str, Any] = {
        "application": connector.application_name,
        "webhookUrl": connector.webhook_url,
        "webhookIds": connector.webhook_ids,
        "eventTypes": connector.event_type_names,
        "apiGatewayUrls": connector.api_gateway_urls,
        "registrationJob": connector.registration_job_name,
        "eventSource": connector.event_source,
    }
    if connector.subscription_names:
        outputs["subscriptions"] = connector.subscription_names
    if generic:
        outputs["webhookSecret"] = connector.webhook_secret
    return outputs


def main() -> None:
    settings = load_settings()  # raises ConfigValidationError (every problem) before any resource exists
    opts = stack_options(settings)
    exported: dict[str, Any] = {}
    for connector in settings.connectors:
        component = Connector(connector.name, ConnectorArgs.from_settings(settings, connector), opts=opts)
        exported[connector.name] = connector_outputs(component, generic=connector.solution == "generic")
    pulumi.export("connectors", exported)


main()
