"""Bring the hook on the solution's side to the wanted events, reading it fresh every time (the single state).

GitHub: the hook with our payload URL (the oldest, as the provider adopts) gets ``PATCH {events, active}`` and
nothing else -- ``config`` (URL, secret, TLS) stays Pulumi's, so a secret rotation is never undone here. GitHub
needs at least one event, so "no one listens" is ``active: false`` with the events left as they are. Qualtrics has
one subscription per topic and no update: missing topics are created with the shared key, others deleted.

No hook yet (Pulumi creates it after the gateway, and re-creates it on a replace) is not an error: the reconciler
says so and looks again within seconds. Every call goes through the hook library's transport (timeouts, 5xx
backoff, rate-limit waits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kyma_connectors.core.catalog import Catalog
from kyma_connectors.hooks.github import GitHubHooks
from kyma_connectors.hooks.qualtrics import QualtricsSubscriptions
from kyma_connectors.hooks.spec import HookSpec
from kyma_connectors.hooks.transport import Clock, RetryPolicy
from kyma_connectors.reconciler.settings import Credentials, Settings


@dataclass(frozen=True, kw_only=True)
class Applied:
    """What one target's reconcile did."""

    target: str
    changed: bool
    detail: str
    calls: int = 0
    """Write calls made (PATCH / create / delete)."""
    waiting: bool = False
    """The hook does not exist (yet): Pulumi creates it, or re-creates it on a replace; look again soon."""


def apply(settings: Settings, credentials: Credentials, native_events: Sequence[str], catalog: Catalog, *,
          policy: RetryPolicy, clock: Clock) -> list[Applied]:
    """Reconcile every target to ``native_events``; raises the hook library's ``WebhookError`` types on failure.

    Each hook gets what its kind can subscribe to (``Catalog.subscriptions``), as the program gives it at creation:
    organization-only events go on the ``org:`` hook only, Qualtrics topics become their subscription form.
    """
    wanted = list(native_events)
    if settings.solution == "qualtrics":
        return [_qualtrics(settings, credentials, catalog.subscriptions(wanted), policy, clock)]
    return [_github(settings, credentials, target, catalog.subscriptions(wanted, hook_kind(target)), policy, clock)
            for target in settings.targets]


def hook_kind(target: str) -> str:
    """The catalog's name for a GitHub target's kind of hook (as components/connector.py ``hook_kind`` has it)."""
    return "organization" if target.startswith("org:") else "repository"


def _spec(settings: Settings, credentials: Credentials, target: str) -> HookSpec:
    """A spec that only carries identity and credentials: the clients build their auth from it."""
    return HookSpec(solution=settings.solution, api_url=settings.api_url, target=target, url=settings.webhook_url,
                    events=(), secret=credentials.webhook_secret or "", token=credentials.token,
                    app_id=credentials.app_id, installation_id=credentials.installation_id,
                    private_key=credentials.private_key)


def _github(settings: Settings, credentials: Credentials, target: str, events: Sequence[str], policy: RetryPolicy,
            clock: Clock) -> Applied:
    client = GitHubHooks.for_spec(_spec(settings, credentials, target), policy=policy, clock=clock)
    found = client.find_by_url(settings.webhook_url)
    if not found:
        return Applied(target=target, changed=False, waiting=True,
                       detail="no hook with the gateway's payload URL yet")
    hook = found[0]
    live_events, live_active = sorted(str(e) for e in hook.get("events") or []), bool(hook.get("active"))
    wanted = sorted(set(events))
    if wanted:
        if set(live_events) == set(wanted) and live_active:
            return Applied(target=target, changed=False, detail=f"hook {hook['id']} already has {', '.join(wanted)}")
        client.patch_events(str(hook["id"]), wanted, active=True)
        return Applied(target=target, changed=True, calls=1,
                       detail=f"hook {hook['id']}: events {', '.join(wanted)}, active")
    if not live_active:
        return Applied(target=target, changed=False, detail=f"hook {hook['id']} already inactive")
    client.patch_events(str(hook["id"]), live_events or ["push"], active=False)
    return Applied(target=target, changed=True, calls=1, detail=f"hook {hook['id']}: inactive (no Subscription)")


def _qualtrics(settings: Settings, credentials: Credentials, events: Sequence[str], policy: RetryPolicy,
               clock: Clock) -> Applied:
    client = QualtricsSubscriptions.for_spec(_spec(settings, credentials, ""), policy=policy, clock=clock)
    wanted = set(events)
    kept: set[str] = set()
    deleted: list[str] = []
    for sub in client.find_by_url(settings.webhook_url):
        topic = str(sub.get("topics"))
        if topic in wanted and topic not in kept:
            kept.add(topic)
            continue
        client.delete(str(sub["id"]))  # a topic no one wants, or a duplicate (it would deliver twice)
        deleted.append(topic)
    created = sorted(wanted - kept)
    for topic in created:
        client.create(topic, settings.webhook_url, credentials.webhook_secret or "")
    if not created and not deleted:
        shown = ", ".join(sorted(wanted)) or "no topics"
        return Applied(target="brand", changed=False, detail=f"subscriptions already match: {shown}")
    parts = ([f"created {', '.join(created)}"] if created else []) + ([f"deleted {', '.join(deleted)}"]
                                                                       if deleted else [])
    return Applied(target="brand", changed=True, calls=len(created) + len(deleted), detail="; ".join(parts))
