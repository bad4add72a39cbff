"""Subscriptions as code, and ``events: subscribed``: the stack-config half (typed settings and semantic rules).

A connector may declare Kyma Subscriptions next to itself (``subscriptions: [{name, namespace, sink, events,
typeMatching}]``); the program writes them as ``eventing.kyma-project.io/v1alpha2`` objects whose ``source`` and
``types`` are what eventing routes this connector's events by (components/kyma_subscription.py). Everything
eventing-manager would refuse later -- a sink outside the Subscription's namespace or not cluster-local, an event the
catalog does not know -- is refused here, with its config path, before any resource exists (rules:
:mod:`kyma_connectors.core.eventing`). Names and shapes are the JSON Schema's job (schema.json).

``events: subscribed`` hands the webhook's event list to the in-cluster hook reconciler (kyma_connectors/reconciler):
the hook subscribes to what Subscriptions in the cluster ask for, whoever created them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from kyma_connectors.core.catalog import Catalog
from kyma_connectors.core.event_names import describe_known, types_for
from kyma_connectors.core.eventing import TypeMatching, sink_problem
from kyma_connectors.core.problems import Problem

SUBSCRIBED: Final[str] = "subscribed"
"""The ``events`` value that hands the hook's events to the reconciler."""
RECONCILED_SOLUTIONS: Final[frozenset[str]] = frozenset({"github", "qualtrics"})


@dataclass(frozen=True, kw_only=True)
class SubscriptionSettings:
    """One entry of a connector's ``subscriptions``."""

    name: str
    namespace: str
    sink: str
    """In-cluster URL of the consumer: ``http://<service>.<namespace>.svc.cluster.local[:port][/path]``."""
    events: tuple[str, ...]
    """As written: native names (``push``, ``pull_request.opened``) or catalog types."""
    type_matching: TypeMatching = TypeMatching.STANDARD


def build_subscriptions(raw: Mapping[str, Any]) -> tuple[SubscriptionSettings, ...]:
    """Typed subscriptions of a validated connector entry."""
    return tuple(
        SubscriptionSettings(name=entry["name"], namespace=entry["namespace"], sink=entry["sink"],
                             events=tuple(entry["events"]),
                             type_matching=TypeMatching(entry.get("typeMatching", TypeMatching.STANDARD.value)))
        for entry in raw.get("subscriptions") or ()
    )


def events_problems(where: str, connector: Mapping[str, Any]) -> list[Problem]:
    """``events`` as a string must be ``subscribed``, and only where a reconciler can manage a hook."""
    events, solution = connector.get("events"), connector.get("solution")
    if not isinstance(events, str):
        return []
    if events != SUBSCRIBED:
        return [Problem(f"{where}.events", f'expected a list of event names or "{SUBSCRIBED}", got "{events}"')]
    if solution not in RECONCILED_SOLUTIONS:
        return [Problem(f"{where}.events", f'"{SUBSCRIBED}" needs a webhook the program registers (github or '
                        f"qualtrics); {solution} sources are receive-only")]
    return []


def subscription_problems(where: str, connector: Mapping[str, Any], catalog: Catalog | None) -> list[Problem]:
    """Rules for one connector's ``subscriptions`` (the schema already checked shapes and required keys)."""
    entries = connector.get("subscriptions")
    if not isinstance(entries, list):
        return []
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        here = f"{where}.subscriptions[{index}]"
        sink, namespace = entry.get("sink"), entry.get("namespace")
        if isinstance(sink, str) and isinstance(namespace, str):
            reason = sink_problem(sink, namespace)
            if reason:
                problems.append(Problem(f"{here}.sink", reason))
        events = entry.get("events")
        if catalog is None or not isinstance(events, list):
            continue
        for position, name in enumerate(events):
            if isinstance(name, str) and not types_for(catalog, name):
                problems.append(Problem(f"{here}.events[{position}]", f'unknown {catalog.solution} event or type '
                                        f'"{name}" (known: {describe_known(catalog)})'))
    return problems


def unique_subscriptions(connectors: list[Any]) -> list[Problem]:
    """Subscriptions are namespaced objects: ``namespace/name`` may appear once in the whole stack."""
    seen: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []
    for index, connector in enumerate(connectors):
        entries = connector.get("subscriptions") if isinstance(connector, dict) else None
        for position, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            key = (str(entry.get("namespace")), entry["name"])
            here = f"connectors[{index}].subscriptions[{position}]"
            if key in seen:
                problems.append(Problem(f"{here}.name", f'"{key[0]}/{key[1]}" is also {seen[key]}'))
            else:
                seen[key] = here
    return problems
