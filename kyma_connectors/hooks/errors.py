"""Error types of the webhook registrar: one base, one subclass per way a solution's API can say no.

Why our own hierarchy: the HTTP library is an implementation detail, and Pulumi shows an exception's message to the
person running ``pulumi up``. Each type therefore carries an *actionable* message (what to check, which scope is
missing) and also inherits the closest stdlib type, so callers can catch either. Messages are built from status
codes and the API's own ``message`` fields, truncated, and passed through :func:`redact`: no token, private key or
webhook secret ever reaches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from kyma_connectors.core.problems import Problem, ProblemsMixin, report

BODY_EXCERPT: Final[int] = 300
"""Characters of an upstream message we quote: enough for GitHub's validation details, short enough for a log line."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every known secret value in ``text`` with ``***`` (defence in depth; messages are built without them)."""
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text[: BODY_EXCERPT * 2]


class WebhookError(Exception):
    """Base of every registrar error; ``status`` is the HTTP status when an API answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InvalidSpecError(ProblemsMixin, WebhookError, ValueError):
    """The resource's inputs are unusable; ``problems`` names every bad input (its name as the path), all at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(report("the WebhookRegistration's inputs", self.problems))


class AuthenticationError(WebhookError, PermissionError):
    """401: the credentials were rejected (wrong, expired or revoked token; wrong App key or installation)."""


class ForbiddenError(WebhookError, PermissionError):
    """403 that is not a rate limit: the credentials are valid but lack a permission."""


class NotFoundError(WebhookError, LookupError):
    """404: the target is missing -- or hidden, which is how GitHub answers a token that lacks a scope."""


class ValidationFailedError(WebhookError, ValueError):
    """422 (GitHub) / 400 (Qualtrics): the API refused the request body; ``details`` are its error entries."""

    def __init__(self, message: str, *, status: int, details: list[str]) -> None:
        super().__init__(message, status=status)
        self.details = details

    @property
    def already_exists(self) -> bool:
        """GitHub's duplicate-hook answer: 422 "Hook already exists on this repository/organization"."""
        return any("already exists" in d.lower() for d in self.details)


class RateLimitedError(WebhookError):
    """The rate limit did not reset within the wait we allow; ``reset_at`` is the epoch second it will."""

    def __init__(self, message: str, *, status: int, reset_at: float | None) -> None:
        super().__init__(message, status=status)
        self.reset_at = reset_at


class ServerError(WebhookError):
    """5xx answers that persisted through every retry."""


class TransportError(WebhookError, ConnectionError):
    """No answer at all (connection refused, DNS, timeout) after every retry."""
