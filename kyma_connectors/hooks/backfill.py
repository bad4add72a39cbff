"""Backfill: find deliveries that failed since a point in time and ask GitHub to redeliver them.

Why: GitHub never retries a failed delivery ("GitHub does not automatically redeliver failed deliveries"), and every
peer can only replay what it received -- an outage of the receiver loses events for good. GitHub keeps deliveries
for three days and redelivers them on request with the *same* ``X-GitHub-Delivery`` GUID, which the gateway uses
for de-duplication, so redelivering is safe to repeat.

What counts as missed: a GUID whose every attempt since ``since`` failed (4xx/5xx or no connection). A GUID with any
successful attempt -- including one from an earlier backfill -- is skipped, so a second run finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from kyma_connectors.hooks.errors import WebhookError
from kyma_connectors.hooks.github import GitHubHooks

RETENTION: Final[timedelta] = timedelta(days=3)
"""How far back GitHub keeps deliveries (handling-failed-webhook-deliveries)."""


@dataclass(frozen=True)
class Missed:
    """The newest failed attempt of a GUID that never got through."""

    delivery_id: int
    guid: str
    event: str
    action: str | None
    status_code: int
    delivered_at: str


@dataclass
class Plan:
    """What a backfill would do; ``scanned`` counts deliveries looked at."""

    hook_id: str
    since: datetime
    scanned: int = 0
    missed: list[Missed] = field(default_factory=list)
    recovered: int = 0
    """GUIDs that failed at first but got through on a later attempt."""


@dataclass
class Outcome:
    """Result of applying a plan."""

    redelivered: list[Missed] = field(default_factory=list)
    failed: list[tuple[Missed, str]] = field(default_factory=list)


def parse_time(text: str) -> datetime:
    """GitHub's ``2021-05-12T20:33:44Z`` timestamps as aware datetimes."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def is_success(delivery: dict[str, Any]) -> bool:
    """GitHub's own split (``status=success``): status codes 200-399 succeeded."""
    return 200 <= int(delivery.get("status_code") or 0) < 400


def plan(client: GitHubHooks, hook_id: str, since: datetime) -> Plan:
    """Scan deliveries newest first until older than ``since`` and list the GUIDs that never got through."""
    result = Plan(hook_id, since)
    return _collect(result, client.deliveries(hook_id))


def _collect(result: Plan, deliveries: Iterable[dict[str, Any]]) -> Plan:
    delivered: set[str] = set()
    failed: dict[str, dict[str, Any]] = {}
    for delivery in deliveries:
        if parse_time(str(delivery["delivered_at"])) < result.since:
            break  # newest first: everything after this is older
        result.scanned += 1
        guid = str(delivery["guid"])
        if is_success(delivery):
            delivered.add(guid)
        else:
            failed.setdefault(guid, delivery)  # the first seen is the newest attempt
    result.recovered = len(delivered & failed.keys())
    result.missed = [
        Missed(
            delivery_id=int(d["id"]),
            guid=guid,
            event=str(d.get("event")),
            action=d.get("action"),
            status_code=int(d.get("status_code") or 0),
            delivered_at=str(d["delivered_at"]),
        )
        for guid, d in reversed(failed.items())  # oldest first: redeliver in the order events happened
        if guid not in delivered
    ]
    return result


def apply(client: GitHubHooks, todo: Plan) -> Outcome:
    """Redeliver every missed delivery; one refusal does not stop the rest."""
    outcome = Outcome()
    for missed in todo.missed:
        try:
            client.redeliver(todo.hook_id, missed.delivery_id)
        except WebhookError as exc:
            outcome.failed.append((missed, str(exc)))
        else:
            outcome.redelivered.append(missed)
    return outcome
