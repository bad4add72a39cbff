"""Kyma eventing's naming rules as the program and the reconciler use them (see the module for the Kyma sources)."""

from __future__ import annotations

import pytest

from kyma_connectors.core.eventing import (
    Backend,
    TypeMatching,
    clean_source,
    clean_type,
    exact_type,
    publisher_source,
    routes_to,
    sink_problem,
    type_problem,
)


def test_nats_keeps_dashes_in_a_source_eventmesh_does_not() -> None:
    assert clean_source("github-acme", Backend.NATS) == "github-acme"
    assert clean_source("github-acme", Backend.EVENTMESH) == "githubacme"
    assert clean_source("a.b/c*d e", Backend.NATS) == "abcde"


def test_type_cleaning_per_backend() -> None:
    assert clean_type("order.payment*success.v1", Backend.NATS) == "order.paymentsuccess.v1"
    assert clean_type("Account.Root.Created.v1", Backend.EVENTMESH) == "AccountRoot.Created.v1"
    assert clean_type("pull-request.opened.v1", Backend.EVENTMESH) == "pullrequest.opened.v1"


def test_publisher_source_is_the_type_label_when_the_application_has_one() -> None:
    assert publisher_source("github-acme", "githubacme") == "githubacme"
    assert publisher_source("github-acme", None) == "github-acme"


@pytest.mark.parametrize(("subscribed", "backend", "routed"), [
    ("github-acme", Backend.NATS, True),
    ("githubacme", Backend.NATS, False),     # the label/name mismatch that loses events on NATS
    ("githubacme", Backend.EVENTMESH, True),  # EventMesh strips both sides
    ("github-other", Backend.NATS, False),
])
def test_standard_matching_compares_cleaned_sources(subscribed: str, backend: Backend, routed: bool) -> None:
    assert routes_to("github-acme", "push.v1", subscribed, TypeMatching.STANDARD, "push.v1", backend) is routed


def test_exact_matching_names_the_routed_type() -> None:
    assert exact_type("github-acme", "push.v1") == "github-acme.push.v1"
    assert routes_to("github-acme", "push.v1", "", TypeMatching.EXACT, "github-acme.push.v1")
    assert not routes_to("github-acme", "push.v1", "github-acme", TypeMatching.EXACT, "push.v1")


def test_type_rules_of_the_validator() -> None:
    assert type_problem("push", TypeMatching.STANDARD)
    assert type_problem("push..v1", TypeMatching.STANDARD)
    assert type_problem("sap.kyma.custom.app.push.v1", TypeMatching.STANDARD)
    assert type_problem("sap.kyma.custom.app.push.v1", TypeMatching.EXACT) is None
    assert type_problem("push.v1", TypeMatching.STANDARD) is None


@pytest.mark.parametrize(("sink", "ok"), [
    ("http://handler.extensions.svc.cluster.local", True),
    ("http://handler.extensions.svc.cluster.local:8080/events", True),
    ("http://handler.other.svc.cluster.local", False),
    ("http://handler.extensions", False),
    ("http://example.com/events", False),
    ("handler.extensions.svc.cluster.local", False),
])
def test_sink_must_be_cluster_local_in_the_namespace(sink: str, ok: bool) -> None:
    assert (sink_problem(sink, "extensions") is None) is ok
