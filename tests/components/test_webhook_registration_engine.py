"""WebhookRegistration under the real Pulumi CLI and engine (Automation API inline program) against the GitHub double.

The proof mocks cannot give: the engine's Check/Diff/Create/Read/Update/Delete calls through the dynamic-provider
shim, secrets encrypted in the state file, drift shown by a refresh + preview and repaired by ``up``, a hook deleted
by hand re-created, ``destroy`` leaving nothing, and ``connectorctl backfill`` reading the real stack export.
Needs the ``pulumi`` CLI on PATH (``make toolchain``; ``make e2e`` sources devtools/cluster/env.sh); skipped otherwise.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

from devtools.doubles.github import GitHubDouble
from kyma_connectors.cli.cli import main as connectorctl
from tests.kyma_connectors.hooks.helpers import SECRET, TOKEN, Receiver, admin
from tests.support.paths import REPO

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("pulumi") is None, reason="no pulumi CLI on PATH (make toolchain; source env)"),
]
PASSPHRASE = "webhook-engine-test"


@dataclass
class Diffs:
    """Property keys the engine reports as changed, per resource name (from resource-pre events)."""

    seen: dict[str, set[str]] = field(default_factory=dict)

    def __call__(self, event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is not None and pre.metadata.op not in (auto.OpType.SAME, auto.OpType.READ):
            name = pre.metadata.urn.rsplit("::", 1)[-1]
            self.seen.setdefault(name, set()).update(pre.metadata.diffs or [])


@pytest.fixture
def stack(tmp_path: Path, github: GitHubDouble, gateway: Receiver) -> auto.Stack:
    def program() -> None:
        from components.webhook_registration import WebhookRegistration, WebhookRegistrationArgs

        hook = WebhookRegistration(
            "gh-hook",
            WebhookRegistrationArgs(
                solution="github",
                api_url=github.url,
                target="octo/hello",
                url=gateway.url,
                events=["push", "issues"],
                secret=pulumi.Output.secret(SECRET),
                token=pulumi.Output.secret(TOKEN),
            ),
        )
        pulumi.export("hook_id", hook.hook_id)
        pulumi.export("ping_status", hook.ping_status)

    backend = tmp_path / "state"
    backend.mkdir()
    env = {
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": os.environ.get("PULUMI_PYTHON_CMD", sys.executable),
        "PYTHONPATH": str(REPO),  # the provider host unpickles components.webhook_registration from here
    }
    options = auto.LocalWorkspaceOptions(
        work_dir=str(tmp_path), env_vars=env, project_settings=auto.ProjectSettings(name="wr-engine", runtime="python")
    )
    return auto.create_or_select_stack("dev", project_name="wr-engine", program=program, opts=options)


def quiet(_: str) -> None:
    """Swallow the engine's progress output."""


def test_lifecycle_under_the_real_engine(
    stack: auto.Stack, github: GitHubDouble, gateway: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = stack.up(on_output=quiet)
    assert up.outputs["ping_status"].value == "ok"
    hook_id = up.outputs["hook_id"].value
    assert [str(h["id"]) for h in admin(github.url, "GET", "hooks")] == [hook_id]
    raw = next((tmp_path / "state").rglob("dev.json")).read_text()
    assert SECRET not in raw
    assert TOKEN not in raw  # encrypted with the stack's secrets provider, not plaintext

    assert stack.preview(on_output=quiet).change_summary.get(auto.OpType.UPDATE, 0) == 0  # idempotent

    admin(github.url, "PATCH", f"hooks/{hook_id}", {"events": ["star"], "config": {"content_type": "form"}})
    stack.refresh(on_output=quiet)
    diffs = Diffs()
    assert stack.preview(on_output=quiet, on_event=diffs).change_summary.get(auto.OpType.UPDATE) == 1
    assert {"events", "content_type"} <= diffs.seen["gh-hook"]
    stack.up(on_output=quiet)
    hook = admin(github.url, "GET", "hooks")[0]
    assert (hook["events"], hook["config"]["content_type"], hook["config"]["secret"]) == (
        ["push", "issues"],
        "json",
        SECRET,
    )

    admin(github.url, "DELETE", f"hooks/{hook_id}")
    stack.refresh(on_output=quiet)
    assert stack.preview(on_output=quiet).change_summary.get(auto.OpType.CREATE) == 1
    hook_id = stack.up(on_output=quiet).outputs["hook_id"].value
    assert [str(h["id"]) for h in admin(github.url, "GET", "hooks")] == [hook_id]

    # An outage: two deliveries failed. connectorctl finds them through `pulumi stack export` and redelivers.
    hook = github.world.hooks[int(hook_id)]
    for guid in ("missed-1", "missed-2"):
        github.world.record_delivery(
            hook,
            guid=guid,
            event="push",
            status_code=503,
            delivered_at=(datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    for key, value in stack.workspace.env_vars.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    code = connectorctl(
        ["backfill", "--stack", "dev", "--connector", "gh", "--since", "1h", "--apply", "--cwd", str(tmp_path)], out=out
    )
    assert code == 0, out.getvalue()
    assert "redelivered 2, refused 0" in out.getvalue()
    assert [r.headers["X-GitHub-Delivery"] for r in gateway.received][-2:] == ["missed-1", "missed-2"]
    assert TOKEN not in out.getvalue()

    stack.destroy(on_output=quiet)
    assert admin(github.url, "GET", "hooks") == []
    assert json.loads(json.dumps(github.world.violations)) == []
