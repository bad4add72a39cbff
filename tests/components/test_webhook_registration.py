"""WebhookRegistration: the thin provider against the GitHub double, dill round trip in a fresh interpreter, mocks."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import dill  # type: ignore[import-untyped]
import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from components.webhook_registration import (
    PROVIDER_VERSION,
    WebhookRegistration,
    WebhookRegistrationArgs,
    WebhookRegistrationProvider,
)
from devtools.doubles.github import GitHubDouble
from kyma_connectors.hooks.spec import UNKNOWN
from tests.kyma_connectors.hooks.helpers import SECRET, TOKEN, Receiver, admin, provider_inputs
from tests.support import pulumi_sdk_compat as sdk
from tests.support.paths import REPO
from tests.support.pulumi_mocks import MockStack

pytestmark = pytest.mark.timeout(60)
TYPE = "pulumi-python:dynamic/kyma-connectors:WebhookRegistration"


def inputs(github: GitHubDouble, gateway: Receiver, **changes: Any) -> dict[str, Any]:
    return provider_inputs(github.url, gateway.url, **changes)


def test_check_reports_every_failure_by_field() -> None:
    result = WebhookRegistrationProvider().check(
        {},
        {
            "solution": "github",
            "api_url": "ftp://x",
            "target": "bad",
            "url": "https://gw/",
            "events": [],
            "secret": "s",
        },
    )
    assert sorted(f.property for f in result.failures) == ["api_url", "events", "target", "token"]
    assert result.inputs["active"] is True


def test_diff_marks_identity_for_replacement_and_deletes_first(github: GitHubDouble, gateway: Receiver) -> None:
    provider = WebhookRegistrationProvider()
    olds = inputs(github, gateway) | {"hook_id": "1", "content_type": "json", "insecure_ssl": "0"}
    same = provider.diff("1", olds, inputs(github, gateway))
    assert same.changes is False
    moved = provider.diff("1", olds, inputs(github, gateway, target="octo/other", events=["push"]))
    # A change answers "unknown" so the engine names the changed inputs itself (see the provider's diff docstring).
    assert (moved.changes, moved.replaces, moved.delete_before_replace) == (None, ["target"], True)
    preview = provider.diff("1", olds, inputs(github, gateway, url=UNKNOWN))
    assert (preview.changes, preview.replaces) == (None, [])
    cosmetic = provider.diff("1", olds, inputs(github, gateway, events=["issues", "push"], target="Octo/Hello"))
    assert cosmetic.changes is False


def test_provider_lifecycle_with_refresh_drift_and_repair(github: GitHubDouble, gateway: Receiver) -> None:
    """create -> hand edit -> read shows drift (outputs and inputs) -> diff says change -> update repairs -> delete."""
    provider = WebhookRegistrationProvider()
    created = provider.create(inputs(github, gateway))
    assert created.outs is not None
    assert (created.id, created.outs["ping_status"]) == (created.outs["hook_id"], "ok")
    admin(
        github.url,
        "PATCH",
        f"hooks/{created.id}",
        {"events": ["star"], "active": False, "config": {"content_type": "form"}},
    )
    read = provider.read(created.id, created.outs)
    assert read.outs is not None
    assert read.inputs is not None
    assert (read.outs["events"], read.inputs["active"], read.inputs["content_type"]) == (["star"], False, "form")
    assert "hook_id" not in read.inputs
    assert "insecure_ssl" not in read.inputs  # unchanged owned settings stay out of the inputs
    assert provider.diff(created.id, read.outs, inputs(github, gateway)).changes is None  # a change: engine names it
    updated = provider.update(created.id, read.outs, inputs(github, gateway))
    assert updated.outs is not None
    hook = admin(github.url, "GET", "hooks")[0]
    assert (hook["events"], hook["active"], updated.outs["hook_id"]) == (["push", "issues"], True, created.id)
    provider.delete(created.id, updated.outs)
    assert admin(github.url, "GET", "hooks") == []
    gone = provider.read(created.id, updated.outs)
    assert gone.id == ""


def test_pickled_provider_runs_in_a_fresh_interpreter(github: GitHubDouble, gateway: Receiver) -> None:
    """Serialize exactly as Pulumi does (dill via serialize_provider), load in a new Python, create a hook with it."""
    blob = serialize_provider(WebhookRegistrationProvider())
    assert len(blob) < 2000  # by reference: the class name, not the code
    assert SECRET not in base64.b64decode(blob).decode("latin-1")
    script = textwrap.dedent(
        """
        import base64, json, sys
        import dill
        request = json.load(sys.stdin)
        provider = dill.loads(base64.b64decode(request["blob"]))
        result = provider.create(request["props"])
        print(json.dumps({"id": result.id, "ping": result.outs["ping_status"], "modules": sorted(
            m for m in sys.modules if m.split(".")[0] in ("components", "kyma_connectors"))}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps({"blob": blob, "props": inputs(github, gateway)}),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["ping"] == "ok"
    assert [str(h["id"]) for h in admin(github.url, "GET", "hooks")] == [result["id"]]
    assert "kyma_connectors.hooks.lifecycle" in result["modules"]
    assert SECRET not in done.stderr


def test_dill_round_trip_in_process_keeps_the_class() -> None:
    provider = dill.loads(base64.b64decode(serialize_provider(WebhookRegistrationProvider())))  # noqa: S301 - our blob
    assert type(provider) is WebhookRegistrationProvider


def through_provider(github: GitHubDouble) -> Callable[[sdk.MockResourceArgs], Mapping[str, Any]]:
    """Mocks answer for our type: run the real provider's check + create against the double."""

    def create(args: sdk.MockResourceArgs) -> Mapping[str, Any]:
        provider = WebhookRegistrationProvider()
        # The engine never hands a dynamic provider secret-wrapped values (Configure answers acceptSecrets=False).
        plain = {key: sdk.unwrap_secret(value) for key, value in args.inputs.items()}
        checked = provider.check({}, plain)
        assert [(f.property, f.reason) for f in checked.failures] == [], sorted(args.inputs)
        result = provider.create(checked.inputs)
        return result.outs or {}

    return create


def test_resource_registers_secret_inputs_and_real_outputs(github: GitHubDouble, gateway: Receiver) -> None:
    stack = MockStack(outputs={TYPE: through_provider(github)})
    hook = stack.run(
        lambda: WebhookRegistration(
            "gh-hook",
            WebhookRegistrationArgs(
                solution="github",
                api_url=github.url,
                target="octo/hello",
                url=gateway.url,
                events=["push"],
                secret=SECRET,
                token=TOKEN,
            ),
        )
    )
    reg = stack.one(TYPE)
    assert reg.custom
    assert {"secret", "token"} <= set(reg.secret_paths)
    assert set(reg.additional_secret_outputs) == {"secret", "token", "private_key"}
    assert reg.inputs["provider_version"] == PROVIDER_VERSION
    assert stack.resolve(hook.ping_status) == "ok"
    assert stack.resolve(hook.hook_id) == str(admin(github.url, "GET", "hooks")[0]["id"])
    assert stack.resolve(hook.last_response)["code"] == 200
    assert stack.is_secret(hook.secret)  # type: ignore[attr-defined]


def test_plain_bad_inputs_fail_in_the_constructor() -> None:
    with pytest.raises(ValueError, match="target: must be 'owner/repo'") as info:
        WebhookRegistration(
            "bad",
            WebhookRegistrationArgs(
                solution="github",
                api_url="https://api.github.com",
                target="nope",
                url="https://gw/webhook",
                events=["push"],
                secret="s3cret-value",
                token="ghp_value",
            ),
        )
    assert "s3cret-value" not in str(info.value)


def test_output_inputs_defer_cross_field_checks_to_check() -> None:
    """With the token an Output (as from config.require_secret), the constructor does not claim it is missing."""
    stack = MockStack()
    stack.run(
        lambda: WebhookRegistration(
            "ok",
            WebhookRegistrationArgs(
                solution="github",
                api_url="https://api.github.com",
                target="octo/hello",
                url="https://gw/webhook",
                events=["push"],
                secret="s",
                token=pulumi.Output.secret("ghp_x"),
            ),
        )
    )
    assert stack.one(TYPE).inputs["token"] == "ghp_x"
