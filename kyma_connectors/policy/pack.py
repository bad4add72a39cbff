"""Adapter from the pure rules in ``rules.py`` to the policy SDK's ``ResourceValidationPolicy`` objects."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

try:  # from the repository root (tests, mypy)
    from kyma_connectors.policy.rules import RULES, RuleInfo
except ModuleNotFoundError:  # run by the policy analyzer, which puts this directory on sys.path
    from rules import RULES, RuleInfo  # type: ignore[no-redef,import-not-found]


def _validator(info: RuleInfo) -> Any:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in info.check(args.resource_type, args.props):
            report_violation(message, None)

    return validate


def policies() -> list[Policy]:
    """One MANDATORY resource policy per rule, in the order of ``rules.RULES``."""
    return [
        ResourceValidationPolicy(name=info.name, description=info.description, validate=_validator(info),
                                 enforcement_level=EnforcementLevel.MANDATORY)
        for info in RULES
    ]
