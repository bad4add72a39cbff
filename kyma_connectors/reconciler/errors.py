"""Errors of the hook reconciler: one base type, one subclass per thing that can go wrong."""

from __future__ import annotations

from collections.abc import Sequence

from kyma_connectors.core.problems import Problem, ProblemsMixin


class ReconcilerError(Exception):
    """Base of every reconciler error."""


class SettingsError(ProblemsMixin, ReconcilerError, ValueError):
    """The reconciler's environment or mounted credentials are incomplete or wrong; ``problems`` names each."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class KubeError(ReconcilerError):
    """The Kubernetes API server refused a request or could not be reached; ``status`` when it answered."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WatchExpiredError(KubeError):
    """The watch's resourceVersion is too old (410 Gone): list again."""
