"""Error types of the shared core: one base, :class:`CoreError`, so a package can translate all of them at its edge.

Why the core has its own types instead of raising the hook library's or the registrar's: the core sits below both
(import-linter contract "core-at-the-bottom") and must not know their hierarchies. Each package catches
:class:`CoreError` subclasses where it calls the core and re-raises its own family (``WebhookError``,
``RegistrarError``), so callers of a package only ever see that package's types.

The HTTP failures carry structured fields (method, path, status, attempts, why the client stopped) so a translator
can word its own message; their ``str`` is a complete generic message for anyone who does not translate. No field
holds a header, a body or a query string: credentials cannot travel inside these errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # only a type here: the event gateway imports these errors and has no use for requests
    import requests

NOT_REPEATED: Final[str] = "not-idempotent"
"""``HttpFailure.gave_up``: one attempt was all we dared; the method is not idempotent and the server may have
acted on the request, so a repetition could do it twice."""
UNSENDABLE: Final[str] = "unsendable"
"""``HttpFailure.gave_up``: the request could not be built or sent at all (a malformed URL or header)."""
OUT_OF_ATTEMPTS: Final[str] = "attempts"
OUT_OF_BUDGET: Final[str] = "budget"
WAIT_TOO_LONG: Final[str] = "wait-too-long"
"""``HttpFailure.gave_up``: the server asked for a longer wait than the policy accepts."""


class CoreError(Exception):
    """Base of every error the shared core raises."""


class OriginError(CoreError, ValueError):
    """A URL (a pagination link, a redirect) points to another origin; following it would hand over credentials."""


class HttpFailure(CoreError):
    """A request that ended without a usable answer after the attempts its policy allows (sometimes just one).

    ``reason`` is short and free of secrets ("HTTP 503", "timed out", "cannot connect (ConnectionRefusedError: ..)");
    ``response`` is the last answer, if any, for a translator that quotes the server's own message; ``elapsed`` the
    seconds from the first attempt to giving up, on the client's clock.
    """

    def __init__(
        self,
        *,
        method: str,
        path: str,
        reason: str,
        attempts: int,
        elapsed: float,
        gave_up: str,
        status: int | None = None,
        response: requests.Response | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.reason = reason
        self.attempts = attempts
        self.elapsed = elapsed
        self.gave_up = gave_up
        self.status = status
        self.response = response
        super().__init__(f"{method} {path}: {reason} ({self.outcome})")

    @property
    def repeated(self) -> bool:
        """False when the client stopped after one attempt on purpose (not idempotent, or not sendable)."""
        return self.gave_up not in (NOT_REPEATED, UNSENDABLE)

    @property
    def outcome(self) -> str:
        """Why the client stopped, in words."""
        if self.gave_up == NOT_REPEATED:
            return f"not repeated: {self.method} is not idempotent and may have been processed"
        if self.gave_up == UNSENDABLE:
            return "not sent"
        plural = "" if self.attempts == 1 else "s"
        return f"gave up after {self.attempts} attempt{plural} in {self.elapsed:.3g}s"


class NoAnswerError(HttpFailure):
    """No HTTP answer: connection refused, DNS, connect or read timeout, a connection dropped mid-answer."""


class ServerFailureError(HttpFailure):
    """The server kept answering with a status we retry on (429, 5xx), or did once to a non-idempotent request."""


class RateLimitedError(HttpFailure):
    """A rate limit asks for a wait the client does not make (too long, past the budget, or no attempts left).

    ``wait`` is what the server asked for, in seconds; ``reset_at`` the wall-clock second the limit resets, when known.
    """

    def __init__(self, *, wait: float, reset_at: float | None, **failure: Any) -> None:
        """``failure``: the fields of :class:`HttpFailure`."""
        self.wait = wait
        self.reset_at = reset_at
        super().__init__(**failure)

    @property
    def outcome(self) -> str:
        if self.gave_up == WAIT_TOO_LONG:
            return f"the limit resets in {int(self.wait)} s, longer than we wait"
        return super().outcome
