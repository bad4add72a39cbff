"""Names people write for events, resolved through the shipped catalogs."""

from __future__ import annotations

from kyma_connectors.core.catalog import load_catalog
from kyma_connectors.core.event_names import types_for


def test_native_event_catalog_type_and_event_action_resolve() -> None:
    github = load_catalog("github")
    assert types_for(github, "push") == [e.type for e in github.events if e.event == "push"]
    assert types_for(github, "pull_request.opened") == [github.type_for("pull_request", "opened")]
    opened = github.type_for("pull_request", "opened")
    assert opened is not None
    assert types_for(github, opened) == [opened]
    every_action = types_for(github, "pull_request")
    assert opened in every_action
    assert len(every_action) == len([e for e in github.events if e.event == "pull_request"]) > 1


def test_unknown_names_resolve_to_nothing() -> None:
    github = load_catalog("github")
    assert types_for(github, "pushed") == []
    assert types_for(github, "pull_request.nonsense") == []


def test_type_back_to_native_event() -> None:
    github = load_catalog("github")
    opened = github.type_for("pull_request", "opened")
    assert opened is not None
    entry = github.entry_for_type(opened)
    assert entry is not None
    assert (entry.event, entry.action) == ("pull_request", "opened")
    assert github.entry_for_type("nope.v1") is None
