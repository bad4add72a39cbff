"""Which GitHub webhook events a repository or organization hook can subscribe to.

The per-event payload schemas say what GitHub sends, not who may subscribe; that fact lives in GitHub's webhooks
OpenAPI description, ``x-github.supported-webhook-types`` of each ``webhooks.<event-action>.post`` entry
(github/rest-api-description, read as published in the npm package ``@octokit/openapi-webhooks`` 12.1.0,
``generated/api.github.com.json``). The values there are ``repository``, ``organization``, ``app``, ``business``,
``marketplace`` and ``sponsors_listing``; this project registers repository and organization hooks only, so:

- an event listing neither ``repository`` nor ``organization`` is **not subscribable** here (GitHub Apps,
  Marketplace listings and sponsored accounts receive it); it stays in the catalog and mapped, because a user may
  point a GitHub App's webhook at the gateway;
- an event listing ``organization`` but not ``repository`` can only be put on an organization hook;
- ``ping`` and ``meta`` are about the hook itself (sent when it is created / deleted): never subscribed to.

Events missing from these tables are subscribable by both kinds of hook, which is what the description says for
every other event the schemas hold (checked against ``@octokit/openapi-webhooks`` 12.1.0 when these tables were
written: every repository- and organization-hook event of the generated catalog is listed there for that kind).
When the schemas gain an event, look its ``supported-webhook-types`` up and add it here if it is not for both.
"""

from __future__ import annotations

from typing import Final

HOOK_KINDS: Final[tuple[str, ...]] = ("repository", "organization")
"""The kinds of hook this project registers (``owner/repo`` and ``org:NAME`` targets)."""

ABOUT_THE_HOOK: Final[dict[str, str]] = {
    "ping": "sent once when a hook is created (and on POST .../pings); not subscribable",
    "meta": "sent when the hook itself is deleted; not subscribable",
}

NOT_FOR_HOOKS: Final[dict[str, str]] = {
    "deployment_protection_rule": "app",
    "deployment_review": "app",
    "github_app_authorization": "app",
    "installation": "app",
    "installation_repositories": "app",
    "installation_target": "app",
    "marketplace_purchase": "marketplace",
    "merge_group": "app",
    "repository_dispatch": "app",
    "security_advisory": "app",
    "sponsorship": "sponsors_listing",
    "workflow_dispatch": "app",
}
"""Event -> who receives it instead (``supported-webhook-types`` without repository and organization)."""

ORGANIZATION_ONLY: Final[frozenset[str]] = frozenset({
    "custom_property",
    "membership",
    "org_block",
    "organization",
    "projects_v2_item",
    "team",
})
"""Events whose ``supported-webhook-types`` include ``organization`` but not ``repository``."""


def hook_kinds(event: str) -> tuple[str, ...]:
    """The hook kinds that can subscribe to ``event`` (empty: none, the event is not subscribable)."""
    if event in ABOUT_THE_HOOK or event in NOT_FOR_HOOKS:
        return ()
    if event in ORGANIZATION_ONLY:
        return ("organization",)
    return HOOK_KINDS


def receivers(event: str) -> str:
    """A short phrase for the summary of an event hooks cannot subscribe to."""
    if event in ABOUT_THE_HOOK:
        return ABOUT_THE_HOOK[event]
    kind = NOT_FOR_HOOKS.get(event)
    return {
        "app": "delivered to GitHub Apps only",
        "marketplace": "delivered to GitHub Marketplace listings only",
        "sponsors_listing": "delivered to GitHub Sponsors listings only",
    }.get(kind or "", "")
