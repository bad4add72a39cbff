"""``events: subscribed``: the hook reconciler owns events and active; the provider sets them once and then keeps out.

Against the loopback doubles: create starts the GitHub hook inactive, a later update (a new secret, say) sends only
``config``, refresh records no drift for what the reconciler changed, diff reports none, destroy still removes the
hook -- and for Qualtrics every subscription the reconciler made at our URL.
"""

from __future__ import annotations

from components.webhook_registration import WebhookRegistrationProvider
from devtools.doubles.github import GitHubDouble
from devtools.doubles.qualtrics import QualtricsDouble
from kyma_connectors.hooks import diff, lifecycle
from kyma_connectors.hooks.github import GitHubHooks
from tests.kyma_connectors.hooks.helpers import (
    SECRET,
    Receiver,
    fast_context,
    github_spec,
    provider_inputs,
    qualtrics_spec,
)


def test_diff_ignores_events_and_active_when_managed() -> None:
    olds = {"solution": "github", "events": ["push"], "active": False, "managed_events": True}
    news = {**olds, "events": ["push", "issues", "release"], "active": True}
    assert diff.changes(olds, news) == []
    assert {c.field for c in diff.changes({**olds, "managed_events": False}, {**news, "managed_events": False})} == {
        "events", "active"}


def test_states_from_before_the_field_are_not_a_change() -> None:
    olds = {"solution": "github", "events": ["push"], "active": True}
    assert diff.changes(olds, {**olds, "managed_events": False}) == []
    assert [c.field for c in diff.changes(olds, {**olds, "managed_events": True})] == ["managed_events"]


def test_update_body_leaves_events_and_active_out() -> None:
    spec = github_spec("http://127.0.0.1:1", "http://127.0.0.1:2/webhook", managed_events=True, active=False)
    assert set(GitHubHooks.body(spec)) == {"config"}
    assert GitHubHooks.body(spec, creating=True)["active"] is False


def test_github_hook_is_created_inactive_and_updates_keep_the_reconcilers_events(
        github: GitHubDouble, gateway: Receiver) -> None:
    spec = github_spec(github.url, gateway.url, managed_events=True, active=False)
    created = lifecycle.create(spec, fast_context())
    hook = github.world.hooks[int(created["hook_id"])]
    assert hook.active is False
    assert created["ping_status"] == "inactive"
    client = GitHubHooks.for_spec(spec)
    client.patch_events(str(hook.id), ["release"], active=True)  # what the reconciler does
    rotated = github_spec(github.url, gateway.url, managed_events=True, active=False, secret="new-secret")
    lifecycle.update(str(hook.id), rotated, fast_context())
    assert (hook.events, hook.active, hook.config["secret"]) == (["release"], True, "new-secret")


def test_refresh_records_no_drift_for_reconciled_fields(github: GitHubDouble, gateway: Receiver) -> None:
    provider = WebhookRegistrationProvider()
    props = provider_inputs(github.url, gateway.url, managed_events=True, active=False)
    created = provider.create(props)
    outs = created.outs or {}
    hook = github.world.hooks[int(created.id)]
    GitHubHooks.for_spec(github_spec(github.url, gateway.url)).patch_events(str(hook.id), ["release"], active=True)
    read = provider.read(created.id, outs)
    assert read.inputs is not None
    assert (read.inputs["events"], read.inputs["active"]) == (props["events"], False)  # inputs as configured
    assert provider.diff(created.id, read.outs or {}, props).changes is False
    provider.delete(created.id, outs)
    assert hook.id not in github.world.hooks


def test_qualtrics_managed_create_observes_and_delete_removes_the_reconcilers_subscriptions(
        qualtrics: QualtricsDouble, gateway: Receiver) -> None:
    spec = qualtrics_spec(qualtrics.url, gateway.url, managed_events=True, active=False)
    created = lifecycle.create(spec, fast_context())
    assert created["hook_id"] == lifecycle.MANAGED_ID
    assert qualtrics.brand.subscriptions == {}
    made = qualtrics.brand.add("surveyengine.completedResponse.*", gateway.url, SECRET)  # the reconciler's
    other = qualtrics.brand.add("surveyengine.completedResponse.*", "https://elsewhere.example/hook", "k")
    seen = lifecycle.read(created["hook_id"], spec, fast_context())
    assert seen is not None
    assert seen["hook_id"] == made["id"]
    lifecycle.delete(str(seen["hook_id"]), spec, fast_context())
    assert set(qualtrics.brand.subscriptions) == {other["id"]}
