"""The registrar's error types and the exit codes they map to.

Why two branches under one base: a Kubernetes Job retries a failed pod up to ``backoffLimit`` times, which helps when
the API server or the registry is briefly away and never helps when a spec is broken. The exit code carries that
difference out of the pod: the RegistrationJob's ``podFailurePolicy`` fails the Job at once on :data:`EXIT_PERMANENT`
(components/registration_job.py ``PERMANENT_EXIT_CODE``) and lets any other code retry. :data:`EXIT_TRANSIENT` is
sysexits.h ``EX_TEMPFAIL``; an unexpected crash (exit 1) is retried too, which is the safe side for a bug that may be
load-dependent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kyma_connectors.core import contract
from kyma_connectors.core.problems import Problem, ProblemsMixin

EXIT_OK: Final[int] = contract.EXIT_OK
EXIT_PERMANENT: Final[int] = contract.EXIT_PERMANENT
"""Bad manifest, bad spec, bad settings, a 4xx answer: retrying with the same input cannot succeed."""
EXIT_TRANSIENT: Final[int] = contract.EXIT_TRANSIENT
"""Connection refused, timeouts, 5xx or 429 after bounded backoff: a retry of the Job may succeed."""


class RegistrarError(Exception):
    """Base of every failure the registrar reports; ``exit_code`` tells a retryable failure from a final one."""

    exit_code: int = EXIT_PERMANENT
    kind: str = "permanent"


class PermanentError(RegistrarError):
    """Retrying with the same input cannot help: fix the input or the cluster, then rerun."""


class SettingsError(ProblemsMixin, PermanentError):
    """The environment does not describe a runnable job; ``problems`` names each missing or malformed variable."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class SpecError(ProblemsMixin, PermanentError):
    """The manifest or a spec file it names is missing or invalid; the message names each file and problem."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class ApiError(PermanentError):
    """The target API refused a request for good (a 4xx other than 429)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(RegistrarError):
    """The target API stayed unreachable or overloaded for the whole backoff budget; the Job may retry."""

    exit_code = EXIT_TRANSIENT
    kind = "transient"
