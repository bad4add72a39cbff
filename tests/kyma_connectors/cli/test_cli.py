"""``python -m kyma_connectors.cli backfill``: stack state in, failed deliveries found, redelivered only with
--apply."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devtools.doubles.github import GitHubDouble
from kyma_connectors.cli.cli import main, parse_since
from kyma_connectors.cli.errors import ConnectorctlError
from kyma_connectors.cli.stack import SECRET_SIG, TYPE, registrations
from tests.kyma_connectors.hooks.helpers import SECRET, TOKEN, Receiver

pytestmark = pytest.mark.timeout(60)


def secret(value: str) -> dict[str, str]:
    """How ``pulumi stack export --show-secrets`` writes a secret value."""
    return {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "plaintext": json.dumps(value)}


def resource(name: str, outputs: dict[str, Any]) -> dict[str, Any]:
    parent = "kyma-connectors:index:Connector"
    return {
        "urn": f"urn:pulumi:dev::kyma-connectors::{parent}${TYPE}::{name}",
        "type": TYPE,
        "id": outputs.get("hook_id"),
        "outputs": outputs,
    }


def export(github: GitHubDouble, gateway: Receiver, hook_id: int) -> dict[str, Any]:
    outputs = {
        "solution": "github",
        "api_url": github.url,
        "target": "octo/hello",
        "url": gateway.url,
        "events": ["push"],
        "active": True,
        "secret": secret(SECRET),
        "token": secret(TOKEN),
        "hook_id": str(hook_id),
        "__provider": secret("blob"),
    }
    qualtrics = {
        "solution": "qualtrics",
        "api_url": "https://fra1.qualtrics.com/API/v3",
        "target": "",
        "url": "https://gw.example/q",
        "events": ["a.b"],
        "secret": secret("k"),
        "token": secret("t"),
        "hook_id": "SUB_1",
    }
    return {
        "version": 3,
        "deployment": {
            "resources": [
                {
                    "urn": "urn:pulumi:dev::kyma-connectors::pulumi:pulumi:Stack::kyma-connectors-dev",
                    "type": "pulumi:pulumi:Stack",
                },
                resource("gh-hook-octo-hello", outputs),
                resource("survey-hook", qualtrics),
            ]
        },
    }


def outage(github: GitHubDouble, url: str) -> int:
    hook = github.world.new_hook("repo", "octo/hello", ["push"], True, {"url": url, "secret": SECRET})
    now = datetime.now(UTC)
    github.world.record_delivery(
        hook,
        guid="ancient",
        event="push",
        status_code=502,
        delivered_at=(now - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    for i in range(3):
        github.world.record_delivery(
            hook,
            guid=f"lost-{i}",
            event="push",
            status_code=502,
            delivered_at=(now - timedelta(minutes=30 - i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    return hook.id


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_dry_run_lists_but_sends_nothing(github: GitHubDouble, gateway: Receiver, tmp_path: Path) -> None:
    state = tmp_path / "dev.json"
    state.write_text(json.dumps(export(github, gateway, outage(github, gateway.url))))
    code, text = run("backfill", "--stack", "dev", "--connector", "gh", "--since", "2h", "--state", str(state))
    assert code == 0
    assert "3 never delivered" in text
    assert "lost-0" in text
    assert "ancient" not in text
    assert "would redeliver 3" in text
    assert gateway.received == []
    assert TOKEN not in text
    assert SECRET not in text


def test_apply_redelivers_then_a_second_run_finds_nothing(
    github: GitHubDouble, gateway: Receiver, tmp_path: Path
) -> None:
    state = tmp_path / "dev.json"
    state.write_text(json.dumps(export(github, gateway, outage(github, gateway.url))))
    args = ["backfill", "--stack", "dev", "--connector", "gh", "--since", "2h", "--state", str(state)]
    code, text = run(*args, "--apply")
    assert code == 0
    assert "redelivered 3, refused 0" in text
    assert [r.headers["X-GitHub-Delivery"] for r in gateway.received] == ["lost-0", "lost-1", "lost-2"]
    code, text = run(*args)
    assert "0 never delivered" in text


def test_reads_state_through_the_pulumi_cli(github: GitHubDouble, gateway: Receiver, tmp_path: Path) -> None:
    """Without --state it runs `pulumi stack export --stack dev --show-secrets` in the project directory."""
    document = tmp_path / "export.json"
    document.write_text(json.dumps(export(github, gateway, outage(github, gateway.url))))
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "pulumi"
    fake.write_text(
        f"#!{sys.executable}\nimport sys, pathlib\n"
        f"pathlib.Path({str(calls)!r}).write_text(' '.join(sys.argv[1:]) + ' @ ' + str(pathlib.Path.cwd()))\n"
        f"print(pathlib.Path({str(document)!r}).read_text())\n"
    )
    fake.chmod(0o755)
    code, text = run(
        "backfill",
        "--stack",
        "dev",
        "--connector",
        "gh",
        "--since",
        "1h",
        "--pulumi",
        str(fake),
        "--cwd",
        str(tmp_path),
    )
    assert code == 0
    assert "3 never delivered" in text
    assert calls.read_text() == f"stack export --stack dev --show-secrets @ {tmp_path}"


def test_qualtrics_connectors_are_skipped_with_a_reason(
    tmp_path: Path, github: GitHubDouble, gateway: Receiver
) -> None:
    state = tmp_path / "dev.json"
    state.write_text(json.dumps(export(github, gateway, 1)))
    code, text = run("backfill", "--stack", "dev", "--connector", "survey", "--since", "2h", "--state", str(state))
    assert code == 0
    assert "keeps no delivery log" in text


def test_unknown_connector_names_the_ones_that_exist(
    tmp_path: Path, github: GitHubDouble, gateway: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "dev.json"
    state.write_text(json.dumps(export(github, gateway, 1)))
    code, _ = run("backfill", "--stack", "dev", "--connector", "nope", "--since", "2h", "--state", str(state))
    assert code == 2
    assert "gh-hook-octo-hello, survey-hook" in capsys.readouterr().err


def test_encrypted_export_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "dev.json"
    outputs = {"solution": "github", "token": {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "x"}}
    state.write_text(json.dumps({"deployment": {"resources": [resource("gh-hook", outputs)]}}))
    code, _ = run("backfill", "--stack", "dev", "--connector", "gh", "--since", "2h", "--state", str(state))
    assert code == 2
    assert "--show-secrets" in capsys.readouterr().err


def test_parent_connector_decides_over_name_prefixes(tmp_path: Path, github: GitHubDouble, gateway: Receiver) -> None:
    """Connector "gh" must not pick up the hooks of a connector named "gh-hook" (same name prefix)."""
    document = export(github, gateway, 1)
    other = resource("gh-hook-hook-x", document["deployment"]["resources"][1]["outputs"])
    other["parent"] = "urn:pulumi:dev::kyma-connectors::kyma-connectors:index:Connector::gh-hook"
    document["deployment"]["resources"][1]["parent"] = (
        "urn:pulumi:dev::kyma-connectors::kyma-connectors:index:Connector::gh"
    )
    document["deployment"]["resources"].append(other)
    assert [r.name for r in registrations(document, "gh")] == ["gh-hook-octo-hello"]
    assert [r.name for r in registrations(document, "gh-hook")] == ["gh-hook-hook-x"]


def test_parse_since() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now) == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert parse_since("90m", now) == datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    assert parse_since("2026-11-27T22:00:00Z", now) == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    with pytest.raises(ConnectorctlError, match="duration like 2h"):
        parse_since("yesterday", now)
