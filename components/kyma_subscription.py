"""KymaSubscription: an ``eventing.kyma-project.io/v1alpha2`` Subscription declared in the connector's stack.

The object is built so that eventing routes this connector's events to it on every backend: ``source`` is what the
publisher proxy uses for the connector (the Application's ``application-type`` label when it carries one, else its
name -- :func:`kyma_connectors.core.eventing.publisher_source`), ``types`` are catalog types (native names from the
config resolved through the catalog, :mod:`kyma_connectors.core.event_names`), and with ``typeMatching: exact`` they
are written as the NATS backend routes them (``<source>.<type>``). The sink is the consumer's cluster-local URL,
checked against eventing-manager's rules when the config was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from components._naming import labels, token
from components._options import child_options
from kyma_connectors.core.catalog import Catalog
from kyma_connectors.core.event_names import types_for
from kyma_connectors.core.eventing import TypeMatching, exact_type
from kyma_connectors.program.subscriptions import SubscriptionSettings

API_VERSION: Final[str] = "eventing.kyma-project.io/v1alpha2"
KIND: Final[str] = "Subscription"


@dataclass(frozen=True, kw_only=True)
class KymaSubscriptionArgs:
    """Inputs of :class:`KymaSubscription`: the config entry, whose connector it is, and what it publishes."""

    subscription: SubscriptionSettings
    connector: str
    source: str
    """The source the publisher uses for the connector's events."""
    catalog: Catalog


def subscription_types(args: KymaSubscriptionArgs) -> list[str]:
    """The Subscription's ``types``: each configured name resolved through the catalog, each type once, in order."""
    resolved = [t for name in args.subscription.events for t in types_for(args.catalog, name)]
    unique = list(dict.fromkeys(resolved))
    if args.subscription.type_matching is TypeMatching.EXACT:
        return [exact_type(args.source, t) for t in unique]
    return unique


def subscription_object(args: KymaSubscriptionArgs) -> dict[str, Any]:
    """The Subscription as the API server receives it (also what ``renderYamlToDirectory`` writes)."""
    sub = args.subscription
    types = subscription_types(args)
    if not types:
        raise ValueError(f"subscription {sub.namespace}/{sub.name}: no catalog type for {list(sub.events)}")
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": sub.name, "namespace": sub.namespace, "labels": labels(args.connector, "subscription")},
        "spec": {"sink": sub.sink, "source": args.source, "types": types,
                 "typeMatching": sub.type_matching.value},
    }


class KymaSubscription(pulumi.ComponentResource):
    """One Subscription object (in the consumer's namespace, which must exist)."""

    types: pulumi.Output[list[str]]

    def __init__(self, name: str, args: KymaSubscriptionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(token("KymaSubscription"), name, None, opts)
        obj = subscription_object(args)
        k8s.apiextensions.CustomResource(
            f"{name}-cr", api_version=obj["apiVersion"], kind=obj["kind"], metadata=obj["metadata"],
            spec=obj["spec"], opts=child_options(self, opts),
        )
        self.types = pulumi.Output.from_input(obj["spec"]["types"])
        self.register_outputs({"types": self.types})
