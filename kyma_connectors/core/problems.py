"""One error shape for bad input everywhere: a list of :class:`Problem` (where, what), reported all at once.

Why one shape: a stack config, a pod's environment, a registration manifest and a spec file are all input someone
fixes by hand. Each package raises its own exception type (one base per package), but every one of them carries the
same ``problems`` tuple, so the program, the services and the CLI report "path: message" lines the same way, and a
user fixing one file sees every mistake after one run instead of one per run. Messages never echo secret values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input: where (``connectors[1].events[0]``, ``GATEWAY_PORT``, a file) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def report(subject: str, problems: Iterable[Problem]) -> str:
    """``<subject> has N problem(s):`` and one indented ``- path: message`` line per problem, in the given order."""
    found = tuple(problems)
    count = len(found)
    lines = "\n".join(f"  - {problem}" for problem in found)
    return f"{subject} has {count} problem{'s' if count != 1 else ''}:\n{lines}"


class ProblemsMixin:
    """What every package's "invalid input" exception shares: ``problems`` and ``messages``.

    Mixed into each package's own error type (``ConfigValidationError(ConfigError)``, the gateway's ``ConfigError``,
    the registrar's ``SettingsError``/``SpecError``, ...), so callers catch their package's base and read the same
    fields.
    """

    problems: tuple[Problem, ...]

    @classmethod
    def at(cls, path: str, message: str) -> Self:
        """The error for one problem (the subclass's ``__init__`` takes the problems)."""
        return cls([Problem(path, message)])  # type: ignore[call-arg]

    @property
    def messages(self) -> list[str]:
        """Every problem as ``path: message``, in report order."""
        return [str(problem) for problem in self.problems]
