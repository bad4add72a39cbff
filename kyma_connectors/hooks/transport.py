"""The hook APIs' HTTP: the core client (:mod:`kyma_connectors.core.http`) with GitHub's rate-limit rules.

Why this module still exists: retrying is the core's job, but what a throttle looks like is the API's. GitHub and
Qualtrics throttle with 403/429 and ``retry-after`` / ``x-ratelimit-reset``; peers burn their quota on blind
reconciles (argo-events #1929) or give up on the first 502. :class:`GitHubRateLimits` reads those signals as
*binding* waits (docs.github.com "Rate limits for the REST API": retrying before the reset keeps failing and may get
the integration banned), so the core waits exactly as long as the API asks, or fails at once with the reset time.
Everything else -- bounded attempts and time, exponential backoff with jitter, repeating after a 5xx or a lost answer
only what is idempotent -- is the core's policy. A POST (create a hook, subscribe, ping, redeliver, exchange a token)
is therefore sent once when its fate is unknown: repeating it could leave a duplicate Qualtrics subscription or
GitHub hook behind, and the next operation lists what exists before creating.

The core's errors are translated here into the :class:`~kyma_connectors.hooks.errors.WebhookError` family, so users
of this package see one hierarchy. Time is injected (:class:`Clock`) so tests exercise hour-long resets in
microseconds.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from kyma_connectors.core import errors as core_errors
from kyma_connectors.core import http
from kyma_connectors.core.http import Clock, Throttle, WallClock, json_body, retry_after_seconds
from kyma_connectors.hooks.errors import RateLimitedError, ServerError, TransportError, WebhookError

__all__ = ["USER_AGENT", "Clock", "GitHubRateLimits", "RetryPolicy", "SystemClock", "Transport", "json_body"]

USER_AGENT: Final[str] = "kyma-connectors-webhooks/1"


SystemClock = WallClock
"""The real clock of the hook library: wall-clock seconds, because rate-limit resets and JWT ``iat`` are epoch
times."""


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How hard one provider operation's calls try. Defaults suit an interactive ``pulumi up``.

    The retry fields map onto :class:`kyma_connectors.core.http.RetryPolicy` (:meth:`retry`); ``timeout``,
    ``secondary_wait`` and ``ping_polls`` are the hook library's own.
    """

    attempts: int = 5
    """Total tries per call, first one included."""
    backoff: float = 1.0
    """First delay after a 5xx or a connection error, in seconds; doubles each time (with jitter)."""
    max_backoff: float = 30.0
    """Cap of one backoff delay, seconds."""
    max_rate_limit_wait: float = 900.0
    """Longest single rate-limit wait we accept (seconds). GitHub's primary window is an hour; waiting for a reset
    further away than 15 minutes is worse than failing with the reset time in the message."""
    budget: float = 1200.0
    """Seconds one call may take, waits included: one rate-limit wait of up to ``max_rate_limit_wait`` plus the
    backoffs fit; a call never keeps ``pulumi up`` waiting longer."""
    secondary_wait: float = 60.0
    """GitHub: "If the retry-after header is not present, wait at least one minute" (secondary rate limits)."""
    timeout: tuple[float, float] = (5.0, 30.0)
    """(connect, read) timeouts of one request, seconds."""
    ping_polls: int = 3
    """How many times to look for the ping's delivery after sending it (one ``backoff`` apart)."""

    def retry(self) -> http.RetryPolicy:
        """The core policy these settings describe; jitter draws each delay from half to all of it."""
        return http.RetryPolicy(
            attempts=self.attempts,
            budget=self.budget,
            first_delay=self.backoff,
            max_delay=self.max_backoff,
            jitter=0.5,
            max_rate_limit_wait=self.max_rate_limit_wait,
        )


@dataclass(frozen=True)
class GitHubRateLimits:
    """The core's rate-limit reader for GitHub (Qualtrics' 429 + ``Retry-After`` reads the same way).

    Per docs.github.com "Rate limits for the REST API": honour ``retry-after``; else, with ``x-ratelimit-remaining:
    0``, wait until ``x-ratelimit-reset`` (UTC epoch seconds); else a 429 or a 403 naming the secondary rate limit
    means wait at least a minute. A 403 without any of this is a permission problem, not a throttle.
    """

    clock: Clock
    """Wall-clock seconds: ``x-ratelimit-reset`` is an epoch time."""
    secondary_wait: float = 60.0

    def __call__(self, answer: requests.Response) -> Throttle | None:
        if answer.status_code not in (403, 429):
            return None
        now = self.clock.now()
        retry_after = retry_after_seconds(answer.headers.get("retry-after"), now)
        if retry_after is not None:
            return Throttle(retry_after, binding=True, reset_at=now + retry_after)
        reset = answer.headers.get("x-ratelimit-reset", "")
        if answer.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return Throttle(max(float(reset) - now, 0.0) + 1.0, binding=True, reset_at=float(reset))
        if answer.status_code == 429 or "rate limit" in answer.text[:500].lower():
            return Throttle(self.secondary_wait, binding=True, reset_at=now + self.secondary_wait)
        return None


@dataclass
class Transport:
    """Sends requests to one API base; never follows a URL to another origin (the token must not leak)."""

    base_url: str
    headers: Mapping[str, str] = field(repr=False)
    """Carries the credential (``Authorization`` / ``X-API-TOKEN``): kept out of ``repr``."""
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    session: requests.Session = field(default_factory=requests.Session)
    jitter: random.Random = field(default_factory=random.Random)
    idempotent_patch: bool = True
    """Every PATCH this library sends carries the resource's whole desired state (``GitHubHooks.update``: config,
    events, active), so sending it twice leaves the same hook: a PATCH whose answer was lost may be repeated."""
    client: http.HttpClient = field(init=False, repr=False)
    """The core client doing the sending and retrying; built from the fields above."""
    rate_limits: GitHubRateLimits = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rate_limits = GitHubRateLimits(self.clock, self.policy.secondary_wait)
        self.client = http.HttpClient(
            self.base_url,
            session=self.session,
            headers=self.headers,
            timeout=self.policy.timeout,
            policy=self.policy.retry(),
            clock=self.clock,
            rate_limits=self.rate_limits,
            idempotent_patch=self.idempotent_patch,
            rng=self.jitter,
        )

    def url_for(self, path_or_url: str) -> str:
        try:
            return self.client.url_for(path_or_url)
        except core_errors.OriginError as exc:
            raise WebhookError(str(exc)) from None

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send with retries; return the first answer that is neither throttled nor a 5xx.

        Raises :class:`RateLimitedError`, :class:`ServerError` or :class:`TransportError` when no such answer came;
        ``idempotent`` overrides the method's rule for this request (see :mod:`kyma_connectors.core.http`).
        """
        try:
            answer = self.client.request(method, path_or_url, params=params, json=json, idempotent=idempotent)
        except core_errors.OriginError as exc:
            raise WebhookError(str(exc)) from None
        except core_errors.HttpFailure as exc:
            raise _translate(exc) from exc
        if answer.status_code >= 500:  # a 5xx the core does not retry (501, 505, ...): the API cannot do it
            raise ServerError(
                f"{method} {urlsplit(answer.url).path}: HTTP {answer.status_code}; the API cannot serve this request",
                status=answer.status_code,
            )
        return answer

    def rate_limit_wait(self, answer: requests.Response) -> float | None:
        """Seconds GitHub asks us to wait before retrying, or None when the answer is not a throttle."""
        throttle = self.rate_limits(answer)
        return None if throttle is None else throttle.wait


def _translate(exc: core_errors.HttpFailure) -> WebhookError:
    """The core's failure as the hook library's error, with a message that says what to do."""
    where = f"{exc.method} {exc.path}"
    tries = f"{exc.attempts} attempt{'' if exc.attempts == 1 else 's'}"
    once = (
        f"; not repeated: a {exc.method} may have been carried out already -- the next operation looks up what "
        "exists before creating"
        if exc.gave_up == core_errors.NOT_REPEATED
        else ""
    )
    if isinstance(exc, core_errors.RateLimitedError):
        return RateLimitedError(
            f"{where}: rate limited (HTTP {exc.status}); the limit resets in {int(exc.wait)} s "
            f"-- retry then, or use a token with its own quota (e.g. a GitHub App installation)",
            status=exc.status or 429,
            reset_at=exc.reset_at,
        )
    if isinstance(exc, core_errors.ServerFailureError):
        return ServerError(
            f"{where}: HTTP {exc.status} after {tries}{once or '; the API is having trouble, retry later'}",
            status=exc.status,
        )
    return TransportError(f"{where}: no answer after {tries} ({exc.reason}){once}")
