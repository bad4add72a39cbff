"""Backfill: failed deliveries since a time are found (across pages) and redelivered with their GUIDs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools.doubles.github import GitHubDouble
from devtools.doubles.github.state import Fault, Hook
from kyma_connectors.hooks import backfill
from kyma_connectors.hooks.github import GitHubHooks
from tests.kyma_connectors.hooks.helpers import FakeClock, Receiver, github_spec

pytestmark = pytest.mark.timeout(30)


def stamp(ago: timedelta) -> str:
    return (datetime.now(UTC) - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def outage(github: GitHubDouble, url: str) -> Hook:
    """A hook whose receiver was down for a while: failures, one recovered GUID, old failures, later successes."""
    hook = github.world.new_hook("repo", "octo/hello", ["push", "issues"], True, {"url": url, "secret": "k"})
    record = github.world.record_delivery
    record(hook, guid="old-fail", event="push", status_code=502, delivered_at=stamp(timedelta(hours=5)))
    for i in range(120):  # more than one page of failures
        record(
            hook,
            guid=f"lost-{i}",
            event="issues",
            action="opened",
            status_code=503,
            delivered_at=stamp(timedelta(minutes=90 - i // 2)),
            payload={"action": "opened", "n": i},
        )
    record(hook, guid="flaky", event="push", status_code=500, delivered_at=stamp(timedelta(minutes=20)))
    record(hook, guid="flaky", event="push", status_code=200, delivered_at=stamp(timedelta(minutes=19)))
    record(hook, guid="fine", event="push", status_code=202, delivered_at=stamp(timedelta(minutes=10)))
    return hook


def client(github: GitHubDouble) -> GitHubHooks:
    return GitHubHooks.for_spec(github_spec(github.url, "https://unused.example/"), clock=FakeClock())


def test_plan_lists_only_never_delivered_guids_since_the_cutoff(github: GitHubDouble, gateway: Receiver) -> None:
    hook = outage(github, gateway.url)
    todo = backfill.plan(client(github), str(hook.id), datetime.now(UTC) - timedelta(hours=2))
    assert [m.guid for m in todo.missed] == [f"lost-{i}" for i in range(120)]  # oldest first
    assert todo.recovered == 1
    assert todo.scanned == 123
    assert gateway.received == []  # planning sends nothing


def test_apply_redelivers_with_the_same_guid_and_is_idempotent(github: GitHubDouble, gateway: Receiver) -> None:
    hook = outage(github, gateway.url)
    since = datetime.now(UTC) - timedelta(hours=2)
    gh = client(github)
    outcome = backfill.apply(gh, backfill.plan(gh, str(hook.id), since))
    assert len(outcome.redelivered) == 120
    assert outcome.failed == []
    assert [r.headers["X-GitHub-Delivery"] for r in gateway.received] == [f"lost-{i}" for i in range(120)]
    assert json.loads(gateway.received[0].body) == {"action": "opened", "n": 0}
    again = backfill.plan(gh, str(hook.id), since)
    assert again.missed == []
    assert again.recovered == 121


def test_failed_redelivery_is_reported_and_the_rest_continue(github: GitHubDouble, gateway: Receiver) -> None:
    hook = outage(github, gateway.url)
    gh = client(github)
    todo = backfill.plan(gh, str(hook.id), datetime.now(UTC) - timedelta(hours=2))
    github.world.faults.append(
        Fault(
            status=422,
            method="POST",
            path_contains="/attempts",
            body={
                "message": "Validation Failed",
                "documentation_url": "x",
                "errors": [{"code": "custom", "message": "delivery too old"}],
            },
        )
    )
    outcome = backfill.apply(gh, todo)
    assert len(outcome.failed) == 1
    assert "delivery too old" in outcome.failed[0][1]
    assert len(outcome.redelivered) == 119


attempts = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from([200, 302, 404, 500, 502])), max_size=30
)


@given(attempts)
def test_plan_picks_exactly_the_guids_without_any_success(history: list[tuple[str, int]]) -> None:
    """For any delivery history: missed = GUIDs none of whose attempts succeeded, once each, newest attempt kept."""
    now = datetime.now(UTC)
    items = [
        {
            "id": i,
            "guid": guid,
            "status_code": code,
            "event": "push",
            "action": None,
            "delivered_at": (now - timedelta(seconds=len(history) - i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for i, (guid, code) in enumerate(history)
    ]
    result = backfill._collect(backfill.Plan("1", now - timedelta(hours=1)), list(reversed(items)))
    succeeded = {guid for guid, code in history if code < 400}
    expected = {guid for guid, _ in history} - succeeded
    assert sorted(m.guid for m in result.missed) == sorted(expected)
    for missed in result.missed:
        assert missed.delivery_id == max(i for i, (guid, _) in enumerate(history) if guid == missed.guid)
