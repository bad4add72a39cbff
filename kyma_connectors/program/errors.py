"""Errors of the stack configuration: one base type, one type for "the config is invalid" with every problem in it.

Why collect instead of failing fast: a platform engineer fixing a stack config should see every mistake after one
`pulumi preview`, each with the exact config path to edit, not one mistake per run. Messages never contain secret
values (credentials and webhook secrets are described, not echoed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi


class ConfigError(pulumi.RunError):
    """Base of every stack-config error raised by :mod:`config`.

    A ``pulumi.RunError``: the engine prints its message as the failure reason, without a Python stack trace -- the
    trace would say nothing to someone fixing a config file.
    """


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the config: where (``connectors[1].github.repositories[0]``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigValidationError(ConfigError, ValueError):
    """The stack config breaks the schema or a semantic rule; ``problems`` lists every one of them.

    Raised before any resource is registered, so an invalid config never produces a partial deployment.
    """

    def __init__(self, problems: Sequence[Problem], namespace: str = "kyma-connectors") -> None:
        self.problems = tuple(problems)
        self.namespace = namespace
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{namespace} stack config has {count} problem{'s' if count != 1 else ''}:\n{lines}")

    @property
    def messages(self) -> list[str]:
        """Every problem as ``path: message``, in report order."""
        return [str(problem) for problem in self.problems]
