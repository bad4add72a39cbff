"""Kyma eventing's naming rules as the double applies them (devtools/doubles/kyma_eventing.py names the Kyma
function each follows): cleaning per backend, the Application source rewrite, and publish vs Subscription subjects."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.doubles.kyma_eventing import Backend, Eventing, NamingError, clean_source, clean_type, type_or_name

NATS = Eventing(backend=Backend.NATS)
MESH = Eventing(backend=Backend.EVENT_MESH, event_type_prefix="sap.kyma.custom")


def application(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}}


@pytest.mark.parametrize(("backend", "raw", "cleaned"), [
    (Backend.NATS, "github-acme", "github-acme"),         # JetStream keeps '-' and '_'
    (Backend.NATS, "my app.v2/x*", "myappv2x"),           # ... drops whitespace . > * / \\
    (Backend.EVENT_MESH, "github-acme", "githubacme"),    # EventMesh keeps alphanumerics only
    (Backend.EVENT_MESH, "a_b.c", "abc"),
])
def test_sources_are_cleaned_per_backend(backend: Backend, raw: str, cleaned: str) -> None:
    assert clean_source(backend, raw) == cleaned


@pytest.mark.parametrize(("backend", "raw", "cleaned"), [
    (Backend.NATS, "pull_request.opened.v1", "pull_request.opened.v1"),
    (Backend.NATS, "a b>c.d*.v1", "abc.d.v1"),
    (Backend.EVENT_MESH, "pull_request.opened.v1", "pullrequest.opened.v1"),
    (Backend.EVENT_MESH, "Account.Root.Created.v1", "AccountRoot.Created.v1"),  # >3 segments merged first
    (Backend.EVENT_MESH, "surveyengine.completed-response.x.v1", "surveyenginecompletedresponse.x.v1"),
])
def test_types_are_cleaned_per_backend(backend: Backend, raw: str, cleaned: str) -> None:
    assert clean_type(backend, raw) == cleaned


def test_the_application_label_replaces_the_source_and_the_name_otherwise() -> None:
    assert type_or_name(None, "github-acme") == "github-acme"
    assert type_or_name(application("github-acme"), "github-acme") == "github-acme"
    assert type_or_name(application("github-acme", {"Application-Type": "githubacme"}), "github-acme") == "githubacme"


def test_without_the_label_both_backends_match_the_connector_name() -> None:
    app = application("github-acme", {"app.kubernetes.io/instance": "github-acme"})
    for eventing in (NATS, MESH):
        published = eventing.published_subject("github-acme", "issues.opened.v1", app)
        assert published == eventing.subscription_subject("github-acme", "issues.opened.v1")
    assert NATS.published_subject("github-acme", "issues.opened.v1", app) == "kyma.github-acme.issues.opened.v1"
    mesh_subject = MESH.published_subject("github-acme", "issues.opened.v1", app)
    assert mesh_subject == "sap.kyma.custom.githubacme.issues.opened.v1"


def test_a_stripped_label_loses_events_on_nats_only() -> None:
    """The defect this double exists to catch: a label of the stripped name moves the NATS subject away."""
    app = application("github-acme", {"application-type": "githubacme"})
    nats_published = NATS.published_subject("github-acme", "issues.opened.v1", app)
    assert nats_published == "kyma.githubacme.issues.opened.v1"
    assert nats_published != NATS.subscription_subject("github-acme", "issues.opened.v1")
    assert MESH.published_subject("github-acme", "issues.opened.v1", app) == MESH.subscription_subject(
        "github-acme", "issues.opened.v1")


def test_empty_segments_and_long_eventmesh_subjects_are_refused() -> None:
    with pytest.raises(NamingError, match="empty segments"):
        NATS.published_subject("...", "issues.opened.v1", None)
    long_prefix = Eventing(backend=Backend.EVENT_MESH, event_type_prefix="one.two.three.four")
    with pytest.raises(NamingError, match="7 segments"):
        long_prefix.subscription_subject("app", "order.created.v1")
    assert MESH.subscription_subject("app", "a.b.c.d.e.v1") == "sap.kyma.custom.app.abcd.e.v1"  # merged to 3


def test_exact_type_matching_takes_the_type_as_written() -> None:
    assert NATS.subscription_subject("ignored", "sap.kyma.custom.x.y.v1", exact=True) == "kyma.sap.kyma.custom.x.y.v1"
    assert MESH.subscription_subject("ignored", "sap.kyma.custom.x.y.v1", exact=True) == "sap.kyma.custom.x.y.v1"
