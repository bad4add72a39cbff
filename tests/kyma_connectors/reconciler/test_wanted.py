"""From the Subscriptions in a cluster to the hook's native events, with the shipped catalogs."""

from __future__ import annotations

from typing import Any

from kyma_connectors.core.catalog import load_catalog
from kyma_connectors.core.eventing import Backend, TypeMatching
from kyma_connectors.reconciler.wanted import SubscriptionView, decide

GITHUB = load_catalog("github")
QUALTRICS = load_catalog("qualtrics")


def sub(name: str, source: str, *types: str, matching: TypeMatching = TypeMatching.STANDARD,
        namespace: str = "ext") -> SubscriptionView:
    return SubscriptionView(namespace=namespace, name=name, source=source, types=types, matching=matching)


def typ(event: str, action: str | None = None) -> str:
    found = GITHUB.type_for(event, action)
    assert found is not None
    return found


def test_nothing_subscribed_means_no_events() -> None:
    wanted = decide([], source="github-acme", catalog=GITHUB)
    assert wanted.events == ()
    assert wanted.seen == 0


def test_types_map_to_native_events_once_each() -> None:
    subs = [sub("a", "github-acme", typ("push")),
            sub("b", "github-acme", typ("pull_request", "opened"), typ("pull_request", "closed")),
            sub("c", "github-acme", typ("push"))]
    wanted = decide(subs, source="github-acme", catalog=GITHUB)
    assert wanted.events == ("pull_request", "push")
    assert wanted.matched == ("ext/a", "ext/b", "ext/c")


def test_other_sources_are_ignored_and_near_misses_reported() -> None:
    subs = [sub("mine", "github-acme", typ("issues", "opened")),
            sub("other", "github-other", typ("push")),
            sub("stripped", "githubacme", typ("push"))]
    wanted = decide(subs, source="github-acme", catalog=GITHUB)
    assert wanted.events == ("issues",)
    assert wanted.matched == ("ext/mine",)
    assert wanted.near_misses == ("ext/stripped",)
    assert wanted.seen == 3


def test_eventmesh_routes_the_stripped_source_too() -> None:
    wanted = decide([sub("stripped", "githubacme", typ("push"))], source="github-acme", catalog=GITHUB,
                    backend=Backend.EVENTMESH)
    assert wanted.events == ("push",)


def test_unknown_types_of_our_source_are_reported_not_guessed() -> None:
    wanted = decide([sub("a", "github-acme", "push.v2", typ("push"))], source="github-acme", catalog=GITHUB)
    assert wanted.events == ("push",)
    assert wanted.unknown_types == ("ext/a: push.v2",)


def test_exact_subscriptions_name_source_and_type() -> None:
    subs = [sub("x", "", f"github-acme.{typ('release', 'published')}", matching=TypeMatching.EXACT),
            sub("y", "", typ("push"), matching=TypeMatching.EXACT)]  # exact without our source: not routed to
    wanted = decide(subs, source="github-acme", catalog=GITHUB)
    assert wanted.events == ("release",)
    assert wanted.matched == ("ext/x",)


def test_qualtrics_types_map_to_native_topics() -> None:
    completed = next(e for e in QUALTRICS.events if e.event.startswith("surveyengine.completedResponse"))
    wanted = decide([sub("q", "qualtrics-surveys", completed.type)], source="qualtrics-surveys", catalog=QUALTRICS)
    assert wanted.events == (completed.event,)  # the native topic; its subscription form is the hook's business


def test_from_object_reads_the_api_shape_and_defaults_type_matching() -> None:
    obj: dict[str, Any] = {"metadata": {"namespace": "ns", "name": "n"},
                           "spec": {"source": "s", "types": ["a.b"], "sink": "http://x"}}
    view = SubscriptionView.from_object(obj)
    assert (view.key, view.source, view.types, view.matching) == ("ns/n", "s", ("a.b",), TypeMatching.STANDARD)
