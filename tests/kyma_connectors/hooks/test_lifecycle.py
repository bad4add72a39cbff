"""Create/read/update/delete semantics against the GitHub double: adoption, drift, repair, clean delete, ping."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from devtools.doubles.github import GitHubDouble
from kyma_connectors.hooks import lifecycle
from kyma_connectors.hooks.errors import NotFoundError, ValidationFailedError
from tests.kyma_connectors.hooks.helpers import SECRET, TOKEN, FakeClock, Receiver, admin, fast_context, github_spec

pytestmark = pytest.mark.timeout(30)


def posts(double: GitHubDouble) -> list[str]:
    return [r["path"] for r in double.world.requests if r["method"] == "POST" and r["path"].endswith("/hooks")]


def test_create_sets_every_owned_field_and_pings(github: GitHubDouble, gateway: Receiver) -> None:
    """A new hook gets json, TLS verification, the events, the secret; the signed ping reaches the gateway."""
    observed = lifecycle.create(github_spec(github.url, gateway.url), fast_context())
    hooks = admin(github.url, "GET", "hooks")
    assert len(hooks) == 1
    hook = hooks[0]
    assert hook["config"] == {"url": gateway.url, "content_type": "json", "insecure_ssl": "0", "secret": SECRET}
    assert hook["events"] == ["push", "issues"]
    assert observed["hook_id"] == str(hook["id"])
    assert observed["ping_status"] == "ok"
    assert observed["last_response"]["code"] == 200
    ping = gateway.received[-1]
    assert ping.headers["X-GitHub-Event"] == "ping"
    expected = "sha256=" + hmac.new(SECRET.encode(), ping.body, hashlib.sha256).hexdigest()
    assert ping.headers["X-Hub-Signature-256"] == expected
    assert json.loads(ping.body)["hook_id"] == hook["id"]


def test_create_adopts_existing_hook_instead_of_duplicating(github: GitHubDouble, gateway: Receiver) -> None:
    """A hook with our URL (made by hand, form-encoded, no secret) is taken over and fixed, not duplicated."""
    made = admin(
        github.url,
        "POST",
        "hooks",
        {
            "scope": "repo",
            "target": "octo/hello",
            "events": ["push"],
            "config": {"url": gateway.url, "content_type": "form"},
        },
    )
    observed = lifecycle.create(github_spec(github.url, gateway.url), fast_context())
    hooks = admin(github.url, "GET", "hooks")
    assert [h["id"] for h in hooks] == [made["id"]]
    assert observed["hook_id"] == str(made["id"])
    assert hooks[0]["config"]["content_type"] == "json"
    assert hooks[0]["config"]["secret"] == SECRET
    assert posts(github) == []


def test_create_removes_duplicate_hooks_with_our_url(github: GitHubDouble, gateway: Receiver) -> None:
    """Peers leave identical hooks behind; we keep the oldest and delete the rest."""
    ids = [
        admin(
            github.url,
            "POST",
            "hooks",
            {"scope": "repo", "target": "octo/hello", "events": [event], "config": {"url": gateway.url}},
        )["id"]
        for event in ("push", "issues", "release")
    ]
    lifecycle.create(github_spec(github.url, gateway.url), fast_context())
    assert [h["id"] for h in admin(github.url, "GET", "hooks")] == [ids[0]]


def test_create_adopts_after_422_hook_already_exists(github: GitHubDouble, gateway: Receiver) -> None:
    """If the hook appears between our list and our POST, GitHub's 422 leads to adoption, not failure."""
    made = admin(
        github.url,
        "POST",
        "hooks",
        {"scope": "repo", "target": "octo/hello", "events": ["push"], "config": {"url": gateway.url}},
    )
    # The first list answers "no hooks" (as if the race happened), then the POST meets the real duplicate.
    admin(github.url, "POST", "faults", {"status": 200, "body": [], "method": "GET", "path_contains": "/hooks"})
    observed = lifecycle.create(github_spec(github.url, gateway.url), fast_context())
    assert observed["hook_id"] == str(made["id"])
    assert any(r["status"] == 422 for r in github.world.requests)
    assert len(admin(github.url, "GET", "hooks")) == 1


def test_read_reports_drift_and_update_repairs_it(github: GitHubDouble, gateway: Receiver) -> None:
    """Events and content type edited by hand show up in read; update puts them back."""
    spec = github_spec(github.url, gateway.url)
    hook_id = lifecycle.create(spec, fast_context())["hook_id"]
    admin(github.url, "PATCH", f"hooks/{hook_id}", {"events": ["star"], "config": {"content_type": "form"}})
    live = lifecycle.read(hook_id, spec, fast_context())
    assert live is not None
    assert live["events"] == ["star"]
    assert live["content_type"] == "form"
    lifecycle.update(hook_id, spec, fast_context())
    hook = admin(github.url, "GET", "hooks")[0]
    assert hook["events"] == ["push", "issues"]
    assert hook["config"]["content_type"] == "json"
    assert hook["config"]["secret"] == SECRET


def test_hook_deleted_by_hand_reads_as_gone_and_update_recreates(github: GitHubDouble, gateway: Receiver) -> None:
    spec = github_spec(github.url, gateway.url)
    hook_id = lifecycle.create(spec, fast_context())["hook_id"]
    admin(github.url, "DELETE", f"hooks/{hook_id}")
    assert lifecycle.read(hook_id, spec, fast_context()) is None
    observed = lifecycle.update(hook_id, spec, fast_context())
    assert observed["hook_id"] != hook_id
    assert [str(h["id"]) for h in admin(github.url, "GET", "hooks")] == [observed["hook_id"]]


def test_update_resends_secret_and_changes_fields(github: GitHubDouble, gateway: Receiver) -> None:
    """GitHub drops a secret a PATCH leaves out; our update always sends it (rotated here)."""
    hook_id = lifecycle.create(github_spec(github.url, gateway.url), fast_context())["hook_id"]
    rotated = github_spec(github.url, gateway.url, secret="new-secret-value", events=("release",), active=False)
    observed = lifecycle.update(hook_id, rotated, fast_context())
    hook = admin(github.url, "GET", "hooks")[0]
    assert (hook["config"]["secret"], hook["events"], hook["active"]) == ("new-secret-value", ["release"], False)
    assert observed["active"] is False
    assert observed["ping_status"] == "inactive"  # no ping for a paused hook: GitHub would not deliver it


def test_delete_removes_the_hook_and_treats_404_as_done(github: GitHubDouble, gateway: Receiver) -> None:
    spec = github_spec(github.url, gateway.url)
    hook_id = lifecycle.create(spec, fast_context())["hook_id"]
    lifecycle.delete(hook_id, spec, fast_context())
    assert admin(github.url, "GET", "hooks") == []
    lifecycle.delete(hook_id, spec, fast_context())  # already gone: still success
    assert github.world.requests[-2:] == [
        {"method": "DELETE", "path": f"/repos/octo/hello/hooks/{hook_id}", "status": 404},
        {"method": "GET", "path": "/repos/octo/hello/hooks", "status": 200},  # the target is visible: truly gone
    ]


def test_delete_does_not_mistake_a_lost_scope_for_success(github: GitHubDouble, gateway: Receiver) -> None:
    """A token without hook scope gets 404 everywhere: destroy must fail loudly, not leave the hook behind."""
    spec = github_spec(github.url, gateway.url)
    hook_id = lifecycle.create(spec, fast_context())["hook_id"]
    admin(github.url, "POST", "tokens", {"token": "ghp_lost_scope", "scopes": ["read:org"]})
    with pytest.raises(NotFoundError, match="admin:repo_hook"):
        lifecycle.delete(hook_id, github_spec(github.url, gateway.url, token="ghp_lost_scope"), fast_context())
    assert len(admin(github.url, "GET", "hooks")) == 1


def test_ping_failure_is_recorded_not_raised(github: GitHubDouble, gateway: Receiver) -> None:
    """The gateway answering 503 makes ping_status 'failed' with GitHub's last_response, and the create succeeds."""
    gateway.status = 503
    observed = lifecycle.create(github_spec(github.url, gateway.url), fast_context())
    assert observed["ping_status"] == "failed"
    assert observed["last_response"]["code"] == 503


def test_ping_pending_polls_boundedly_on_the_clock(
    github: GitHubDouble, gateway: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no ping delivery shows up, we poll ping_polls times (fake sleeps) and report 'pending'."""
    clock = FakeClock()
    monkeypatch.setattr(github.world, "deliver", lambda *a, **k: None)  # GitHub slow to deliver
    observed = lifecycle.create(github_spec(github.url, gateway.url), fast_context(clock))
    assert observed["ping_status"] == "pending"
    assert len(clock.slept) == 2


def test_org_hook_lifecycle_and_missing_scope_message(github: GitHubDouble, gateway: Receiver) -> None:
    """Org hooks work with admin:org_hook; without it GitHub's 404 becomes an explanation naming the scope."""
    spec = github_spec(github.url, gateway.url, target="org:octo-org")
    observed = lifecycle.create(spec, fast_context())
    assert observed["ping_status"] == "ok"
    assert admin(github.url, "GET", "hooks")[0]["scope"] == "org"
    admin(github.url, "POST", "tokens", {"token": "ghp_repo_only", "scopes": ["repo"]})
    weak = github_spec(github.url, gateway.url, target="org:octo-org", token="ghp_repo_only")
    with pytest.raises(NotFoundError, match="admin:org_hook") as info:
        lifecycle.read(observed["hook_id"], weak, fast_context())
    assert "ghp_repo_only" not in str(info.value)


def test_ghes_base_url_with_api_v3_prefix(github: GitHubDouble, gateway: Receiver) -> None:
    """GitHub Enterprise Server bases (https://HOST/api/v3) work the same; hook URLs carry the prefix."""
    observed = lifecycle.create(github_spec(f"{github.url}/api/v3", gateway.url), fast_context())
    assert observed["ping_status"] == "ok"
    assert all(r["path"].startswith("/repos/") for r in github.world.requests)


def test_no_secret_in_errors(github: GitHubDouble, gateway: Receiver) -> None:
    """A 422 about our body never echoes the secret or token."""
    admin(
        github.url,
        "POST",
        "faults",
        {
            "status": 422,
            "method": "POST",
            "body": {
                "message": "Validation Failed",
                "documentation_url": "x",
                "errors": [{"resource": "Hook", "code": "custom", "message": f"bad secret {SECRET} for {TOKEN}"}],
            },
        },
    )
    with pytest.raises(ValidationFailedError) as info:
        lifecycle.create(github_spec(github.url, gateway.url), fast_context())
    assert SECRET not in str(info.value)
    assert TOKEN not in str(info.value)
    assert "422" in str(info.value)
