"""Stack config for Subscriptions and ``events: subscribed``: refused with the path to fix, parsed when right."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kyma_connectors.core.eventing import TypeMatching
from kyma_connectors.program import ConfigValidationError, parse
from tests.kyma_connectors.program.test_validation import raw_config

SUB: dict[str, Any] = {"name": "on-push", "namespace": "ext", "sink": "http://bot.ext.svc.cluster.local",
                       "events": ["push"]}


def with_subscription(**changes: Any) -> dict[str, Any]:
    raw = raw_config()
    raw["connectors"][0]["subscriptions"] = [{**copy.deepcopy(SUB), **changes}]
    return raw


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigValidationError) as failure:
        parse(raw, secret_keys=frozenset({"connectors"}))
    return failure.value.messages


def test_a_subscription_is_parsed_with_its_defaults() -> None:
    settings = parse(with_subscription(events=["push", "pull_request.opened"]), secret_keys=frozenset({"connectors"}))
    (sub,) = settings.connectors[0].subscriptions
    assert (sub.name, sub.namespace, sub.events, sub.type_matching) == (
        "on-push", "ext", ("push", "pull_request.opened"), TypeMatching.STANDARD)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"events": ["pushed"]}, 'connectors[0].subscriptions[0].events[0]: unknown github event or type "pushed"'),
    ({"events": ["push", "pull_request.nope"]}, "connectors[0].subscriptions[0].events[1]: unknown github event"),
    ({"sink": "http://bot.other.svc.cluster.local"},
     'connectors[0].subscriptions[0].sink: the sink\'s service must be in the Subscription\'s namespace "ext"'),
    ({"sink": "https://example.com/hook"}, "connectors[0].subscriptions[0].sink: expected a cluster-local URL"),
    ({"name": "On_Push"}, "connectors[0].subscriptions[0].name: expected a Kubernetes name"),
    ({"typeMatching": "fuzzy"}, 'connectors[0].subscriptions[0].typeMatching: expected one of "standard", "exact"'),
    ({"events": []}, "connectors[0].subscriptions[0].events: expected at least 1 item"),
])
def test_bad_subscriptions_are_refused_with_their_path(changes: dict[str, Any], expected: str) -> None:
    found = problems(with_subscription(**changes))
    assert any(message.startswith(expected) for message in found), found


def test_a_missing_sink_is_required() -> None:
    raw = with_subscription()
    del raw["connectors"][0]["subscriptions"][0]["sink"]
    assert "connectors[0].subscriptions[0].sink: required" in problems(raw)


def test_the_same_subscription_twice_in_a_stack_is_refused() -> None:
    raw = with_subscription()
    raw["connectors"][1]["subscriptions"] = [copy.deepcopy(SUB)]
    assert any(m.startswith('connectors[1].subscriptions[0].name: "ext/on-push" is also connectors[0]')
               for m in problems(raw))


def test_events_subscribed_is_parsed_and_other_words_are_refused() -> None:
    raw = raw_config()
    raw["connectors"][0]["events"] = "subscribed"
    settings = parse(raw, secret_keys=frozenset({"connectors"}))
    assert settings.connectors[0].events_subscribed is True
    assert settings.connectors[0].events is None
    raw["connectors"][0]["events"] = "all"
    assert 'connectors[0].events: expected a list of event names or "subscribed", got "all"' in problems(raw)


def test_events_subscribed_needs_a_registered_webhook() -> None:
    raw = raw_config()
    raw["connectors"].append({"name": "generic-x", "solution": "generic", "events": "subscribed"})
    assert any(m.startswith('connectors[2].events: "subscribed" needs a webhook the program registers')
               for m in problems(raw))
