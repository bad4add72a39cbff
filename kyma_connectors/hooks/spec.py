"""The desired webhook, as a typed value, and the checks that turn resource inputs into one.

Why separate from the clients: Pulumi's ``check`` must report *every* bad input before anything talks to an API,
and unknown values (an ``Output`` not yet resolved during preview) must be skipped rather than rejected. The same
checks run in the component's constructor for plain values, so a typo fails before the engine even starts.
Reasons never quote secret values.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from kyma_connectors.core.problems import Problem
from kyma_connectors.hooks.errors import InvalidSpecError

SOLUTIONS: Final[tuple[str, ...]] = ("github", "qualtrics")
IDENTITY: Final[tuple[str, ...]] = ("solution", "api_url", "target")
"""Inputs that name *which* hook this is; changing one means a different hook (replace), never an in-place edit."""
SECRET_FIELDS: Final[tuple[str, ...]] = ("secret", "token", "private_key")
REPO_TARGET: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*)/[A-Za-z0-9._-]+$")
ORG_TARGET: Final[re.Pattern[str]] = re.compile(r"^org:[A-Za-z0-9](?:[A-Za-z0-9-]*)$")
UNKNOWN: Final[str] = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The value Pulumi puts in place of a not-yet-known input during preview (``pulumi.runtime.rpc.UNKNOWN``)."""


@dataclass(frozen=True, kw_only=True, repr=False)
class HookSpec:
    """A validated ``WebhookRegistration``: what the webhook on the solution's side must look like."""

    solution: str
    api_url: str
    target: str
    url: str
    events: tuple[str, ...]
    secret: str
    active: bool = True
    managed_events: bool = False
    """``events: subscribed``: the hook reconciler owns ``events`` and ``active``; updates leave them alone."""
    token: str | None = None
    app_id: str | None = None
    installation_id: str | None = None
    private_key: str | None = field(default=None)

    def __repr__(self) -> str:
        return (
            f"HookSpec(solution={self.solution!r}, api_url={self.api_url!r}, target={self.target!r}, "
            f"url={self.url!r}, events={list(self.events)!r}, active={self.active!r}, secret=***)"
        )

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return self.secret, self.token, self.private_key


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == UNKNOWN


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_problem(value: Any, *, https_only: bool) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty URL string"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an absolute http(s) URL, got {value[:80]!r}"
    if https_only and parts.scheme != "https" and not _is_loopback(parts.hostname):
        return "must use https (plain http is accepted for loopback test servers only)"
    if parts.query or parts.fragment:
        return "must not carry a query or fragment"
    return None


def problems(props: dict[str, Any]) -> list[Problem]:
    """Every problem with the inputs, each at its input name; unknown (preview) values are not judged."""
    found: list[Problem] = []

    def known(name: str) -> bool:
        return name in props and not is_unknown(props[name])

    solution = props.get("solution")
    if known("solution") and solution not in SOLUTIONS:
        found.append(Problem("solution", f"must be one of {', '.join(SOLUTIONS)}, got {solution!r}"))
    if known("api_url"):
        reason = _url_problem(props["api_url"], https_only=True)
        if reason:
            found.append(Problem("api_url", reason))
        elif solution == "qualtrics" and not str(props["api_url"]).rstrip("/").endswith("/API/v3"):
            found.append(Problem("api_url", "a Qualtrics API base ends in /API/v3 (https://DATACENTER.qualtrics.com/API/v3)"))
    if known("url"):
        reason = _url_problem(props["url"], https_only=False)
        if reason:
            found.append(Problem("url", reason))
    found += _target_problems(props, solution) if known("target") else []
    found += _event_problems(props.get("events")) if known("events") else []
    if known("secret") and (not isinstance(props["secret"], str) or not props["secret"]):
        found.append(
            Problem("secret", "must be a non-empty string: unsigned deliveries cannot be verified by the gateway"))
    if known("active") and not isinstance(props["active"], bool):
        found.append(Problem("active", "must be a boolean"))
    if known("managed_events") and not isinstance(props["managed_events"], bool):
        found.append(Problem("managed_events", "must be a boolean"))
    if solution == "qualtrics" and props.get("active") is False and not props.get("managed_events"):
        found.append(Problem("active", "Qualtrics subscriptions cannot be paused; remove the events or the connector"))
    found += _credential_problems(props, solution)
    return found


def _target_problems(props: dict[str, Any], solution: Any) -> list[Problem]:
    target = props["target"]
    if solution == "qualtrics":
        brand_wide = Problem("target", "must be empty for Qualtrics (subscriptions are brand-wide)")
        return [] if target in ("", None) else [brand_wide]
    if not isinstance(target, str) or not (REPO_TARGET.match(target) or ORG_TARGET.match(target)):
        return [Problem("target", f"must be 'owner/repo' or 'org:NAME', got {str(target)[:80]!r}")]
    return []


def _event_problems(events: Any) -> list[Problem]:
    if not isinstance(events, list | tuple) or not events:
        return [Problem("events", "must be a non-empty list of event names")]
    if any(is_unknown(e) for e in events):
        return []
    bad = [e for e in events if not isinstance(e, str) or not e.strip()]
    if bad:
        return [Problem("events", f"every event must be a non-empty string, got {bad[:3]!r}")]
    dupes = sorted({e for e in events if list(events).count(e) > 1})
    return [Problem("events", f"duplicate events: {', '.join(dupes)}")] if dupes else []


def _credential_problems(props: dict[str, Any], solution: Any) -> list[Problem]:
    def given(name: str) -> bool:
        return props.get(name) not in (None, "")

    app = [name for name in ("app_id", "installation_id", "private_key") if given(name)]
    if solution == "qualtrics":
        found = [] if given("token") else [Problem("token", "a Qualtrics API token is required")]
        return found + [Problem(name, "GitHub App credentials do not apply to Qualtrics") for name in app]
    if solution != "github":
        return []
    if given("token") and app:
        either = "give either token or GitHub App credentials (app_id, installation_id, private_key), not both"
        return [Problem("token", either)]
    if not given("token") and len(app) != 3:
        missing = [n for n in ("app_id", "installation_id", "private_key") if n not in app]
        if not app:
            return [Problem("token", "give a token, or GitHub App credentials (app_id, installation_id, private_key)")]
        return [Problem(name, "required with the other GitHub App credentials") for name in missing]
    return []


def parse(props: dict[str, Any]) -> HookSpec:
    """A :class:`HookSpec` from resolved inputs; raises :class:`InvalidSpecError` with every problem."""
    found = problems(props)
    unresolved = [name for name in ("solution", "api_url", "target", "url", "events", "secret") if name not in props]
    required = [name for name in unresolved if name != "target" or props.get("solution") == "github"]
    found += [Problem(name, "is required") for name in required]
    unknown = [name for name, value in props.items() if is_unknown(value)]
    found += [Problem(name, "is not known yet") for name in unknown]
    if found:
        raise InvalidSpecError(found)
    return HookSpec(
        solution=props["solution"],
        api_url=str(props["api_url"]).rstrip("/"),
        target=props.get("target") or "",
        url=props["url"],
        events=tuple(props["events"]),
        secret=props["secret"],
        active=bool(props.get("active", True)),
        managed_events=bool(props.get("managed_events", False)),
        token=props.get("token") or None,
        app_id=_text(props.get("app_id")),
        installation_id=_text(props.get("installation_id")),
        private_key=props.get("private_key") or None,
    )


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
