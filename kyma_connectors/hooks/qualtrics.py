"""Qualtrics event subscriptions (``/API/v3/eventsubscriptions``), as the registrar needs them.

Facts (../shared/docs/github-qualtrics.md section 5; less authoritative than GitHub's, taken from Kyma's 2019
connector-tools client and the public reference mirror): ``X-API-TOKEN`` auth; create answers 200 with
``result.id``; list answers ``result.elements`` + ``result.nextPage``; delete answers 200; there is no update call
and the shared key cannot be read back, so changing a subscription means delete + create. The caller must be a
brand administrator, which is what a 403 almost always means.
"""

from __future__ import annotations

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
from kyma_connectors.hooks.spec import HookSpec
from kyma_connectors.hooks.transport import USER_AGENT, Clock, RetryPolicy, SystemClock, Transport, json_body

COLLECTION: Final[str] = "/eventsubscriptions/"


@dataclass
class QualtricsSubscriptions:
    """The brand's event subscriptions under one data-centre API base (``https://DC.qualtrics.com/API/v3``)."""

    transport: Transport
    secrets: tuple[str | None, ...] = field(default=(), repr=False)

    @classmethod
    def for_spec(
        cls, spec: HookSpec, *, policy: RetryPolicy | None = None, clock: Clock | None = None
    ) -> QualtricsSubscriptions:
        headers = {
            "X-API-TOKEN": spec.token or "",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        transport = Transport(spec.api_url, headers, policy=policy or RetryPolicy(), clock=clock or SystemClock())
        return cls(transport, spec.secrets)

    def subscriptions(self) -> list[dict[str, Any]]:
        """Every subscription of the brand, following ``result.nextPage``."""
        found: list[dict[str, Any]] = []
        url: str | None = COLLECTION
        while url:
            body = self._expect(self.transport.request("GET", url), "list subscriptions")
            result = body.get("result") or {}
            found += [e for e in result.get("elements") or [] if isinstance(e, dict)]
            url = result.get("nextPage") or None
        return found

    def find_by_url(self, url: str) -> list[dict[str, Any]]:
        return [s for s in self.subscriptions() if s.get("publicationUrl") == url]

    def create(self, topic: str, url: str, shared_key: str) -> str:
        """Subscribe ``url`` to ``topic``; returns the subscription id (``SUB_...``)."""
        body = {"topics": topic, "publicationUrl": url, "encrypt": False, "sharedKey": shared_key}
        answer = self.transport.request("POST", COLLECTION, json=body)
        result = self._expect(answer, f"subscribe {topic}").get("result") or {}
        if not isinstance(result.get("id"), str):
            raise WebhookError(f"Qualtrics: subscribe {topic}: answer lacks result.id", status=answer.status_code)
        return str(result["id"])

    def delete(self, subscription_id: str) -> bool:
        """Delete one subscription; False when it was already gone."""
        answer = self.transport.request("DELETE", f"{COLLECTION}{subscription_id}")
        if answer.status_code == 404:
            return False
        self._expect(answer, f"delete subscription {subscription_id}")
        return True

    def _expect(self, answer: requests.Response, what: str) -> dict[str, Any]:
        body = json_body(answer)
        if answer.status_code in (200, 201) and isinstance(body, dict):
            return body
        meta = body.get("meta", {}) if isinstance(body, dict) else {}
        error = meta.get("error", {}) if isinstance(meta, dict) else {}
        message = str(error.get("errorMessage", "")) if isinstance(error, dict) else ""
        code = answer.status_code
        where = f"Qualtrics: {what}"
        if code == 401:
            raise AuthenticationError(
                redact(f"{where}: 401 {message} -- the API token is wrong or revoked", self.secrets), status=code
            )
        if code == 403:
            raise ForbiddenError(
                redact(
                    f"{where}: 403 {message} -- event subscriptions need a brand administrator's token", self.secrets
                ),
                status=code,
            )
        if code == 404:
            raise NotFoundError(
                redact(f"{where}: 404 {message} -- check api_url's data centre", self.secrets), status=code
            )
        if code == 400:
            raise ValidationFailedError(
                redact(f"{where}: 400 {message}", self.secrets), status=code, details=[redact(message, self.secrets)]
            )
        raise WebhookError(redact(f"{where}: unexpected HTTP {code} {message}", self.secrets), status=code)
