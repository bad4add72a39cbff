"""Errors of the operator CLI: one base, mapped to exit code 2 (usage or setup) by the CLI."""

from __future__ import annotations


class ConnectorctlError(Exception):
    """A problem the operator must fix (bad argument, stack not readable, connector not found)."""


class StackError(ConnectorctlError):
    """The stack's state could not be read or does not hold what we look for."""
