"""The catalog loader against the shipped AsyncAPI documents and the real GitHub payloads in ../shared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kyma_connectors.core.catalog import (
    TYPE_PATTERN,
    CatalogError,
    derive_type,
    load_catalog,
    load_catalog_file,
    parse_catalog,
)
from tests.support.paths import GITHUB_PAYLOADS as PAYLOADS


@pytest.mark.parametrize("solution", ["github", "qualtrics", "generic"])
def test_shipped_catalogs_load_with_clean_unique_types(solution: str) -> None:
    """Every shipped catalog loads, and its types survive Kyma's type cleaning unchanged and are unique."""
    catalog = load_catalog(solution)
    types = catalog.types()
    assert types, solution
    assert len(types) == len(set(types))
    assert all(TYPE_PATTERN.match(t) for t in types)
    assert catalog.solution == solution


def test_every_shared_github_payload_has_a_type() -> None:
    """Each real payload (event header = folder, action = top-level action) maps to a catalog type."""
    catalog = load_catalog("github")
    index = json.loads((PAYLOADS / "index.json").read_text())
    missing = []
    for item in index["files"]:
        body = json.loads((PAYLOADS / item["file"]).read_text())
        if catalog.type_for(item["event"], body.get("action")) is None:
            missing.append(item["file"])
    assert missing == []


def test_native_events_exclude_unsubscribable() -> None:
    """GitHub's ping and App-only installation events are never put on a hook's event list."""
    events = load_catalog("github").native_events()
    assert "push" in events
    assert "issues" in events
    assert "ping" not in events
    assert "installation" not in events
    assert len(events) == len(set(events))


def test_actionless_entry_matches_any_action(tmp_path: Path) -> None:
    """An entry without action is the fallback for every action of that event."""
    doc = {
        "asyncapi": "2.6.0",
        "channels": {
            "thing.v1": {"subscribe": {"message": {"x-kyma-connectors": {"event": "thing"}}}},
            "thing.made.v1": {"subscribe": {"message": {"x-kyma-connectors": {"event": "thing", "action": "made"}}}},
        },
    }
    catalog = parse_catalog(doc, source=tmp_path / "a.yaml", solution="x")
    assert catalog.type_for("thing", "made") == "thing.made.v1"
    assert catalog.type_for("thing", "broken") == "thing.v1"
    assert catalog.type_for("other", None) is None


def test_bad_document_reports_every_problem(tmp_path: Path) -> None:
    """A broken catalog names each bad channel at once, with its path."""
    doc = {
        "asyncapi": "3.0.0",
        "channels": {
            "Bad_Type": {"subscribe": {"message": {"x-kyma-connectors": {"event": "a"}}}},
            "single": {"subscribe": {"message": {"x-kyma-connectors": {"event": "b"}}}},
            "no.extension.v1": {"subscribe": {"message": {"name": "c"}}},
            "dup.one.v1": {"subscribe": {"message": {"x-kyma-connectors": {"event": "d"}}}},
            "dup.two.v1": {"subscribe": {"message": {"x-kyma-connectors": {"event": "d"}}}},
        },
    }
    path = tmp_path / "asyncapi.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(CatalogError) as info:
        load_catalog_file(path)
    problems = info.value.messages
    assert any(p.startswith("asyncapi:") for p in problems)
    assert any("channels.Bad_Type" in p for p in problems)
    assert any("channels.single" in p for p in problems)
    assert any("channels.no.extension.v1.subscribe.message.x-kyma-connectors.event" in p for p in problems)
    assert any("channels.dup.two.v1" in p and "already mapped by dup.one.v1" in p for p in problems)
    assert len(problems) == 5


def test_unknown_solution_and_selection_errors_name_the_culprit() -> None:
    """Asking for a solution or an event that does not exist says which, and what exists."""
    with pytest.raises(CatalogError, match="no catalog for solution 'nope'"):
        load_catalog("nope")
    github = load_catalog("github")
    with pytest.raises(CatalogError, match="unknown event 'pushh'"):
        github.select(["push", "pushh"])
    narrowed = github.select(["push", "issues"])
    assert {e.event for e in narrowed.events} == {"push", "issues"}
    assert narrowed.type_for("issues", "opened") == "issues.opened.v1"


def test_qualtrics_per_survey_topics_are_subscribed_with_a_wildcard() -> None:
    """Qualtrics subscribes per survey (`surveyengine.completedResponse.{SurveyID}`): the webhook gets the wildcard,
    while the event name stays what the gateway resolves a delivery's topic to."""
    catalog = load_catalog("qualtrics")
    subscriptions = catalog.subscriptions()
    assert "surveyengine.completedResponse.*" in subscriptions
    assert "surveyengine.completedResponse" not in subscriptions
    assert "controlpanel.activateSurvey" in subscriptions
    assert catalog.subscriptions(["surveyengine.completedResponse"]) == ["surveyengine.completedResponse.*"]
    assert catalog.type_for("surveyengine.completedResponse") == "surveyengine.completedresponse.v1"
    assert load_catalog("github").subscriptions(["push", "issues"]) == ["push", "issues"]


@pytest.mark.parametrize(("event", "action", "expected"), [
    ("push", None, "push.v1"),
    ("pull_request", "review_requested", "pullrequest.reviewrequested.v1"),
    ("surveyengine.completedResponse", None, "surveyengine.completedresponse.v1"),
    ("Order-Placed", "re:tried", "orderplaced.retried.v1"),
    ("a..b", "", "a.b.v1"),
    ("___", None, None),
])
def test_naming_rule(event: str, action: str | None, expected: str | None) -> None:
    """Lowercase, [a-z0-9] only per dot-separated part, empty parts dropped, then `.v1`; the result Kyma keeps."""
    derived = derive_type(event, action)
    assert derived == expected
    assert derived is None or TYPE_PATTERN.match(derived)


def test_resolve_falls_back_to_the_derived_type_and_says_so() -> None:
    github = load_catalog("github")
    assert github.resolve("issues", "opened") == ("issues.opened.v1", True)
    assert github.resolve("issues", "brand_new_action") == ("issues.brandnewaction.v1", False)
    assert github.resolve("brand_new_event", None) == ("brandnewevent.v1", False)
    assert github.resolve("repository_dispatch", "deploy-now") == ("repositorydispatch.v1", True)  # any action


def test_entry_for_type_maps_a_catalogued_type_back_to_its_native_event() -> None:
    """What a Subscription reconciler needs: type -> native event, action and webhook subscription."""
    github, qualtrics = load_catalog("github"), load_catalog("qualtrics")
    entry = github.entry_for_type("pullrequest.reviewrequested.v1")
    assert entry is not None
    assert (entry.event, entry.action, entry.subscribable) == ("pull_request", "review_requested", True)
    for item in github.events:
        assert github.entry_for_type(item.type) == item
    survey = qualtrics.entry_for_type("surveyengine.completedresponse.v1")
    assert survey is not None
    assert qualtrics.subscriptions([survey.event]) == ["surveyengine.completedResponse.*"]
    assert github.entry_for_type("issues.brandnewaction.v1") is None


def test_hook_kinds_narrow_the_subscribable_events(tmp_path: Path) -> None:
    doc: dict[str, Any] = {
        "asyncapi": "2.6.0",
        "channels": {
            "team.created.v1": {"subscribe": {"message": {"x-kyma-connectors": {
                "event": "team", "action": "created", "hooks": ["organization"]}}}},
            "push.v1": {"subscribe": {"message": {"x-kyma-connectors": {"event": "push"}}}},
            "bad.v1": {"subscribe": {"message": {"x-kyma-connectors": {"event": "bad", "hooks": "organization"}}}},
        },
    }
    with pytest.raises(CatalogError, match=r"channels\.bad\.v1\.subscribe\.message\.x-kyma-connectors\.hooks"):
        parse_catalog(doc, source=tmp_path / "a.yaml", solution="x")
    del doc["channels"]["bad.v1"]
    catalog = parse_catalog(doc, source=tmp_path / "a.yaml", solution="x")
    assert catalog.native_events("repository") == ["push"]
    assert catalog.native_events("organization") == ["team", "push"]
    assert catalog.native_events() == ["team", "push"]


def test_published_adds_what_arrives_without_subscription_and_the_document_follows() -> None:
    """A connector subscribed to a few events still publishes (and registers) ping, meta and App-only events."""
    github = load_catalog("github")
    assert github.published() is github
    assert github.document_text() == github.path.read_text(encoding="utf-8")  # unchanged file, no re-dump
    published = github.published(["push", "issues"])
    events = {e.event for e in published.events}
    assert {"push", "issues", "ping", "meta", "installation"} <= events
    assert "pull_request" not in events
    assert published.native_events() == ["issues", "push"]  # document order, subscribable only
    registered = parse_catalog(yaml.safe_load(published.document_text()), source=github.path, solution="github")
    assert registered.types() == published.types()
    assert registered.entry_for_type("issues.opened.v1") == github.entry_for_type("issues.opened.v1")
