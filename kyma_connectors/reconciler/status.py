"""What the reconciler decided, for people: Prometheus metrics and a status ConfigMap.

Why a ConfigMap rather than Kubernetes Events: Events need ``create`` on ``events`` (and expire after an hour), while
one ConfigMap the program creates and the reconciler may only ``patch`` by name is least privilege and always shows
the *current* decision: ``kubectl get configmap <connector>-reconciler-status -o yaml`` (docs/subscriptions.md).
The ConfigMap is written only when its content changes, so a steady state costs no API writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

from kyma_connectors.reconciler.hooks import Applied
from kyma_connectors.reconciler.wanted import Wanted

disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series only double the scrape size


class Metrics:
    """The reconciler's series (names prefixed ``hook_reconciler_``)."""

    def __init__(self, application: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.seen = Gauge("hook_reconciler_subscriptions_seen", "Subscriptions in the cluster, all sources",
                          registry=r)
        self.matched = Gauge("hook_reconciler_subscriptions_matched",
                             "Subscriptions that receive this connector's events", registry=r)
        self.wanted = Gauge("hook_reconciler_events_wanted", "Native events the hook subscribes to", registry=r)
        self.updates = Counter("hook_reconciler_hook_updates", "Write calls made to the solution's hook API",
                               ["target"], registry=r)
        self.reconciles = Counter("hook_reconciler_reconciles", "Reconcile runs, by outcome", ["outcome"],
                                  registry=r)
        self.failures = Counter("hook_reconciler_failures", "Failed reconcile runs, by reason", ["reason"],
                                registry=r)
        self.watch_restarts = Counter("hook_reconciler_watch_restarts", "Subscription watches re-established",
                                      registry=r)
        self.application = application

    def decided(self, wanted: Wanted) -> None:
        self.seen.set(wanted.seen)
        self.matched.set(len(wanted.matched))
        self.wanted.set(len(wanted.events))


@dataclass
class Status:
    """The status ConfigMap's data, rebuilt after each reconcile; :meth:`data` is what gets written."""

    application: str
    source: str
    wanted: Wanted | None = None
    targets: dict[str, str] = field(default_factory=dict)
    error: str = ""
    last_change: str = ""
    """When the hook was last changed (UTC, ISO 8601)."""

    def record(self, wanted: Wanted, applied: list[Applied]) -> None:
        self.wanted, self.error = wanted, ""
        self.targets = {a.target or "brand": a.detail for a in applied}
        if any(a.changed for a in applied):
            self.last_change = _now()

    def failed(self, message: str) -> None:
        self.error = f"{_now()} {message}"

    def data(self) -> dict[str, str]:
        wanted = self.wanted
        summary: dict[str, Any] = {
            "application": self.application,
            "source": self.source,
            "events": list(wanted.events) if wanted else [],
            "subscriptions": list(wanted.matched) if wanted else [],
            "unknownTypes": list(wanted.unknown_types) if wanted else [],
            "sourceMismatches": list(wanted.near_misses) if wanted else [],
            "subscriptionsSeen": wanted.seen if wanted else 0,
            "targets": self.targets,
            "lastHookChange": self.last_change,
            "lastError": self.error,
        }
        return {
            "events": ",".join(summary["events"]) or "(none: hook inactive)",
            "subscriptions": "\n".join(summary["subscriptions"]),
            "status.json": json.dumps(summary, indent=2, sort_keys=True),
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
