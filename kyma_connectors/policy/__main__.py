"""The kyma-connectors policy pack: ``pulumi preview --policy-pack kyma_connectors/policy`` (docs/program.md).

Every rule is MANDATORY: a violation fails the preview or update. The rules themselves are pure functions in
``rules.py``; this entry point only adapts them to the policy SDK, which starts serving as soon as the pack is built.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyPack

try:  # from the repository root (tests, mypy)
    from kyma_connectors.policy.pack import policies
except ModuleNotFoundError:  # run by the policy analyzer, which puts this directory on sys.path
    from pack import policies  # type: ignore[no-redef,import-not-found]

PolicyPack(name="kyma-connectors", policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
