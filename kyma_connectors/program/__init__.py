"""Stack configuration of kyma-connectors: JSON Schema, validation, typed settings (reference: docs/configuration.md).

Public API (explicit re-exports)::

    from kyma_connectors.program import load_settings, ConfigValidationError
    settings = load_settings()     # inside the Pulumi program; raises before any resource is registered
"""

from kyma_connectors.core.problems import Problem
from kyma_connectors.program.errors import ConfigError, ConfigValidationError
from kyma_connectors.program.loader import NAMESPACE, load_settings, parse, read_raw, validate
from kyma_connectors.program.settings import (
    ApiCredentials,
    ConnectorSettings,
    GitHubApp,
    KymaContract,
    RequestParameters,
    StackSettings,
    build_settings,
)
from kyma_connectors.program.validate import SCHEMA_PATH, SECRET_LEAVES, schema

__all__ = [
    "NAMESPACE",
    "SCHEMA_PATH",
    "SECRET_LEAVES",
    "ApiCredentials",
    "ConfigError",
    "ConfigValidationError",
    "ConnectorSettings",
    "GitHubApp",
    "KymaContract",
    "Problem",
    "RequestParameters",
    "StackSettings",
    "build_settings",
    "load_settings",
    "parse",
    "read_raw",
    "schema",
    "validate",
]
