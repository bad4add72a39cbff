"""The users' CI workflow (docs/examples/github-workflow.yml): it cannot run here, so pin down its conventions
instead."""

from __future__ import annotations

from typing import Any

import yaml

from tests.support.paths import REPO

WORKFLOW = REPO / "docs" / "examples" / "github-workflow.yml"


def _workflow() -> dict[Any, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def _pulumi_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    return dict(step)


def test_pull_requests_preview_with_the_policy_pack() -> None:
    jobs = _workflow()["jobs"]
    assert set(_workflow()[True]) == {"pull_request", "push"}  # YAML 1.1 reads the `on:` key as True
    step = _pulumi_step(jobs["preview"])
    assert jobs["preview"]["if"] == "github.event_name == 'pull_request'"
    assert step["with"]["command"] == "preview"
    assert step["with"]["policyPacks"] == "kyma_connectors/policy"
    assert step["with"]["comment-on-pr"] is True


def test_merges_update_dev_then_prod() -> None:
    jobs = _workflow()["jobs"]
    assert jobs["up-dev"]["environment"] == "dev"
    assert jobs["up-prod"]["environment"] == "prod"
    assert jobs["up-prod"]["needs"] == "up-dev"
    for name in ("up-dev", "up-prod"):
        assert _pulumi_step(jobs[name])["with"]["command"] == "up"


def test_no_secret_values_in_the_workflow() -> None:
    """Credentials come from the environment's secrets; the file only references them."""
    for job in _workflow()["jobs"].values():
        for step in job["steps"]:
            for value in (step.get("env") or {}).values():
                assert str(value).startswith("${{ secrets.")
