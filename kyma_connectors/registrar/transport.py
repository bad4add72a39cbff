"""HTTP with bounded backoff, and the classification of failures into transient and permanent.

Why one place: both backends talk to a server that may not be there yet when the Job starts (the API server after a
control-plane restart, the registry while Kyma 1.x rolls out). Connection errors, timeouts, 429 and 5xx are retried
with exponential backoff until a time budget runs out, then become :class:`TransientError` (the Job's backoffLimit
takes over). Any other 4xx is final: :class:`ApiError`, with the server's own message. Request bodies never appear in
errors or logs (they may carry credentials).

A POST (the registry's create) is not idempotent: when its fate is unknown -- a read timeout, a dropped connection,
500/502/504 -- repeating it could register the service twice, so the failure goes straight to the Job's retry, whose
first step lists what exists. Failures where nothing was processed (connection refused, 429, 503) are repeated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import requests

from kyma_connectors.registrar.errors import ApiError, TransientError

RETRY_STATUSES: Final[frozenset[int]] = frozenset({429, 500, 502, 503, 504})
UNPROCESSED_STATUSES: Final[frozenset[int]] = frozenset({429, 503})
"""Answers that say the request was not acted on, so even a POST may be sent again."""
IDEMPOTENT: Final[frozenset[str]] = frozenset({"GET", "PUT", "DELETE", "PATCH"})
"""PATCH here is server-side apply: the same body gives the same object."""
_MESSAGE_LIMIT: Final[int] = 300


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff within a total time budget."""

    budget: float = 60.0
    first_delay: float = 0.2
    max_delay: float = 5.0

    def delays(self) -> Iterator[float]:
        """Successive delays: doubling from ``first_delay``, capped at ``max_delay``."""
        delay = self.first_delay
        while True:
            yield delay
            delay = min(delay * 2, self.max_delay)


class HttpClient:
    """Requests against one base URL, retried per :class:`RetryPolicy`; counts what it sends."""

    def __init__(self, base_url: str, session: requests.Session, *, timeout: float, policy: RetryPolicy,
                 target: str, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._base = base_url.rstrip("/")
        self._session = session
        self._timeout = timeout
        self._policy = policy
        self._target = target
        self._sleep = sleep
        self._clock = clock
        self.requests_sent = 0
        self.writes_sent = 0

    def close(self) -> None:
        self._session.close()

    def request(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
                headers: Mapping[str, str] | None = None,
                params: Mapping[str, str] | None = None) -> requests.Response:
        """Send until a final answer; returns 2xx/3xx responses, raises ApiError (4xx) or TransientError."""
        deadline = self._clock() + self._policy.budget
        delays = self._policy.delays()
        attempts = 0
        while True:
            attempts += 1
            reason, retry_after, unsent = self._attempt(method, path, json=json, data=data, headers=headers,
                                                        params=params)
            if isinstance(reason, requests.Response):
                return reason
            if method not in IDEMPOTENT and not unsent:
                raise TransientError(f"{self._target}: {method} {path}: {reason} (not repeated: {method} is not "
                                     "idempotent and may have been processed; the next run lists first)")
            delay = max(next(delays), min(retry_after or 0.0, self._policy.max_delay))
            if self._clock() + delay > deadline:
                raise TransientError(f"{self._target}: {method} {path}: {reason} (gave up after {attempts} attempts "
                                     f"in {self._policy.budget:g}s)")
            self._sleep(delay)

    def _attempt(self, method: str, path: str,
                 **kwargs: Any) -> tuple[requests.Response | str, float | None, bool]:
        """``(response or failure reason, Retry-After seconds, whether the server surely did not act on it)``."""
        self.requests_sent += 1
        if method != "GET":
            self.writes_sent += 1
        try:
            response = self._session.request(method, self._base + path, timeout=self._timeout, **kwargs)
        except requests.ConnectTimeout:
            return "timed out connecting", None, True
        except requests.Timeout:
            return "timed out", None, False
        except requests.ConnectionError as exc:
            cause = _root_cause(exc)
            return f"cannot connect ({_describe(cause)})", None, isinstance(cause, ConnectionRefusedError)
        status = response.status_code
        if status in RETRY_STATUSES:
            reason = f"HTTP {status} {server_message(response)}".rstrip()
            return reason, _retry_after(response), status in UNPROCESSED_STATUSES
        if status >= 400:
            raise ApiError(f"{self._target}: {method} {path}: HTTP {status} {server_message(response)}".rstrip(),
                           status=status)
        return response, None, True


def server_message(response: requests.Response) -> str:
    """The server's own explanation: Kubernetes ``Status.message`` or the registry's ``error``, shortened."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:_MESSAGE_LIMIT].strip()
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or ""
        return str(message)[:_MESSAGE_LIMIT]
    return ""


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception: requests wraps urllib3, which wraps the socket error."""
    for _ in range(10):
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    if isinstance(exc, requests.ConnectionError) and exc.args and isinstance(exc.args[0], BaseException):
        return _root_cause(exc.args[0])
    return exc


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:120]}"
