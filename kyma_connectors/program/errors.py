"""Errors of the stack configuration: one base type, one type for "the config is invalid" with every problem in it.

Why collect instead of failing fast: a platform engineer fixing a stack config should see every mistake after one
`pulumi preview`, each with the exact config path to edit, not one mistake per run. Messages never contain secret
values (credentials and webhook secrets are described, not echoed).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from kyma_connectors.core.problems import Problem, ProblemsMixin, report


class ConfigError(pulumi.RunError):
    """Base of every stack-config error raised by :mod:`kyma_connectors.program`.

    A ``pulumi.RunError``: the engine prints its message as the failure reason, without a Python stack trace -- the
    trace would say nothing to someone fixing a config file.
    """


class ConfigValidationError(ProblemsMixin, ConfigError, ValueError):
    """The stack config breaks the schema or a semantic rule; ``problems`` lists every one of them.

    Raised before any resource is registered, so an invalid config never produces a partial deployment.
    """

    def __init__(self, problems: Sequence[Problem], namespace: str = "kyma-connectors") -> None:
        self.problems = tuple(problems)
        self.namespace = namespace
        super().__init__(report(f"{namespace} stack config", self.problems))
