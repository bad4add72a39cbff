"""Errors of the hook reconciler: one base type, one subclass per thing that can go wrong."""

from __future__ import annotations


class ReconcilerError(Exception):
    """Base of every reconciler error."""


class SettingsError(ReconcilerError, ValueError):
    """The reconciler's environment is incomplete or wrong; the message names the variable."""


class KubeError(ReconcilerError):
    """The Kubernetes API server refused a request or could not be reached; ``status`` when it answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WatchExpiredError(KubeError):
    """The watch's resourceVersion is too old (410 Gone): list again."""
