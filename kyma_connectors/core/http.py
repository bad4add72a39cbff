"""One HTTP client for every API the product calls, with one retry policy that knows what is safe to send twice.

Why one client: the hook library (GitHub, Qualtrics) and the registrar (Kubernetes API server, Application Registry)
each had their own retry loop, and they disagreed: one repeated a POST after a 5xx -- and could leave a second
Qualtrics subscription behind when the first had been created before the error -- the other did not. Here the rule is
written once:

* **Not processed, so repeat for every method**: connection refused, an unresolvable host, a connect timeout (nothing
  reached the server), 429 and 503 (RFC 9110 15.5.30 / 15.6.4: the server declined to act), and whatever the
  pluggable :data:`RateLimitReader` recognises as a throttle (GitHub's 403 with ``x-ratelimit-remaining: 0``).
* **Fate unknown, so repeat only idempotent methods**: a read timeout, a dropped connection, 500, 502, 504. The
  server may have acted; repeating GET, HEAD, OPTIONS, PUT or DELETE is harmless by definition (RFC 9110 9.2.2),
  repeating a POST may do it twice. PATCH is idempotent only when the caller says so (``idempotent_patch`` per
  client, ``idempotent=`` per request): Kubernetes server-side apply and a GitHub hook PATCH carrying the whole
  desired state are; a JSON-patch ``add`` to a list is not.
* **Final**: any other answer (2xx, 3xx, 4xx, 501, ...) is returned for the caller to interpret.

Each call is bounded twice, by :attr:`RetryPolicy.attempts` and by :attr:`RetryPolicy.budget` seconds, so neither a
``pulumi up`` nor a Job hangs. Delays double from ``first_delay`` up to ``max_delay``, optionally jittered. A
server's ``Retry-After`` on 429/503 is a hint, honoured up to ``max_delay``; a *binding* throttle from the rate-limit
reader (a quota window: retrying sooner only burns requests and, at GitHub, risks a ban) is waited out exactly, or the
call fails at once with :class:`RateLimitedError` when the wait exceeds ``max_rate_limit_wait`` or the budget.

The client never sends its headers to another origin: absolute URLs (pagination links) and redirects must stay on the
base URL's scheme, host and port. Headers are kept out of ``repr`` and errors carry method and path only. Time is
injected (:class:`Clock`), so tests cover hour-long waits in microseconds.
"""

from __future__ import annotations

import email.utils
import logging
import random
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urljoin, urlsplit

import requests

from kyma_connectors.core.errors import (
    NOT_REPEATED,
    OUT_OF_ATTEMPTS,
    OUT_OF_BUDGET,
    UNSENDABLE,
    WAIT_TOO_LONG,
    HttpFailure,
    NoAnswerError,
    OriginError,
    RateLimitedError,
    ServerFailureError,
)

SAFE_METHODS: Final[frozenset[str]] = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing (RFC 9110 9.2.1); every other request counts as a write."""
IDEMPOTENT_METHODS: Final[frozenset[str]] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""RFC 9110 9.2.2. PATCH is absent on purpose: only the caller knows whether its patch document is idempotent."""
UNPROCESSED_STATUSES: Final[frozenset[int]] = frozenset({429, 503})
"""Answers that say the request was not acted on, so even a POST may be sent again."""
UNKNOWN_FATE_STATUSES: Final[frozenset[int]] = frozenset({500, 502, 504})
"""Answers after which the request may or may not have taken effect."""

log = logging.getLogger(__name__)


class Clock(Protocol):
    """Seconds and sleeping. The budget is measured on ``now``; any steadily increasing clock will do."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock for budgets: immune to wall-clock jumps."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class WallClock(MonotonicClock):
    """The real clock in epoch seconds, for callers whose APIs speak epoch times (rate-limit resets, JWT ``iat``)."""

    def now(self) -> float:
        return time.time()


@dataclass(frozen=True)
class CallableClock:
    """A :class:`Clock` from two functions, for callers that inject ``now`` and ``sleep`` separately."""

    read: Callable[[], float]
    wait: Callable[[float], None]

    def now(self) -> float:
        return self.read()

    def sleep(self, seconds: float) -> None:
        self.wait(seconds)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How hard one call tries: bounded by attempts and by time, with doubling delays."""

    attempts: int = 5
    """Total tries per call, the first included."""
    budget: float = 60.0
    """Seconds from the first attempt after which no further attempt starts (a wait that would end later is not
    begun)."""
    first_delay: float = 0.5
    """Delay before the second attempt; doubles for each further one."""
    max_delay: float = 10.0
    """Cap of one backoff delay, and of a ``Retry-After`` hint."""
    jitter: float = 0.0
    """Fraction of each delay drawn at random (0.5: between half and all of it), so clients that failed together do
    not retry together. 0 gives exact delays."""
    max_rate_limit_wait: float = 900.0
    """Longest binding rate-limit wait accepted, seconds; a reset further away fails at once with its time."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, not {self.attempts}")
        if self.budget < 0 or self.first_delay < 0 or self.max_delay < 0 or self.max_rate_limit_wait < 0:
            raise ValueError("RetryPolicy: budget, delays and max_rate_limit_wait must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"RetryPolicy.jitter must be between 0 and 1, not {self.jitter}")

    def backoff(self, retry: int) -> float:
        """The un-jittered delay before retry number ``retry`` (1 = the second attempt)."""
        return float(min(self.max_delay, self.first_delay * 2.0 ** min(retry - 1, 64)))

    def delays(self) -> Iterator[float]:
        """Successive un-jittered delays: doubling from ``first_delay``, capped at ``max_delay``."""
        retry = 0
        while True:
            retry += 1
            yield self.backoff(retry)


@dataclass(frozen=True)
class Throttle:
    """What a rate-limited answer asks for: wait ``wait`` seconds.

    ``binding``: a quota window that retrying sooner cannot beat (wait it out or fail); otherwise a hint the client
    may shorten to ``max_delay``. ``reset_at`` is the wall-clock second the limit resets, for the error message.
    """

    wait: float
    binding: bool = False
    reset_at: float | None = None


RateLimitReader = Callable[[requests.Response], "Throttle | None"]
"""Reads an answer's rate-limit signals; None when the answer is not a throttle. APIs with their own rules (GitHub)
bring their own; :class:`RetryAfter` is the standard one."""


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A ``Retry-After`` value in seconds: delta-seconds or an HTTP-date (RFC 9110 10.2.3); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; an obsolete form without a zone parses naive
        return None
    return max(when.timestamp() - now, 0.0)


@dataclass(frozen=True)
class RetryAfter:
    """The standard reader: a ``Retry-After`` on a 429 or 503 is a (non-binding) hint."""

    wall: Callable[[], float] = time.time
    """Wall-clock seconds, to turn an HTTP-date into a delay."""

    def __call__(self, response: requests.Response) -> Throttle | None:
        if response.status_code not in UNPROCESSED_STATUSES:
            return None
        wait = retry_after_seconds(response.headers.get("Retry-After"), self.wall())
        return None if wait is None else Throttle(wait)


@dataclass(frozen=True)
class _Failure:
    """One attempt that did not give a final answer."""

    reason: str
    unprocessed: bool
    """True when the server surely did not act on it, so any method may be repeated."""
    status: int | None = None
    response: requests.Response | None = None
    throttle: Throttle | None = None
    cause: BaseException | None = None


class HttpClient:
    """Requests against one base URL, retried per :class:`RetryPolicy`; counts what it sends.

    ``headers`` (credentials included) go with every request and only to the base URL's origin. The session is the
    caller's (TLS and client certificates live there) and is closed by :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        rate_limits: RateLimitReader | None = None,
        idempotent_patch: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.idempotent_patch = idempotent_patch
        self._session = session or requests.Session()
        self._headers = headers or {}
        self._timeout = timeout
        self._clock: Clock = clock or MonotonicClock()
        self._rate_limits: RateLimitReader = rate_limits or RetryAfter()
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not secrecy
        self._origin = origin(self.base_url)
        self.requests_sent = 0
        self.writes_sent = 0

    def __repr__(self) -> str:  # never the headers: they carry the credential
        return f"HttpClient(base_url={self.base_url!r}, policy={self.policy!r})"

    def close(self) -> None:
        self._session.close()

    def url_for(self, path_or_url: str) -> str:
        """A path joined to the base URL, or an absolute URL on the same origin; raises :class:`OriginError`."""
        if "://" not in path_or_url:
            return self.base_url + path_or_url
        if origin(path_or_url) != self._origin:
            raise OriginError(f"refusing to follow a link to another origin: {_show(origin(path_or_url))}")
        return path_or_url

    def is_idempotent(self, method: str, declared: bool | None = None) -> bool:
        """Whether ``method`` may be repeated when its fate is unknown; ``declared`` overrides the method's rule."""
        if declared is not None:
            return declared
        method = method.upper()
        return method in IDEMPOTENT_METHODS or (method == "PATCH" and self.idempotent_patch)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send until a final answer and return it; raise an :class:`HttpFailure` when none came in time.

        ``idempotent`` declares whether this one request may be repeated when its fate is unknown (default: by
        method, see :meth:`is_idempotent`).
        """
        method = method.upper()
        url = self.url_for(path_or_url)
        path = urlsplit(url).path
        repeatable = self.is_idempotent(method, idempotent)
        send = {"params": params, "json": json, "data": data, "headers": {**self._headers, **(headers or {})}}
        started = self._clock.now()
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(method, url, send)
            if isinstance(outcome, requests.Response):
                return outcome
            elapsed = self._clock.now() - started
            if not (outcome.unprocessed or repeatable):
                raise _error(outcome, method, path, attempt, elapsed, NOT_REPEATED)
            delay, gave_up = self._next_delay(outcome, attempt, elapsed)
            if gave_up:
                raise _error(outcome, method, path, attempt, elapsed, gave_up)
            log.debug("%s %s: %s; attempt %d in %.3gs", method, path, outcome.reason, attempt + 1, delay)
            self._clock.sleep(delay)

    def _next_delay(self, failure: _Failure, attempt: int, elapsed: float) -> tuple[float, str | None]:
        """``(delay before the next attempt, None)``, or ``(0, why we stop)``."""
        policy = self.policy
        backoff = policy.backoff(attempt) * (1.0 - policy.jitter + policy.jitter * self._rng.random())
        throttle = failure.throttle
        if throttle is not None and throttle.binding:
            if throttle.wait > policy.max_rate_limit_wait:
                return 0.0, WAIT_TOO_LONG
            delay = throttle.wait
        elif throttle is not None:
            delay = max(backoff, min(throttle.wait, policy.max_delay))
        else:
            delay = backoff
        if attempt >= policy.attempts:
            return 0.0, OUT_OF_ATTEMPTS
        if elapsed + delay > policy.budget:
            return 0.0, OUT_OF_BUDGET
        return delay, None

    def _attempt(self, method: str, url: str, send: dict[str, Any]) -> requests.Response | _Failure:
        self.requests_sent += 1
        if method not in SAFE_METHODS:
            self.writes_sent += 1
        try:
            response = self._session.request(
                method, url, timeout=self._timeout, hooks={"response": [self._guard_redirect]}, **send
            )
        except requests.ConnectTimeout as exc:  # before Timeout and ConnectionError: it is both
            return _Failure("timed out connecting", unprocessed=True, cause=exc)
        except requests.Timeout as exc:
            return _Failure("timed out waiting for the answer", unprocessed=False, cause=exc)
        except requests.ConnectionError as exc:
            cause = root_cause(exc)
            unsent = isinstance(cause, ConnectionRefusedError | socket.gaierror)
            return _Failure(f"cannot connect ({describe(cause)})", unprocessed=unsent, cause=exc)
        except requests.exceptions.ChunkedEncodingError as exc:
            return _Failure("connection dropped mid-answer", unprocessed=False, cause=exc)
        except requests.RequestException as exc:
            raise NoAnswerError(
                method=method,
                path=urlsplit(url).path,
                reason=f"cannot send ({type(exc).__name__})",
                attempts=1,
                elapsed=0.0,
                gave_up=UNSENDABLE,
            ) from exc
        return self._judge(response)

    def _judge(self, response: requests.Response) -> requests.Response | _Failure:
        """The answer itself when final, else why and how it may be repeated."""
        status = response.status_code
        throttle = self._rate_limits(response)
        if throttle is not None or status in UNPROCESSED_STATUSES:
            return _Failure(f"HTTP {status}", unprocessed=True, status=status, response=response, throttle=throttle)
        if status in UNKNOWN_FATE_STATUSES:
            return _Failure(f"HTTP {status}", unprocessed=False, status=status, response=response)
        return response

    def _guard_redirect(self, response: requests.Response, *_: Any, **__: Any) -> requests.Response:
        """A ``response`` hook: requests calls it before following a redirect, so a foreign target stops here."""
        if response.is_redirect:
            target = urljoin(response.url, response.headers["location"])
            if origin(target) != self._origin:
                response.close()
                raise OriginError(f"refusing to follow a redirect to another origin: {_show(origin(target))}")
        return response


def _error(failure: _Failure, method: str, path: str, attempts: int, elapsed: float, gave_up: str) -> HttpFailure:
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "reason": failure.reason,
        "attempts": attempts,
        "elapsed": elapsed,
        "gave_up": gave_up,
        "status": failure.status,
        "response": failure.response,
    }
    error: HttpFailure
    if failure.throttle is not None and failure.throttle.binding:
        error = RateLimitedError(wait=failure.throttle.wait, reset_at=failure.throttle.reset_at, **fields)
    elif failure.response is not None:
        error = ServerFailureError(**fields)
    else:
        error = NoAnswerError(**fields)
    error.__cause__ = failure.cause
    return error


def origin(url: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` of a URL, lower-cased: what must match before credentials go along."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower().rpartition("@")[2]


def _show(where: tuple[str, str]) -> str:
    return f"{where[0]}://{where[1]}"


def root_cause(exc: BaseException) -> BaseException:
    """The innermost exception: requests wraps urllib3 (``MaxRetryError.reason``), which wraps the socket error."""
    for _ in range(10):
        reason = getattr(exc, "reason", None)
        inner = exc.__cause__ or exc.__context__ or (reason if isinstance(reason, BaseException) else None)
        if inner is None and exc.args and isinstance(exc.args[0], BaseException):
            inner = exc.args[0]  # requests.ConnectionError(MaxRetryError(...)) carries it as an argument
        if inner is None or inner is exc:
            break
        exc = inner
    return exc


def describe(exc: BaseException) -> str:
    """``Type: message``, shortened for one log line."""
    return f"{type(exc).__name__}: {str(exc)[:120]}"


def json_body(answer: requests.Response) -> Any:
    """The JSON body, or None when there is none or it is not JSON (error pages from proxies)."""
    if not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        return None
