"""The registrar's HTTP: the core client (:mod:`kyma_connectors.core.http`), and its failures as transient/permanent.

Why this module: both backends talk to a server that may not be there yet when the Job starts (the API server after a
control-plane restart, the registry while Kyma rolls out). The core client repeats what is safe to repeat until the
time budget (``REGISTRAR_WAIT_SECONDS``) runs out; what it gives up on becomes :class:`TransientError` (the Job's
backoffLimit takes over). Any other 4xx or 5xx answer is final: :class:`ApiError`, with the server's own message.
Request bodies never appear in errors or logs (they may carry credentials).

A POST (the registry's create) is not idempotent: when its fate is unknown -- a read timeout, a dropped connection,
500/502/504 -- repeating it could register the service twice, so the failure goes straight to the Job's retry, whose
first step lists what exists. Failures where nothing was processed (connection refused, 429, 503) are repeated.
The only PATCH the registrar sends is a server-side apply of the whole desired ``spec.services`` with a
``resourceVersion`` precondition (:mod:`kyma_connectors.registrar.application_cr`): sending it twice leaves the same
object (or a 409 the backend re-plans on), so this client declares PATCH idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import requests

from kyma_connectors.core import errors as core_errors
from kyma_connectors.core import http
from kyma_connectors.registrar.errors import ApiError, TransientError

_MESSAGE_LIMIT: Final[int] = 300


@dataclass(frozen=True, kw_only=True)
class RetryPolicy(http.RetryPolicy):
    """The core policy with the registrar's defaults: exact doubling delays inside a time budget.

    The budget is the bound that matters for a Job waiting out a restart; ``attempts`` is only a backstop for a
    budget measured on a clock that does not move.
    """

    attempts: int = 200
    budget: float = 60.0
    first_delay: float = 0.2
    max_delay: float = 5.0


class HttpClient:
    """Requests against one base URL, retried per :class:`RetryPolicy`; counts what it sends."""

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        *,
        timeout: float,
        policy: RetryPolicy,
        target: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target = target
        self._client = http.HttpClient(
            base_url,
            session=session,
            timeout=timeout,
            policy=policy,
            clock=http.CallableClock(clock, sleep),
            idempotent_patch=True,
        )

    def __repr__(self) -> str:
        return f"HttpClient(target={self._target!r}, base_url={self._client.base_url!r})"

    @property
    def requests_sent(self) -> int:
        return self._client.requests_sent

    @property
    def writes_sent(self) -> int:
        return self._client.writes_sent

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send until a final answer; returns 2xx/3xx responses, raises ApiError (4xx) or TransientError."""
        try:
            response = self._client.request(method, path, json=json, data=data, headers=headers, params=params)
        except core_errors.HttpFailure as exc:
            if exc.gave_up == core_errors.UNSENDABLE:  # a malformed URL or header: no retry of the Job fixes it
                raise ApiError(f"{self._target}: {method} {path}: {exc.reason}") from exc
            raise TransientError(f"{self._target}: {method} {path}: {_reason(exc)} ({_outcome(exc)})") from exc
        except core_errors.CoreError as exc:
            raise ApiError(f"{self._target}: {method} {path}: {exc}") from exc
        status = response.status_code
        if status >= 400:
            raise ApiError(
                f"{self._target}: {method} {path}: HTTP {status} {server_message(response)}".rstrip(), status=status
            )
        return response


def _reason(exc: core_errors.HttpFailure) -> str:
    if exc.response is None:
        return exc.reason
    return f"{exc.reason} {server_message(exc.response)}".rstrip()


def _outcome(exc: core_errors.HttpFailure) -> str:
    return f"{exc.outcome}; the next run lists first" if exc.gave_up == core_errors.NOT_REPEATED else exc.outcome


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
