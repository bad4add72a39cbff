"""HTTP with bounded backoff, and the classification of failures into transient and permanent.

Why one place: both backends talk to a server that may not be there yet when the Job starts (the API server after a
control-plane restart, the registry while Kyma 1.x rolls out). Connection errors, timeouts, 429 and 5xx are retried
with exponential backoff until a time budget runs out, then become :class:`TransientError` (the Job's backoffLimit
takes over). Any other 4xx is final: :class:`ApiError`, with the server's own message. Request bodies never appear in
errors or logs (they may carry credentials).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import requests

from registrar.errors import ApiError, TransientError

RETRY_STATUSES: Final[frozenset[int]] = frozenset({429, 500, 502, 503, 504})
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
            reason, retry_after = self._attempt(method, path, json=json, data=data, headers=headers, params=params)
            if isinstance(reason, requests.Response):
                return reason
            delay = max(next(delays), min(retry_after or 0.0, self._policy.max_delay))
            if self._clock() + delay > deadline:
                raise TransientError(f"{self._target}: {method} {path}: {reason} (gave up after {attempts} attempts "
                                     f"in {self._policy.budget:g}s)")
            self._sleep(delay)

    def _attempt(self, method: str, path: str, **kwargs: Any) -> tuple[requests.Response | str, float | None]:
        self.requests_sent += 1
        if method != "GET":
            self.writes_sent += 1
        try:
            response = self._session.request(method, self._base + path, timeout=self._timeout, **kwargs)
        except requests.Timeout:
            return "timed out", None
        except requests.ConnectionError as exc:
            return f"cannot connect ({_root_cause(exc)})", None
        if response.status_code in RETRY_STATUSES:
            return f"HTTP {response.status_code} {server_message(response)}".rstrip(), _retry_after(response)
        if response.status_code >= 400:
            raise ApiError(f"{self._target}: {method} {path}: HTTP {response.status_code} "
                           f"{server_message(response)}".rstrip(), status=response.status_code)
        return response, None


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


def _root_cause(exc: BaseException) -> str:
    for _ in range(10):  # urllib3 wraps the socket error a few levels deep
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return f"{type(exc).__name__}: {str(exc)[:120]}"
