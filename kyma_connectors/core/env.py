"""The one environment reader: typed values from ``<PREFIX>NAME`` variables, every problem collected, none echoed.

Why shared: the gateway and the registrar both start from their pod's environment, written by the Pulumi program
(:mod:`kyma_connectors.core.contract` names the variables). A service that stops at the first bad variable costs a
pod restart per mistake; this reader keeps going and reports each one as a :class:`~kyma_connectors.core.problems.
Problem` whose path is the variable's name. Values that may carry credentials (URLs, secrets) are never shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlsplit

from kyma_connectors.core.problems import Problem

E = TypeVar("E", bound=Enum)
HEADER_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
"""An HTTP header field name (RFC 9110 token)."""


class EnvReader:
    """Reads ``prefix + name`` variables; a missing optional variable is its default, a bad one a :class:`Problem`."""

    def __init__(self, environ: Mapping[str, str], prefix: str = "") -> None:
        self.environ = environ
        self.prefix = prefix
        self.problems: list[Problem] = []

    def full(self, name: str) -> str:
        """The variable's full name: ``name`` itself when it already carries the prefix (a contract constant)."""
        return name if name.startswith(self.prefix) else self.prefix + name

    def problem(self, name: str, message: str) -> None:
        """Record a problem with the variable (for rules that span several variables)."""
        self.problems.append(Problem(self.full(name), message))

    def raw(self, name: str) -> str | None:
        """The stripped value, or None when unset or blank."""
        value = self.environ.get(self.full(name))
        return value.strip() if value is not None and value.strip() != "" else None

    def _bad(self, name: str, expected: str, shown: str | None) -> None:
        self.problem(name, f"expected {expected}" + (f", got {shown!r}" if shown is not None else ""))

    def text(self, name: str, default: str | None, pattern: re.Pattern[str] | None = None,
             expected: str = "") -> str | None:
        """A string (matching ``pattern`` when given); ``default=None`` makes it required."""
        raw = self.raw(name)
        if raw is None:
            if default is None:
                self.problem(name, "required, not set" + (f" ({expected})" if expected else ""))
            return default
        if pattern is not None and not pattern.match(raw):
            self._bad(name, expected, raw)
            return default
        return raw

    def header(self, name: str, default: str) -> str:
        """An HTTP header name."""
        return self.text(name, default, HEADER_PATTERN, "an HTTP header name") or default

    def secret_list(self, name: str, what: str) -> tuple[str, ...]:
        """A required comma-separated list of secret values (never shown in a problem)."""
        raw = self.environ.get(self.full(name), "")
        values = tuple(part.strip() for part in raw.split(",") if part.strip())
        if not values:
            self.problem(name, f"required, not set (comma-separated list of {what})")
        return values

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            self._bad(name, f"an integer in [{low}, {high}]", raw)
            return default
        return value

    def seconds(self, name: str, default: float, *, zero: bool = False, high: float = 86_400) -> float:
        """A duration in seconds, positive (or zero when ``zero``) and below ``high``."""
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not (value >= 0 if zero else value > 0) or value >= high:
            self._bad(name, f"a number of seconds in {'[' if zero else '('}0, {high:g})", raw)
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        """``true``/``false`` (also 1/0, yes/no, on/off)."""
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        self._bad(name, "true or false", raw)
        return default

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        """One of ``allowed`` (case-insensitive)."""
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() not in allowed:
            self._bad(name, "one of " + ", ".join(allowed), raw)
            return default
        return raw.lower()

    def enum(self, name: str, kind: type[E], default: E | None) -> E | None:
        """A member of ``kind`` by value; ``default=None`` makes it required."""
        raw = self.raw(name)
        values = " | ".join(str(member.value) for member in kind)
        if raw is None:
            if default is None:
                self.problem(name, f"required, not set (one of {values})")
            return default
        try:
            return kind(raw.lower())
        except ValueError:
            self._bad(name, f"one of {values}", raw)
            return default

    def url(self, name: str, default: str | None) -> str | None:
        """An http(s) base URL without query or fragment, trailing ``/`` removed; never echoed (may hold a password)."""
        raw = self.raw(name)
        if raw is None:
            if default is None:
                self.problem(name, "required, not set (an http(s) URL)")
            return default
        parts = urlsplit(raw)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
            self._bad(name, "an http(s) base URL without query", None)
            return default
        return raw.rstrip("/")

    def directory(self, name: str, default: Path | None, *, must_exist: bool = False) -> Path | None:
        """A path; with ``must_exist`` it must be an existing directory. ``default=None`` makes it required."""
        raw = self.raw(name)
        if raw is None:
            if default is None:
                self.problem(name, "required, not set (a directory)")
            return default
        path = Path(raw)
        if must_exist and not path.is_dir():
            self.problem(name, f"{path} is not a directory")
        return path
