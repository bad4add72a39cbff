"""``managed_events`` under the real Pulumi CLI and engine: the hook reconciler's changes are no drift, never reverted.

The engine drives Check/Diff/Create/Read/Update/Delete through the dynamic-provider shim, as ``pulumi up`` does for a
connector with ``events: subscribed``. What the reconciler does to the hook (its own ``PATCH {events, active}``) must
survive ``refresh``, ``preview`` and ``up``; a real change (a new secret) updates only ``config``; ``destroy`` still
removes the hook. Needs the ``pulumi`` CLI on PATH; skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

from devtools.doubles.github import GitHubDouble
from kyma_connectors.hooks.github import GitHubHooks
from tests.components.test_webhook_registration_engine import PASSPHRASE, Diffs, quiet
from tests.kyma_connectors.hooks.helpers import SECRET, TOKEN, Receiver, admin, github_spec
from tests.support.paths import REPO

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("pulumi") is None, reason="no pulumi CLI on PATH (make toolchain; source env)"),
]


def managed_program(github: GitHubDouble, gateway: Receiver, secret: str) -> Callable[[], None]:
    def program() -> None:
        from components.webhook_registration import WebhookRegistration, WebhookRegistrationArgs

        hook = WebhookRegistration("gh-hook", WebhookRegistrationArgs(
            solution="github", api_url=github.url, target="octo/hello", url=gateway.url,
            events=["push", "issues"], secret=pulumi.Output.secret(secret), token=pulumi.Output.secret(TOKEN),
            managed_events=True, active=False,
        ))
        pulumi.export("hook_id", hook.hook_id)

    return program


def test_the_engine_leaves_the_reconcilers_fields_alone(tmp_path: Path, github: GitHubDouble,
                                                        gateway: Receiver) -> None:
    backend = tmp_path / "state"
    backend.mkdir()
    env = {
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_PYTHON_CMD": os.environ.get("PULUMI_PYTHON_CMD", sys.executable), "PYTHONPATH": str(REPO),
    }
    options = auto.LocalWorkspaceOptions(work_dir=str(tmp_path), env_vars=env,
                                         project_settings=auto.ProjectSettings(name="wr-managed", runtime="python"))
    stack = auto.create_or_select_stack("dev", project_name="wr-managed",
                                        program=managed_program(github, gateway, SECRET), opts=options)

    hook_id = stack.up(on_output=quiet).outputs["hook_id"].value
    (hook,) = admin(github.url, "GET", "hooks")
    assert (hook["events"], hook["active"]) == (["push", "issues"], False)  # created inactive

    # The reconciler: a Subscription for releases appeared.
    GitHubHooks.for_spec(github_spec(github.url, gateway.url, target="octo/hello")).patch_events(
        hook_id, ["release"], active=True)
    stack.refresh(on_output=quiet)
    diffs = Diffs()
    preview = stack.preview(on_output=quiet, on_event=diffs)
    assert preview.change_summary.get(auto.OpType.UPDATE, 0) == 0, diffs.seen  # no drift reported
    stack.up(on_output=quiet)
    (hook,) = admin(github.url, "GET", "hooks")
    assert (hook["events"], hook["active"]) == (["release"], True)  # not reverted

    # A real change (a rotated secret) updates config only.
    stack.workspace.program = managed_program(github, gateway, "rotated-secret")
    stack.up(on_output=quiet)
    (hook,) = admin(github.url, "GET", "hooks")
    assert (hook["events"], hook["active"], hook["config"]["secret"]) == (["release"], True, "rotated-secret")

    stack.destroy(on_output=quiet)
    assert admin(github.url, "GET", "hooks") == []
    assert github.world.violations == []
