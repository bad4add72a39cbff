"""GitHub's repository and organization hooks API, as the registrar needs it.

Operations and semantics follow GitHub's OpenAPI description (``repos/*-webhook*``, ``orgs/*-webhook*``;
../shared/github/rest-hooks-openapi.json). Errors become :mod:`webhooks.errors` types with messages that say what to
do -- notably that a 404 on org hooks usually means the token lacks ``admin:org_hook`` (knative eventing-contrib
#1019 shows how confusing the bare 404 is).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import requests

from kyma_connectors.hooks.errors import (
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
    WebhookError,
    redact,
)
from kyma_connectors.hooks.github_auth import bearer_token, github_headers
from kyma_connectors.hooks.spec import HookSpec
from kyma_connectors.hooks.transport import Clock, RetryPolicy, SystemClock, Transport, json_body

PER_PAGE: Final[int] = 100
NEXT_LINK: Final[re.Pattern[str]] = re.compile(r'<([^>]+)>;\s*rel="next"')


def next_link(answer: requests.Response) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (pagination of hooks and deliveries)."""
    found = NEXT_LINK.search(answer.headers.get("Link", ""))
    return found.group(1) if found else None


@dataclass
class GitHubHooks:
    """Hooks of one repository (``owner/repo``) or organization (``org:NAME``) under one API base."""

    transport: Transport
    target: str
    secrets: tuple[str | None, ...] = field(default=(), repr=False)

    @classmethod
    def for_spec(cls, spec: HookSpec, *, policy: RetryPolicy | None = None, clock: Clock | None = None) -> GitHubHooks:
        clock = clock or SystemClock()
        policy = policy or RetryPolicy()
        token = bearer_token(spec, policy=policy, clock=clock)
        transport = Transport(spec.api_url, github_headers(token), policy=policy, clock=clock)
        return cls(transport, spec.target, (*spec.secrets, token))

    @property
    def is_org(self) -> bool:
        return self.target.startswith("org:")

    @property
    def prefix(self) -> str:
        return f"/orgs/{self.target[4:]}/hooks" if self.is_org else f"/repos/{self.target}/hooks"

    # --- hooks -------------------------------------------------------------------------------------------------
    def list_hooks(self) -> list[dict[str, Any]]:
        """Every hook of the target, following ``Link: rel="next"`` (repos/list-webhooks, 100 per page)."""
        hooks: list[dict[str, Any]] = []
        url: str | None = self.prefix
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        while url:
            answer = self.transport.request("GET", url, params=params)
            hooks += self._expect(answer, 200, "list hooks")
            url, params = next_link(answer), None
        return hooks

    def find_by_url(self, url: str) -> list[dict[str, Any]]:
        """Hooks whose payload URL is ``url``, oldest first -- the ones we adopt instead of duplicating."""
        return sorted((h for h in self.list_hooks() if h.get("config", {}).get("url") == url), key=lambda h: h["id"])

    def get(self, hook_id: str) -> dict[str, Any] | None:
        """The live hook, or None when it is gone (a 404 while the target itself is still visible)."""
        answer = self.transport.request("GET", f"{self.prefix}/{hook_id}")
        if answer.status_code == 404:
            self.list_hooks()  # raises the scope/visibility explanation when the *target* is what we cannot see
            return None
        return dict(self._expect(answer, 200, f"get hook {hook_id}"))

    def create(self, spec: HookSpec) -> dict[str, Any]:
        """POST a new hook; a duplicate raises :class:`ValidationFailedError` with ``already_exists``."""
        body = {"name": "web", **self.body(spec, creating=True)}
        answer = self.transport.request("POST", self.prefix, json=body)
        return dict(self._expect(answer, 201, "create hook"))

    def update(self, hook_id: str, spec: HookSpec) -> dict[str, Any] | None:
        """PATCH the whole hook; returns None when it is gone. The secret is re-sent: GitHub drops it otherwise."""
        answer = self.transport.request("PATCH", f"{self.prefix}/{hook_id}", json=self.body(spec))
        if answer.status_code == 404:
            self.list_hooks()
            return None
        return dict(self._expect(answer, 200, f"update hook {hook_id}"))

    def patch_events(self, hook_id: str, events: list[str], *, active: bool) -> dict[str, Any]:
        """PATCH only ``events`` and ``active`` (the hook reconciler's change); ``config``, and so the secret, stay.

        GitHub replaces the secret only when a PATCH carries ``config`` (repos/update-webhook: "If you previously had
        a secret set, you must provide the same secret" -- in ``config``), so leaving it out keeps URL and secret.
        """
        answer = self.transport.request("PATCH", f"{self.prefix}/{hook_id}", json={"events": events,
                                                                                   "active": active})
        return dict(self._expect(answer, 200, f"update events of hook {hook_id}"))

    def delete(self, hook_id: str) -> bool:
        """DELETE the hook; False when it was already gone (404 is success for a delete).

        A 404 is only believed once the target's hook list is readable: a token that lost its scope also gets 404s,
        and calling that "deleted" would leave the hook behind on ``pulumi destroy``.
        """
        answer = self.transport.request("DELETE", f"{self.prefix}/{hook_id}")
        if answer.status_code == 404:
            self.list_hooks()
            return False
        self._expect(answer, 204, f"delete hook {hook_id}")
        return True

    def ping(self, hook_id: str) -> None:
        """POST .../pings: GitHub sends a ``ping`` event to the payload URL (repos/ping-webhook)."""
        self._expect(self.transport.request("POST", f"{self.prefix}/{hook_id}/pings"), 204, f"ping hook {hook_id}")

    @staticmethod
    def body(spec: HookSpec, *, creating: bool = False) -> dict[str, Any]:
        """Hook fields we own. ``content_type`` must be explicit: GitHub's default is ``form``.

        With ``managed_events`` the hook reconciler owns ``events`` and ``active``: they are sent on create only
        (GitHub needs at least one event; the hook starts inactive until a Subscription asks for something).
        """
        config = {"url": spec.url, "content_type": "json", "insecure_ssl": "0", "secret": spec.secret}
        if spec.managed_events and not creating:
            return {"config": config}
        return {"config": config, "events": list(spec.events), "active": spec.active}

    # --- deliveries --------------------------------------------------------------------------------------------
    def deliveries(
        self, hook_id: str, *, status: str | None = None, per_page: int = PER_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Deliveries newest first, page by page via the cursor in ``Link`` (repos/list-webhook-deliveries)."""
        url: str | None = f"{self.prefix}/{hook_id}/deliveries"
        params: dict[str, Any] | None = {"per_page": per_page, **({"status": status} if status else {})}
        while url:
            answer = self.transport.request("GET", url, params=params)
            yield from self._expect(answer, 200, f"list deliveries of hook {hook_id}")
            url, params = next_link(answer), None

    def redeliver(self, hook_id: str, delivery_id: int) -> None:
        """POST .../deliveries/{id}/attempts (202): GitHub re-sends it with the same ``X-GitHub-Delivery``."""
        answer = self.transport.request("POST", f"{self.prefix}/{hook_id}/deliveries/{delivery_id}/attempts")
        self._expect(answer, 202, f"redeliver delivery {delivery_id}")

    # --- errors ------------------------------------------------------------------------------------------------
    def _expect(self, answer: requests.Response, status: int, what: str) -> Any:
        if answer.status_code == status:
            return json_body(answer)
        raise self.error(answer, what)

    def error(self, answer: requests.Response, what: str) -> WebhookError:
        """Map a refusal to an error type with an actionable, secret-free message."""
        body = json_body(answer)
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        code = answer.status_code
        where = f"GitHub: {what} on {self.target}"
        if code == 401:
            text = f"{where}: 401 {message or 'Bad credentials'} -- the token is wrong, expired or revoked"
            return AuthenticationError(redact(text, self.secrets), status=code)
        if code == 404:
            hint = (
                "the organization does not exist, or -- most often -- the token lacks the admin:org_hook scope or "
                "org-owner rights (GitHub answers 404 rather than revealing what a token may not see)"
                if self.is_org
                else "the repository does not exist or the token cannot administer it: it needs the repo or "
                "admin:repo_hook scope (fine-grained: Webhooks read/write) and admin access"
            )
            return NotFoundError(redact(f"{where}: 404 Not Found -- {hint}", self.secrets), status=code)
        if code == 403:
            text = f"{where}: 403 {message} -- the token is valid but lacks permission to manage webhooks here"
            return ForbiddenError(redact(text, self.secrets), status=code)
        if code == 422 or code == 400:
            details = [
                redact(str(e.get("message") or f"{e.get('field', '?')}: {e.get('code', '?')}"), self.secrets)
                for e in (body.get("errors") or [] if isinstance(body, dict) else [])
                if isinstance(e, dict)
            ]
            text = f"{where}: {code} {message}" + (f": {'; '.join(details)}" if details else "")
            return ValidationFailedError(redact(text, self.secrets), status=code, details=details)
        return WebhookError(redact(f"{where}: unexpected HTTP {code} {message}", self.secrets), status=code)
