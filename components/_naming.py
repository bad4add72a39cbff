"""One place for the program's names: the type-token prefix and how child and Kubernetes names derive from a prefix.

Why it matters: Pulumi URNs and Kubernetes object names are a contract with existing stacks -- renaming a child
replaces the object. Every name here is a pure function of the connector's name (never of an Output, never of its
position in the config list), so adding or removing another connector leaves this one's names untouched.
"""

from __future__ import annotations

from typing import Final

from kyma_connectors.program.validate import application_type

__all__ = ["PKG", "application_type", "child", "labels", "token"]

PKG: Final[str] = "kyma-connectors"
"""Package part of every component type token (``kyma-connectors:index:<Type>``); equals the project name."""


def token(type_name: str) -> str:
    """``kyma-connectors:index:<TypeName>``; PascalCase noun, never renamed without an alias."""
    return f"{PKG}:index:{type_name}"


def child(prefix: str, role: str) -> str:
    """Logical (and Kubernetes) name of a child: ``<prefix>-<role>``."""
    return f"{prefix}-{role}"


def labels(connector: str, component: str) -> dict[str, str]:
    """Recommended ``app.kubernetes.io`` labels for an object of ``component`` belonging to ``connector``."""
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/instance": connector,
        "app.kubernetes.io/part-of": PKG,
        "app.kubernetes.io/managed-by": "pulumi",
    }
