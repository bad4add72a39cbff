"""Qualtrics subscriptions: one per topic, adopt-by-replacing, update, drift, delete -- against the double."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devtools.doubles.qualtrics import QualtricsDouble
from kyma_connectors.hooks import lifecycle
from kyma_connectors.hooks.errors import AuthenticationError, ForbiddenError, WebhookError
from kyma_connectors.hooks.qualtrics import QualtricsSubscriptions
from tests.kyma_connectors.hooks.helpers import SECRET, FakeClock, admin, fast_context, qualtrics_double, qualtrics_spec

pytestmark = pytest.mark.timeout(30)
URL = "https://gw.example/webhook"


def subs(q: QualtricsDouble) -> list[dict[str, Any]]:
    return list(admin(q.url.removesuffix("/API/v3"), "GET", "subscriptions"))


def test_create_subscribes_each_topic_with_the_shared_key(qualtrics: QualtricsDouble) -> None:
    observed = lifecycle.create(qualtrics_spec(qualtrics.url, URL), fast_context())
    live = subs(qualtrics)
    assert sorted(s["topics"] for s in live) == ["controlpanel.activateSurvey", "surveyengine.completedResponse"]
    assert {s["sharedKey"] for s in live} == {SECRET}
    assert observed["hook_id"].split(",") == [s["id"] for s in live]
    assert observed["ping_status"] == "unsupported"


def test_create_replaces_existing_subscriptions_to_our_url(qualtrics: QualtricsDouble) -> None:
    """Their shared key cannot be read or changed, so subscriptions pointing at us are replaced, never duplicated."""
    base = qualtrics.url.removesuffix("/API/v3")
    admin(
        base,
        "POST",
        "subscriptions",
        {"topics": "surveyengine.completedResponse", "publicationUrl": URL, "sharedKey": "old"},
    )
    admin(base, "POST", "subscriptions", {"topics": "x.other", "publicationUrl": "https://someone.else/"})
    lifecycle.create(qualtrics_spec(qualtrics.url, URL), fast_context())
    live = subs(qualtrics)
    ours = [s for s in live if s["publicationUrl"] == URL]
    assert len(ours) == 2
    assert {s["sharedKey"] for s in ours} == {SECRET}
    assert any(s["publicationUrl"] == "https://someone.else/" for s in live)


def test_update_keeps_unchanged_topics_and_rotation_recreates(qualtrics: QualtricsDouble) -> None:
    spec = qualtrics_spec(qualtrics.url, URL)
    hook_id = lifecycle.create(spec, fast_context())["hook_id"]
    narrowed = qualtrics_spec(qualtrics.url, URL, events=("surveyengine.completedResponse",))
    kept = lifecycle.update(hook_id, narrowed, fast_context())
    assert kept["hook_id"] == hook_id.split(",")[0]
    assert len(subs(qualtrics)) == 1
    rotated = qualtrics_spec(qualtrics.url, URL, events=("surveyengine.completedResponse",), secret="new-key")
    fresh = lifecycle.update(kept["hook_id"], rotated, fast_context(), rotate=True)
    assert fresh["hook_id"] != kept["hook_id"]
    assert [s["sharedKey"] for s in subs(qualtrics)] == ["new-key"]


def test_read_sees_a_subscription_deleted_by_hand(qualtrics: QualtricsDouble) -> None:
    spec = qualtrics_spec(qualtrics.url, URL)
    hook_id = lifecycle.create(spec, fast_context())["hook_id"]
    first, second = hook_id.split(",")
    admin(qualtrics.url.removesuffix("/API/v3"), "DELETE", f"subscriptions/{first}")
    live = lifecycle.read(hook_id, spec, fast_context())
    assert live is not None
    assert (live["hook_id"], live["events"]) == (second, ["controlpanel.activateSurvey"])
    admin(qualtrics.url.removesuffix("/API/v3"), "DELETE", f"subscriptions/{second}")
    assert lifecycle.read(hook_id, spec, fast_context()) is None


def test_delete_removes_all_and_tolerates_missing(qualtrics: QualtricsDouble) -> None:
    spec = qualtrics_spec(qualtrics.url, URL)
    hook_id = lifecycle.create(spec, fast_context())["hook_id"]
    admin(qualtrics.url.removesuffix("/API/v3"), "DELETE", f"subscriptions/{hook_id.split(',')[0]}")
    lifecycle.delete(hook_id, spec, fast_context())
    assert subs(qualtrics) == []


def test_list_follows_next_page() -> None:
    """Five subscriptions at two per page: three GETs, all five seen (adoption must not miss page three)."""
    with qualtrics_double(page_size=2) as q:
        for i in range(5):
            admin(
                q.url.removesuffix("/API/v3"),
                "POST",
                "subscriptions",
                {"topics": f"t.{i}", "publicationUrl": URL if i == 4 else f"https://x/{i}"},
            )
        found = QualtricsSubscriptions.for_spec(qualtrics_spec(q.url, URL), clock=FakeClock()).subscriptions()
        assert [s["topics"] for s in found] == [f"t.{i}" for i in range(5)]
        assert len([r for r in q.brand.requests if r["method"] == "GET"]) == 3
        lifecycle.create(qualtrics_spec(q.url, URL), fast_context())
        assert "t.4" not in [s["topics"] for s in subs(q)]  # the one on page three pointed at us: replaced


def test_failed_create_leaves_nothing_behind(qualtrics: QualtricsDouble) -> None:
    """Creating topic two fails for good: topic one's subscription is rolled back (create is all-or-nothing)."""
    base = qualtrics.url.removesuffix("/API/v3")
    original = qualtrics.server.RequestHandlerClass.api  # type: ignore[attr-defined]
    calls = {"post": 0}

    def flaky(self, method, path, query, body):  # type: ignore[no-untyped-def]
        if method == "POST":
            calls["post"] += 1
            if calls["post"] == 2:
                return 400, {"meta": {"httpStatus": "400 - Bad Request", "error": {"errorMessage": "bad topic"}}}, {}
        return original(self, method, path, query, body)

    qualtrics.server.RequestHandlerClass.api = flaky  # type: ignore[attr-defined]
    try:
        with pytest.raises(WebhookError, match="bad topic"):
            lifecycle.create(qualtrics_spec(qualtrics.url, URL), fast_context())
    finally:
        qualtrics.server.RequestHandlerClass.api = original  # type: ignore[attr-defined]
    assert admin(base, "GET", "subscriptions") == []


def test_auth_errors_are_explained(qualtrics: QualtricsDouble) -> None:
    base = qualtrics.url.removesuffix("/API/v3")
    with pytest.raises(AuthenticationError, match="401"):
        lifecycle.create(qualtrics_spec(qualtrics.url, URL, token="wrong-token-x"), fast_context())
    requests.post(f"{base}/_admin/tokens", json={"token": "not-admin-token", "admin": False}, timeout=5)
    with pytest.raises(ForbiddenError, match="brand administrator"):
        lifecycle.create(qualtrics_spec(qualtrics.url, URL, token="not-admin-token"), fast_context())


def test_throttling_is_retried(qualtrics: QualtricsDouble) -> None:
    base = qualtrics.url.removesuffix("/API/v3")
    ctx = fast_context()
    admin(base, "POST", "faults", {"status": 429, "headers": {"Retry-After": "3"}, "count": 2})
    lifecycle.create(qualtrics_spec(qualtrics.url, URL), ctx)
    assert ctx.clock.slept == [3.0, 3.0]  # type: ignore[attr-defined]
    assert len(subs(qualtrics)) == 2
