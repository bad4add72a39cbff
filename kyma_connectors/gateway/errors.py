"""The gateway's error types: one base, and subclasses that carry the HTTP answer they map to.

Each subclass also inherits the stdlib type it resembles, so callers may catch either. Messages never contain
secrets, signatures or payload excerpts: they are sent to webhook senders and written to logs as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from kyma_connectors.core.problems import Problem, ProblemsMixin, report


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    status: int = 500
    reason: str = "internal"
    """Short machine-readable reason; also the ``reason`` label of the rejection metric."""


class ConfigError(ProblemsMixin, GatewayError, ValueError):
    """The environment does not describe a runnable gateway; ``problems`` names every bad or missing variable."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(report("the gateway's environment", self.problems))


class DeliveryError(GatewayError, ValueError):
    """A delivery the gateway refuses; the message is safe to send back to the sender."""


class SignatureError(DeliveryError):
    """Missing, malformed or wrong signature or credential."""

    status = 401
    reason = "signature"


class PayloadTooLargeError(DeliveryError):
    """The body exceeds ``GATEWAY_MAX_BODY_BYTES``."""

    status = 413
    reason = "too_large"


class UnsupportedMediaTypeError(DeliveryError):
    """The ``Content-Type`` is not one the solution sends."""

    status = 415
    reason = "content_type"


class MalformedDeliveryError(DeliveryError):
    """The body or a required header cannot be parsed."""

    status = 400
    reason = "malformed"


class NotFoundError(DeliveryError):
    """No such endpoint."""

    status = 404
    reason = "not_found"


class HeadersTooLargeError(DeliveryError):
    """The request's header section is larger, or has more fields, than the gateway reads."""

    status = 431
    reason = "headers_too_large"


class RequestTimeoutError(DeliveryError):
    """The request's headers or body did not arrive within their timeout (slow or stalled sender)."""

    status = 408
    reason = "timeout"


class MethodNotAllowedError(DeliveryError):
    """The endpoint exists, the method does not."""

    status = 405
    reason = "method"


class SpoolError(GatewayError, OSError):
    """The spool cannot take the delivery durably; the sender gets 503 and may retry (nothing was acknowledged)."""

    status = 503
    reason = "spool"


class SpoolFullError(SpoolError):
    """The disk (or the configured spool quota, ``GATEWAY_SPOOL_MAX_BYTES``) is full."""

    reason = "spool_full"


class BodyBudgetError(SpoolError):
    """Too many bodies are being received at once to hold this one (the process-wide body budgets are used up)."""

    reason = "busy"


class ConnectionCapacityError(GatewayError):
    """The gateway holds its maximum of connections and none could make room (all are in real use)."""

    status = 503
    reason = "connections"


class ShuttingDownError(SpoolError):
    """The gateway is stopping and takes no new deliveries."""

    reason = "shutting_down"


class PublishError(GatewayError):
    """Publishing one event to Kyma eventing failed."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.http_status = status
        super().__init__(message)


class TemporaryPublishError(PublishError, ConnectionError):
    """Worth retrying: connection failures, timeouts, 5xx, 408 and 429."""


class PermanentPublishError(PublishError, ValueError):
    """The publisher rejected the event for good (other 4xx): it goes to the dead-letter area."""
