"""Field-level difference between the webhook in state and the one the program asks for.

Pure data in, data out, so the rules are tested without Pulumi: identity fields (solution, api_url, target) mean a
*different* hook and force a replacement; everything else is patched in place. The old side is the state's outputs,
which ``read`` refreshed from the live hook -- so a hook edited by hand (events, URL, ``content_type`` switched to
``form``, TLS verification turned off) shows up here as a change and ``pulumi up`` repairs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from kyma_connectors.hooks.spec import IDENTITY, is_unknown

UPDATABLE: Final[tuple[str, ...]] = (
    "url",
    "events",
    "active",
    "secret",
    "token",
    "app_id",
    "installation_id",
    "private_key",
    "provider_version",
    "managed_events",
)
RECONCILED: Final[frozenset[str]] = frozenset({"events", "active"})
"""Fields the hook reconciler owns when ``managed_events`` is set (``events: subscribed``)."""
OWNED_CONFIG: Final[dict[str, str]] = {"content_type": "json", "insecure_ssl": "0"}
"""Hook settings we always set on GitHub; a different live value is drift to repair."""


@dataclass(frozen=True)
class Change:
    """One changed field: ``update`` in place or ``replace`` the hook."""

    field: str
    kind: Literal["update", "replace"]


def _normal(name: str, value: Any, solution: Any) -> Any:
    if is_unknown(value):
        return value
    if name == "api_url" and isinstance(value, str):
        return value.rstrip("/").lower()
    if name == "target" and isinstance(value, str) and solution == "github":
        return value.lower()  # GitHub owner, repo and org names are case-insensitive
    if name == "events" and isinstance(value, list | tuple):
        return sorted(str(v) for v in value)
    if name in ("app_id", "installation_id") and value not in (None, ""):
        return str(value)
    if name == "managed_events":
        return bool(value)  # absent in states written before the field existed: the same as False
    return None if value == "" else value


def changes(olds: dict[str, Any], news: dict[str, Any]) -> list[Change]:
    """Every field that differs; a not-yet-known new value counts as a change (preview cannot rule it out)."""
    found: list[Change] = []
    solution = news.get("solution", olds.get("solution"))
    managed = news.get("managed_events") is True
    for name in (*IDENTITY, *UPDATABLE):
        if managed and name in RECONCILED:
            continue  # the hook reconciler's to set: never a change, never reverted
        old, new = _normal(name, olds.get(name), solution), _normal(name, news.get(name), solution)
        if is_unknown(news.get(name)) or old != new:
            found.append(Change(name, "replace" if name in IDENTITY else "update"))
    if solution == "github":
        for name, wanted in OWNED_CONFIG.items():
            live = olds.get(name)
            if live is not None and str(live) != wanted:
                found.append(Change(name, "update"))
    return found
