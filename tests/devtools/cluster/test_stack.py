"""devtools/cluster/stack.py: reading the engine's event stream, and launching a Python policy pack without a language
host."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
import yaml
from pulumi.automation import events as ev

from devtools.cluster import stack as driver

URN = "urn:pulumi:dev::kyma-connectors::kyma-connectors:index:Connector$"


def _step(seq: int, op: ev.OpType, type_: str, name: str, diffs: list[str] | None = None,
          keys: list[str] | None = None) -> ev.EngineEvent:
    meta = ev.StepEventMetadata(op=op, urn=f"{URN}{type_}::{name}", type=type_, provider="", diffs=diffs, keys=keys)
    return ev.EngineEvent(sequence=seq, timestamp=0, resource_pre_event=ev.ResourcePreEvent(metadata=meta))


def test_step_log_keeps_changes_and_skips_stack_providers_and_reads() -> None:
    log = driver.StepLog()
    for event in (
        _step(1, ev.OpType.SAME, "pulumi:pulumi:Stack", "kyma-connectors-dev"),
        _step(2, ev.OpType.CREATE, "pulumi:providers:kubernetes", "default"),
        _step(3, ev.OpType.UPDATE, "kubernetes:core/v1:Secret", "hook-secret", diffs=["data"]),
        _step(4, ev.OpType.REPLACE, "kubernetes:apps/v1:Deployment", "gw", keys=["spec.selector"]),
        _step(5, ev.OpType.REFRESH, "kubernetes:core/v1:Service", "svc"),
        _step(6, ev.OpType.SAME, "kubernetes:core/v1:ConfigMap", "cm"),
    ):
        log(event)
    assert [s.name for s in log.changed()] == ["hook-secret", "gw"]
    assert [s.name for s in log.changed(include_providers=True)] == ["default", "hook-secret", "gw"]
    assert log.by_op() == {
        "replace": ["kubernetes:apps/v1:Deployment::gw (diffs: ; replace: spec.selector)"],
        "update": ["kubernetes:core/v1:Secret::hook-secret (diffs: data; replace: )"],
    }


def test_step_log_collects_errors_and_policy_violations() -> None:
    log = driver.StepLog()
    log(ev.EngineEvent(sequence=1, timestamp=0,
                       diagnostic_event=ev.DiagnosticEvent(message="boom\n", color="never", severity="error")))
    log(ev.EngineEvent(sequence=2, timestamp=0,
                       diagnostic_event=ev.DiagnosticEvent(message="fyi", color="never", severity="info")))
    log(ev.EngineEvent(sequence=3, timestamp=0, policy_event=ev.PolicyEvent(
        message="a secret-looking key", color="never", policy_name="no-secrets-in-configmaps",
        policy_pack_name="kyma-connectors", policy_pack_version="0.1.0", policy_pack_version_tag="0.1.0",
        enforcement_level="mandatory", resource_urn=f"{URN}kubernetes:core/v1:ConfigMap::leaky")))
    assert log.diagnostics == ["error: boom"]
    assert log.policy_violations == [
        "mandatory kyma-connectors/no-secrets-in-configmaps on leaky: a secret-looking key"]


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    directory = tmp_path / "policy"
    directory.mkdir()
    (directory / "__main__.py").write_text("print('serving')\n")
    (directory / "PulumiPolicy.yaml").write_text(yaml.safe_dump(
        {"runtime": {"name": "python", "options": {"virtualenv": "../venv"}}, "version": "0.1.0"}))
    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(os.path.realpath(sys.executable))  # like a venv: a symlink to the base interpreter
    return directory


def test_policy_pack_becomes_a_launcher_using_the_packs_virtualenv(pack: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no language host anywhere
    launcher = Path(driver.policy_pack_path(pack, tmp_path / "scratch"))
    assert launcher.stat().st_mode & stat.S_IXUSR
    script = launcher.read_text()
    # The venv's own bin/python (not the symlink's target, which would leave the venv).
    assert f"exec {tmp_path / 'venv' / 'bin' / 'python'} -u __main__.py" in script
    assert f"cd {pack}" in script
    assert (launcher.parent / "PulumiPolicy.yaml").read_text() == (pack / "PulumiPolicy.yaml").read_text()


def test_policy_pack_directory_passes_through_when_a_language_host_exists(pack: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    host = tmp_path / "bin" / "pulumi-language-python"
    host.parent.mkdir()
    host.write_text("#!/bin/sh\n")
    host.chmod(0o755)
    monkeypatch.setenv("PATH", str(host.parent))
    assert driver.policy_pack_path(pack, tmp_path / "scratch") == str(pack)


def test_scratch_project_points_the_virtualenv_at_the_repo(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Pulumi.yaml").write_text(yaml.safe_dump(
        {"name": "kyma-connectors", "runtime": {"name": "python", "options": {"virtualenv": ".venv"}}}))
    work = driver.scratch_project(tmp_path / "work", repo)
    project = yaml.safe_load((work / "Pulumi.yaml").read_text())
    assert project["name"] == "kyma-connectors"
    assert project["runtime"]["options"]["virtualenv"] == str(repo / ".venv")
