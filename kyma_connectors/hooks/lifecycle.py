"""Create, read, update and delete *the* webhook of a connector -- the semantics the provider promises.

The rules, and why:

* **Adopt, never duplicate.** Before creating, look for hooks with our payload URL and take the oldest over
  (PATCHing it to the spec); extra hooks with the same URL are deleted, because they would deliver every event twice
  (argo-events PR #4129 found 78 identical hooks). A 422 "Hook already exists" on create means someone raced us:
  adopt as well.
* **Own every field.** ``content_type`` json, ``insecure_ssl`` "0", events, active and the secret are sent on every
  create and update; GitHub drops the secret from a PATCH that omits it.
* **Repair, do not fail.** An update whose hook was deleted by hand creates it again.
* **Report health.** After create/update we ping and record the ping delivery's outcome (``ping_status``,
  ``last_response``); a failing ping never fails the deployment, since the gateway may simply not be up yet.
* **Qualtrics** has no update and hides the shared key, so "adopt" there means replacing subscriptions that point at
  our URL, one subscription per topic; ``hook_id`` lists their ids.

Every function returns the *observed* fields (``hook_id``, ``url``, ``events``, ``active``, ``content_type``,
``insecure_ssl``, ``ping_status``, ``last_response``); the provider merges them into Pulumi state.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Final

from kyma_connectors.hooks.errors import ValidationFailedError, WebhookError
from kyma_connectors.hooks.github import GitHubHooks
from kyma_connectors.hooks.qualtrics import QualtricsSubscriptions
from kyma_connectors.hooks.spec import HookSpec
from kyma_connectors.hooks.transport import Clock, RetryPolicy, SystemClock

Observed = dict[str, Any]
UNUSED: Final[dict[str, Any]] = {"code": None, "status": "unused", "message": None}
MANAGED_ID: Final[str] = "subscribed"
"""Qualtrics ``hook_id`` while the reconciler has created no subscription yet (a resource id cannot be empty)."""


@dataclass(frozen=True)
class Context:
    """Retry policy and clock for one provider operation (tests inject a fake clock)."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)


def create(spec: HookSpec, ctx: Context | None = None) -> Observed:
    ctx = ctx or Context()
    if spec.solution == "qualtrics" and spec.managed_events:
        return _qualtrics_managed(spec, _qualtrics(spec, ctx))
    if spec.solution == "qualtrics":
        return _qualtrics_replace(spec, _qualtrics(spec, ctx), owned=(), reuse=False)
    client = _github(spec, ctx)
    return _github_observe(client, _github_adopt_or_create(client, spec), ctx, ping=True)


def read(hook_id: str, spec: HookSpec, ctx: Context | None = None) -> Observed | None:
    """The live webhook, or None when it no longer exists (then ``pulumi refresh`` drops it from state)."""
    ctx = ctx or Context()
    if spec.solution == "qualtrics" and spec.managed_events:
        observed = _qualtrics_managed(spec, _qualtrics(spec, ctx))
        return {key: observed[key] for key in ("hook_id", "url", "events")}
    if spec.solution == "qualtrics":
        wanted = [i for i in hook_id.split(",") if i]
        present = [s for s in _qualtrics(spec, ctx).subscriptions() if s.get("id") in wanted]
        if not present:
            return None
        return {
            "hook_id": ",".join(str(s["id"]) for s in present),
            "url": present[0].get("publicationUrl"),
            "events": [str(s.get("topics")) for s in present],
        }
    client = _github(spec, ctx)
    hook = client.get(hook_id)
    return None if hook is None else _github_fields(hook)


def update(hook_id: str, spec: HookSpec, ctx: Context | None = None, *, rotate: bool = False,
           previous_url: str | None = None) -> Observed:
    """Bring the webhook to ``spec``. ``rotate`` (Qualtrics): secret or URL changed, so recreate everything.

    Qualtrics with ``managed_events``: on a rotation the subscriptions at the old URL (``previous_url``) and at the
    new one are deleted; the reconciler, rolled by the same ``up``, creates them again with the new shared key.
    """
    ctx = ctx or Context()
    if spec.solution == "qualtrics" and spec.managed_events:
        brand = _qualtrics(spec, ctx)
        if rotate:
            for sub in brand.subscriptions():
                if sub.get("publicationUrl") in {spec.url, previous_url or spec.url}:
                    brand.delete(str(sub["id"]))
        return _qualtrics_managed(spec, brand)
    if spec.solution == "qualtrics":
        return _qualtrics_replace(spec, _qualtrics(spec, ctx), owned=tuple(hook_id.split(",")), reuse=not rotate)
    client = _github(spec, ctx)
    hook = client.update(hook_id, spec)
    if hook is None:  # deleted by hand since the last refresh: repair
        hook = _github_adopt_or_create(client, spec)
    return _github_observe(client, hook, ctx, ping=True)


def delete(hook_id: str, spec: HookSpec, ctx: Context | None = None) -> None:
    """Remove the webhook; one that is already gone counts as removed."""
    ctx = ctx or Context()
    if spec.solution == "qualtrics":
        client = _qualtrics(spec, ctx)
        # Managed: the reconciler made them, so every subscription at our URL is ours to remove.
        owned = [str(s["id"]) for s in client.find_by_url(spec.url)] if spec.managed_events else []
        for sub_id in dict.fromkeys([*filter(None, hook_id.split(",")), *owned]):
            client.delete(sub_id)
        return
    _github(spec, ctx).delete(hook_id)


# --- GitHub --------------------------------------------------------------------------------------------------------
def _github(spec: HookSpec, ctx: Context) -> GitHubHooks:
    return GitHubHooks.for_spec(spec, policy=ctx.policy, clock=ctx.clock)


def _github_adopt_or_create(client: GitHubHooks, spec: HookSpec) -> dict[str, Any]:
    existing = client.find_by_url(spec.url)
    if not existing:
        try:
            return client.create(spec)
        except ValidationFailedError as exc:
            if not exc.already_exists:
                raise
            existing = client.find_by_url(spec.url)
            if not existing:
                raise
    keep, extras = existing[0], existing[1:]
    for extra in extras:
        client.delete(str(extra["id"]))
    adopted = client.update(str(keep["id"]), spec)
    if adopted is None:
        raise WebhookError(f"GitHub: hook {keep['id']} vanished while being adopted; run the operation again")
    return adopted


def _github_fields(hook: dict[str, Any]) -> Observed:
    config = hook.get("config") or {}
    observed: Observed = {
        "hook_id": str(hook["id"]),
        "url": config.get("url"),
        "events": list(hook.get("events") or []),
        "active": bool(hook.get("active")),
        "content_type": config.get("content_type", "form"),
        "insecure_ssl": str(config.get("insecure_ssl", "0")),
    }
    if isinstance(hook.get("last_response"), dict):
        observed["last_response"] = dict(hook["last_response"])
    return observed


def _github_observe(client: GitHubHooks, hook: dict[str, Any], ctx: Context, *, ping: bool) -> Observed:
    observed = _github_fields(hook)
    observed.setdefault("last_response", dict(UNUSED))
    if ping and not observed["active"]:
        observed["ping_status"] = "inactive"  # GitHub delivers nothing for an inactive hook, pings included
    elif ping:
        status, last_response = _ping(client, observed["hook_id"], ctx)
        observed["ping_status"] = status
        observed["last_response"] = last_response
    return observed


def _ping(client: GitHubHooks, hook_id: str, ctx: Context) -> tuple[str, dict[str, Any]]:
    """Ping and find the ping's delivery; ``("ok"|"failed"|"pending"|"error", last_response)``."""
    try:
        newest = next(iter(client.deliveries(hook_id, per_page=1)), None)
        before = int(newest["id"]) if newest else 0
        client.ping(hook_id)
        for attempt in range(ctx.policy.ping_polls):
            if attempt:
                ctx.clock.sleep(ctx.policy.backoff)
            recent = itertools.islice(client.deliveries(hook_id, per_page=10), 10)
            delivery = next((d for d in recent if d.get("event") == "ping" and int(d["id"]) > before), None)
            if delivery is not None:
                return _ping_result(client, hook_id, delivery)
    except WebhookError as exc:
        return "error", {"code": exc.status, "status": "error", "message": str(exc)[:300]}
    return "pending", {"code": None, "status": "pending", "message": "ping sent; no delivery recorded yet"}


def _ping_result(client: GitHubHooks, hook_id: str, delivery: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    code = int(delivery.get("status_code") or 0)
    ok = 200 <= code < 300
    last_response = {"code": code, "status": "active" if ok else "failed", "message": delivery.get("status")}
    if not client.is_org:  # repository hooks carry last_response: report it as GitHub does
        hook = client.get(hook_id)
        if hook and isinstance(hook.get("last_response"), dict):
            last_response = dict(hook["last_response"])
    return ("ok" if ok else "failed"), last_response


# --- Qualtrics -----------------------------------------------------------------------------------------------------
def _qualtrics(spec: HookSpec, ctx: Context) -> QualtricsSubscriptions:
    return QualtricsSubscriptions.for_spec(spec, policy=ctx.policy, clock=ctx.clock)


def _qualtrics_managed(spec: HookSpec, client: QualtricsSubscriptions) -> Observed:
    """The reconciler's subscriptions at our URL, observed, never changed (``events: subscribed``)."""
    present = client.find_by_url(spec.url)
    return {
        "hook_id": ",".join(str(s["id"]) for s in present) or MANAGED_ID,
        "url": spec.url,
        "events": [str(s.get("topics")) for s in present],
        "active": bool(present),
        "content_type": "form",
        "insecure_ssl": "0",
        "ping_status": "unsupported",
        "last_response": {"code": None, "status": "unsupported", "message": "Qualtrics has no ping operation"},
    }


def _qualtrics_replace(
    spec: HookSpec, client: QualtricsSubscriptions, *, owned: tuple[str, ...], reuse: bool
) -> Observed:
    """One subscription per topic at ``spec.url``.

    ``owned`` are the ids in state (ours, wherever they point); with ``reuse`` those still matching a wanted topic and
    the URL are kept, since their shared key is ours. Everything else at our URL or in ``owned`` is deleted.
    """
    current = [s for s in client.subscriptions() if s.get("publicationUrl") == spec.url or s.get("id") in owned]
    kept: dict[str, str] = {}
    for sub in current:
        topic, sub_id = str(sub.get("topics")), str(sub.get("id"))
        if (
            reuse
            and sub_id in owned
            and topic in spec.events
            and topic not in kept
            and sub.get("publicationUrl") == spec.url
        ):
            kept[topic] = sub_id
        else:
            client.delete(sub_id)  # foreign key, stale topic or old URL: cannot be patched, so it goes
    created: list[str] = []
    try:
        for topic in spec.events:
            if topic not in kept:
                kept[topic] = client.create(topic, spec.url, spec.secret)
                created.append(kept[topic])
    except WebhookError:
        for sub_id in created:  # a create must be all-or-nothing, or state would miss what we made
            client.delete(sub_id)
        raise
    return {
        "hook_id": ",".join(kept[t] for t in spec.events),
        "url": spec.url,
        "events": list(spec.events),
        "active": True,
        "content_type": "form",
        "insecure_ssl": "0",
        "ping_status": "unsupported",
        "last_response": {"code": None, "status": "unsupported", "message": "Qualtrics has no ping operation"},
    }
