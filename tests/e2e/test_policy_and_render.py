"""The policy pack enforced by the real engine, and render-to-directory mode producing manifests the API server takes.

- `pulumi preview --policy-pack policy`: the pack passes on the program's own resources and stops a preview that
  breaks a mandatory rule (a credential in a ConfigMap), naming the rule.
- `renderYamlToDirectory`: `pulumi up` writes manifests instead of applying them (GitOps); every rendered manifest
  is then created in the local API server the way a GitOps tool would apply it, so CRD schemas, CEL rules and
  built-in validation all run on it; `pulumi destroy` removes the files again.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.cluster import stack as driver
from devtools.cluster.kubeapi import KubeApi, KubeApiError
from tests.e2e.conftest import GitHubDoubleProcess
from tests.e2e.project import make_project
from tests.e2e.test_lifecycle import EVENTS, SUBJECT
from tests.support.paths import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300), pytest.mark.usefixtures("program_ready")]

RENDER_NAMESPACE = "kc-render"


@pytest.fixture
def policy_dir() -> Path:
    path = REPO / "kyma_connectors" / "policy"
    if not (path / "PulumiPolicy.yaml").exists():
        pytest.skip("the policy pack (kyma_connectors/policy/) is not in the repo yet")
    return path


def test_policy_pack_passes_on_the_program(e2e_plane: Path, github_double: GitHubDoubleProcess, state_dir: Path,
                                           policy_dir: Path, tmp_path: Path) -> None:
    project = make_project(tmp_path, "policy", state_dir, e2e_plane)
    project.set_config(SUBJECT.config(github_double.url, EVENTS),
                       {"connectors[0].credentials.token": github_double.token,
                        "connectors[0].webhookSecret": "policy-e2e-secret"})
    pack = driver.policy_pack_path(policy_dir, tmp_path / "pack")
    log, result = driver.run("preview", project.stack, policy_packs=[pack], quiet=True, diff=True)
    assert "Policy Packs run" in result.stdout
    assert "kyma-connectors|" in result.stdout  # the pack's name as the engine reports it
    assert {step.op for step in log.changed()} == {"create"}


def test_policy_pack_stops_a_mandatory_violation(e2e_plane: Path, state_dir: Path, policy_dir: Path,
                                                 tmp_path: Path) -> None:
    program = tmp_path / "violating" / "__main__.py"
    program.parent.mkdir()
    program.write_text(textwrap.dedent('''
        import pulumi_kubernetes as k8s
        k8s.core.v1.ConfigMap("leaky", metadata={"namespace": "kyma-system"},
                              data={"password": "hunter2-but-longer"})
    '''))
    project = make_project(tmp_path, "violating", state_dir, e2e_plane, program=program)
    pack = driver.policy_pack_path(policy_dir, tmp_path / "pack")
    with pytest.raises(driver.StackError) as failed:
        driver.run("preview", project.stack, policy_packs=[pack], quiet=True)
    assert "no-secrets-in-configmaps" in str(failed.value)


@pytest.fixture
def render_dir(tmp_path: Path) -> Path:
    return tmp_path / "rendered"


def _manifests(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(root.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path, doc))
    return found


def _collection(api: KubeApi, obj: dict[str, Any]) -> str:
    """The list path of an object's kind, from discovery (plural names are the server's business)."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    resources = (api.get(base) or {}).get("resources", [])
    match = next(r for r in resources if r["kind"] == kind and "/" not in r["name"])
    namespace = obj["metadata"].get("namespace")
    return f"{base}/namespaces/{namespace}/{match['name']}" if match["namespaced"] else f"{base}/{match['name']}"


@pytest.fixture
def applied(e2e_api: KubeApi) -> Iterator[list[str]]:
    """Paths of objects a test applied; deleted afterwards."""
    paths: list[str] = []
    yield paths
    for path in reversed(paths):
        e2e_api.delete(path)


def test_render_mode_writes_manifests_the_api_server_accepts(
        e2e_api: KubeApi, github_double: GitHubDoubleProcess, state_dir: Path, render_dir: Path, tmp_path: Path,
        applied: list[str]) -> None:
    project = make_project(tmp_path, "render", state_dir, kubeconfig=None)
    values = SUBJECT.config(github_double.url, EVENTS) | {"namespace": RENDER_NAMESPACE,
                                                         "renderYamlToDirectory": str(render_dir)}
    values["connectors[0].name"] = "github-render"
    project.set_config(values, {"connectors[0].credentials.token": github_double.token,
                                "connectors[0].webhookSecret": "render-e2e-secret"})
    driver.run("up", project.stack, quiet=True)
    manifests = _manifests(render_dir)
    kinds = {doc["kind"] for _, doc in manifests}
    assert {"Application", "APIRule", "Deployment", "Service", "Job", "Secret"} <= kinds

    # Apply them as a GitOps tool would: namespaces first, then everything else. Any schema, CEL or built-in
    # validation failure raises with the server's message.
    ordered = sorted(manifests, key=lambda item: item[1]["kind"] != "Namespace")
    for path, doc in ordered:
        try:
            created = e2e_api.create(_collection(e2e_api, doc), doc)
        except KubeApiError as exc:
            pytest.fail(f"{path.name}: the API server rejected the rendered {doc['kind']}: {exc}")
        applied.append(f"{_collection(e2e_api, doc)}/{created['metadata']['name']}")

    driver.run("destroy", project.stack, quiet=True)
    assert _manifests(render_dir) == []
