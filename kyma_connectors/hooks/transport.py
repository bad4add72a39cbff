"""One HTTP call with the manners a shared API expects: timeouts, bounded retries, rate-limit waits.

Why one place: GitHub and Qualtrics both throttle (403/429 with ``x-ratelimit-reset`` or ``Retry-After``) and both
have bad minutes (5xx). Peers burn their quota on blind reconciles (argo-events #1929) or give up on the first 502;
we wait exactly as long as the API asks, back off exponentially on server errors, and stop after a bounded number of
attempts and a bounded total wait, so ``pulumi up`` neither hangs nor fails on a blip.

Time is injected (:class:`Clock`) so tests exercise hour-long rate-limit resets in microseconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import requests

from kyma_connectors.hooks.errors import RateLimitedError, ServerError, TransportError, WebhookError

USER_AGENT: Final[str] = "kyma-connectors-webhooks/1"


class Clock(Protocol):
    """Wall-clock seconds and sleeping; the real one is :class:`SystemClock`."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How hard one call tries. Defaults suit an interactive ``pulumi up``."""

    attempts: int = 5
    """Total tries per call, first one included."""
    backoff: float = 1.0
    """First delay after a 5xx or a connection error, in seconds; doubles each time (with jitter)."""
    max_backoff: float = 30.0
    """Cap of one backoff delay, seconds."""
    max_rate_limit_wait: float = 900.0
    """Longest single rate-limit wait we accept (seconds). GitHub's primary window is an hour; waiting for a reset
    further away than 15 minutes is worse than failing with the reset time in the message."""
    secondary_wait: float = 60.0
    """GitHub: "If the retry-after header is not present, wait at least one minute" (secondary rate limits)."""
    timeout: tuple[float, float] = (5.0, 30.0)
    """(connect, read) timeouts of one request, seconds."""
    ping_polls: int = 3
    """How many times to look for the ping's delivery after sending it (one ``backoff`` apart)."""


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

    def url_for(self, path_or_url: str) -> str:
        if "://" not in path_or_url:
            return self.base_url.rstrip("/") + path_or_url
        if _origin(path_or_url) != _origin(self.base_url):
            raise WebhookError(f"refusing to follow a link to another origin: {_origin(path_or_url)}")
        return path_or_url

    def request(
        self, method: str, path_or_url: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> requests.Response:
        """Send with retries; return the first answer that is neither throttled nor a 5xx (or the last 5xx)."""
        url = self.url_for(path_or_url)
        where = f"{method} {urlsplit(url).path}"
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts
            try:
                answer = self.session.request(
                    method, url, params=params, json=json, headers=dict(self.headers), timeout=self.policy.timeout
                )
            except requests.RequestException as exc:
                if last:
                    raise TransportError(f"{where}: no answer after {attempt} attempts ({type(exc).__name__})") from exc
                self.clock.sleep(self._backoff(attempt))
                continue
            wait = self.rate_limit_wait(answer)
            if wait is not None:
                if wait > self.policy.max_rate_limit_wait or last:
                    raise RateLimitedError(
                        f"{where}: rate limited (HTTP {answer.status_code}); the limit resets in {int(wait)} s "
                        f"-- retry then, or use a token with its own quota (e.g. a GitHub App installation)",
                        status=answer.status_code,
                        reset_at=self.clock.now() + wait,
                    )
                self.clock.sleep(wait)
                continue
            if answer.status_code >= 500:
                if last:
                    raise ServerError(
                        f"{where}: HTTP {answer.status_code} after {attempt} attempts; the API is having trouble, "
                        "retry later",
                        status=answer.status_code,
                    )
                self.clock.sleep(self._backoff(attempt))
                continue
            return answer
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def rate_limit_wait(self, answer: requests.Response) -> float | None:
        """Seconds to wait before retrying, or None when the answer is not a throttle.

        Per docs.github.com "Rate limits for the REST API": honour ``retry-after``; else, with
        ``x-ratelimit-remaining: 0``, wait until ``x-ratelimit-reset`` (UTC epoch seconds); else a 429 or a 403 naming
        the secondary rate limit means wait at least a minute. A 403 without any of this is a permission problem.
        """
        if answer.status_code not in (403, 429):
            return None
        retry_after = answer.headers.get("retry-after")
        if retry_after and retry_after.strip().isdigit():
            return float(retry_after)
        reset = answer.headers.get("x-ratelimit-reset")
        if answer.headers.get("x-ratelimit-remaining") == "0" and reset and reset.isdigit():
            return max(float(reset) - self.clock.now(), 0.0) + 1.0
        if answer.status_code == 429 or "rate limit" in answer.text[:500].lower():
            return self.policy.secondary_wait
        return None

    def _backoff(self, attempt: int) -> float:
        delay = min(self.policy.max_backoff, self.policy.backoff * 2.0 ** (attempt - 1))
        return float(delay) * (0.5 + self.jitter.random() / 2)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def json_body(answer: requests.Response) -> Any:
    """The JSON body, or None when there is none or it is not JSON (error pages from proxies)."""
    if not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        return None
