"""Reading the ``kyma-connectors:`` config namespace from Pulumi and turning it into :class:`StackSettings`.

How secrets inside the structured ``connectors`` list stay secret: Pulumi decrypts ``secure:`` leaves before the
program runs and marks the whole top-level key secret (``pulumi config set --secret --path
'connectors[0].credentials.token'`` makes ``kyma-connectors:connectors`` a secret key). The program needs the list's
*shape* as plain data -- how many connectors, which solution, which targets decide which resources exist, and
resources must never be created inside ``apply`` -- so it reads the structure once, and wraps every secret field
(:data:`config.validate.SECRET_LEAVES`) in ``pulumi.Output.secret`` right here, before any component sees it. A
credential found in a key Pulumi does *not* hold encrypted is refused with the ``pulumi config set --secret`` command
that fixes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from pulumi.runtime import config as runtime_config

from kyma_connectors.core.problems import Problem
from kyma_connectors.program.errors import ConfigValidationError
from kyma_connectors.program.settings import SecretFn, StackSettings, build_settings
from kyma_connectors.program.validate import schema, schema_problems, semantic_problems

NAMESPACE: Final[str] = "kyma-connectors"
_NUMBER: Final[re.Pattern[str]] = re.compile(r"(\d+)")


def read_raw(values: Mapping[str, str], namespace: str = NAMESPACE) -> dict[str, Any]:
    """The namespace's keys (without prefix) with values decoded the way Pulumi encodes them.

    Pulumi hands every value to the program as a string: objects and lists as JSON, booleans as ``true``/``false``.
    Keys the schema types as strings stay strings; other values are JSON-decoded when they parse (so a malformed
    value reaches the schema check as a string and gets a precise "expected a boolean" message).
    """
    types = {key: spec.get("type") for key, spec in schema()["properties"].items()}
    raw: dict[str, Any] = {}
    for full_key, value in values.items():
        ns, _, key = full_key.partition(":")
        if ns != namespace or not key:
            continue
        raw[key] = value if types.get(key) == "string" else _decode(value)
    return raw


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _natural(problem: Problem) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in _NUMBER.split(problem.path))


def validate(raw: Mapping[str, Any], *, secret_keys: frozenset[str] = frozenset()) -> list[Problem]:
    """Every problem of a raw config: schema first; semantic rules add only paths the schema did not flag."""
    problems = schema_problems(raw)
    flagged = {problem.path for problem in problems}
    problems += [p for p in semantic_problems(raw, secret_keys=secret_keys) if p.path not in flagged]
    return sorted(dict.fromkeys(problems), key=_natural)


def parse(
    raw: Mapping[str, Any], *, secret_keys: frozenset[str] = frozenset(), secret: SecretFn | None = None
) -> StackSettings:
    """Validate ``raw`` and build the settings; raises :class:`ConfigValidationError` listing every problem."""
    problems = validate(raw, secret_keys=secret_keys)
    if problems:
        raise ConfigValidationError(problems, NAMESPACE)
    return build_settings(raw) if secret is None else build_settings(raw, secret)


def load_settings() -> StackSettings:
    """The current stack's settings, read from the Pulumi runtime's config (call inside a Pulumi program)."""
    values: Mapping[str, str] = runtime_config.CONFIG.get()
    prefix = f"{NAMESPACE}:"
    secret_keys = frozenset(
        key.removeprefix(prefix) for key in values if key.startswith(prefix) and runtime_config.is_config_secret(key)
    )
    return parse(read_raw(values), secret_keys=secret_keys)
