"""The release workflow (.github/workflows/release.yml) builds what the program deploys by default.

It runs only on GitHub; actionlint (make lint-workflows) checks its syntax and expressions, this checks its content
against the repository: one multi-arch image per default image name, from a Dockerfile that exists.
"""

from __future__ import annotations

from typing import Any

import yaml

from kyma_connectors.program.settings import DEFAULT_IMAGES
from tests.support.paths import REPO

WORKFLOW = REPO / ".github" / "workflows" / "release.yml"


def _workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def test_every_default_image_is_built_from_its_dockerfile() -> None:
    workflow = _workflow()
    image_job = workflow["jobs"]["image"]
    built = {entry["image"]: entry["dockerfile"] for entry in image_job["strategy"]["matrix"]["include"]}
    registry, namespace = workflow["env"]["REGISTRY"], workflow["env"]["NAMESPACE"]
    defaults = {ref.rsplit(":", 1)[0] for ref in DEFAULT_IMAGES.values()}
    assert {f"{registry}/{namespace}/{name}" for name in built} == defaults
    for dockerfile in built.values():
        assert (REPO / dockerfile).is_file(), dockerfile
    push = next(step["with"] for step in image_job["steps"] if step.get("uses", "").startswith("docker/build-push"))
    assert set(push["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert push["push"] is True


def test_it_runs_on_version_tags_only() -> None:
    triggers = _workflow()[True]  # YAML 1.1 reads the key `on` as True
    assert list(triggers) == ["push"]
    assert list(triggers["push"]) == ["tags"]
