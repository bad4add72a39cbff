"""Stack configuration of kyma-connectors: JSON Schema, validation, typed settings (see the README's reference).

Public API (explicit re-exports)::

    from config import load_settings, ConfigValidationError
    settings = load_settings()     # inside the Pulumi program; raises before any resource is registered
"""

from config.errors import ConfigError, ConfigValidationError, Problem
from config.loader import NAMESPACE, load_settings, parse, read_raw, validate
from config.settings import (
    ApiCredentials,
    ConnectorSettings,
    GitHubApp,
    KymaContract,
    RequestParameters,
    StackSettings,
    build_settings,
)
from config.validate import SCHEMA_PATH, SECRET_LEAVES, schema

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
