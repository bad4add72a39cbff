"""Which native events the hook must subscribe to, given the Subscriptions in the cluster. Pure data in, data out.

A Subscription counts for this connector when eventing would route this connector's events to it
(:func:`kyma_connectors.core.eventing.routes_to`): same cleaned source and a type of the catalog (``standard``), or a
type naming ``<source>.<type>`` (``exact``, NATS). Its types map to catalog entries and so to native events
(the subscribable ones); what each hook then subscribes to is ``Catalog.subscriptions`` for its kind
(:mod:`.hooks`). Types of our
source that the catalog does not know, and Subscriptions that name our Application in a form eventing would not
route (``github-acme`` while the publisher uses ``githubacme``), are reported, never guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kyma_connectors.core.catalog import Catalog, CatalogEvent
from kyma_connectors.core.eventing import Backend, TypeMatching, clean_source, exact_type, routes_to


@dataclass(frozen=True, kw_only=True)
class SubscriptionView:
    """The parts of a Subscription the reconciler reads."""

    namespace: str
    name: str
    source: str
    types: tuple[str, ...]
    matching: TypeMatching

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> SubscriptionView:
        """From the API object; a missing or unknown ``typeMatching`` is ``standard`` (the CRD's default)."""
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        raw = str(spec.get("typeMatching") or TypeMatching.STANDARD)
        matching = TypeMatching(raw) if raw in tuple(TypeMatching) else TypeMatching.STANDARD
        return cls(namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")),
                   source=str(spec.get("source") or ""), types=tuple(str(t) for t in spec.get("types") or ()),
                   matching=matching)


@dataclass(frozen=True, kw_only=True)
class Wanted:
    """The decision: what the hook subscribes to, and why."""

    events: tuple[str, ...]
    """Native events someone listens to (GitHub events, Qualtrics topics), sorted; empty means no one listens."""
    matched: tuple[str, ...]
    """``namespace/name`` of the Subscriptions that receive this connector's events."""
    unknown_types: tuple[str, ...]
    """``namespace/name: type`` of our source that the catalog does not list (nothing can deliver them)."""
    near_misses: tuple[str, ...]
    """``namespace/name`` naming our Application in a form eventing does not route to us."""
    seen: int
    """How many Subscriptions were looked at (all namespaces, all sources)."""


def decide(subscriptions: Iterable[SubscriptionView], *, source: str, catalog: Catalog,
           backend: Backend = Backend.NATS) -> Wanted:
    """The hook's events for ``source`` (what the publisher uses for this connector) and these Subscriptions."""
    entries = [entry for entry in catalog.events if entry.subscribable]
    events: set[str] = set()
    matched: list[str] = []
    unknown: list[str] = []
    near: list[str] = []
    seen = 0
    for sub in subscriptions:
        seen += 1
        ours = _ours(sub, source, backend)
        if not ours:
            if sub.matching is TypeMatching.STANDARD and _same_alnum(sub.source, source):
                near.append(sub.key)
            continue
        hits = False
        for event_type in sub.types:
            entry = _entry_for(event_type, sub, source, entries, backend)
            if entry is None:
                if _names_our_source(event_type, sub, source):
                    unknown.append(f"{sub.key}: {event_type}")
                continue
            hits = True
            events.add(entry.event)
        if hits:
            matched.append(sub.key)
    return Wanted(events=tuple(sorted(events)), matched=tuple(sorted(matched)), unknown_types=tuple(sorted(unknown)),
                  near_misses=tuple(sorted(near)), seen=seen)


def _ours(sub: SubscriptionView, source: str, backend: Backend) -> bool:
    if sub.matching is TypeMatching.EXACT:
        prefix = clean_source(source) + "."
        return backend is Backend.NATS and any(t.startswith(prefix) for t in sub.types)
    return clean_source(sub.source, backend) == clean_source(source, backend)


def _names_our_source(event_type: str, sub: SubscriptionView, source: str) -> bool:
    return sub.matching is TypeMatching.STANDARD or event_type.startswith(clean_source(source) + ".")


def _entry_for(event_type: str, sub: SubscriptionView, source: str, entries: list[CatalogEvent],
               backend: Backend) -> CatalogEvent | None:
    for entry in entries:
        if routes_to(source, entry.type, sub.source, sub.matching, event_type, backend):
            return entry
    return None


def _same_alnum(a: str, b: str) -> bool:
    return bool(a) and clean_source(a, Backend.EVENTMESH).lower() == clean_source(b, Backend.EVENTMESH).lower()


__all__ = ["SubscriptionView", "Wanted", "decide", "exact_type"]
