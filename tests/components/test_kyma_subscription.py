"""Subscriptions declared in stack config: objects the real Subscription CRD accepts, named as eventing routes."""

from __future__ import annotations

from typing import Any

import pytest

from components.kyma_subscription import KymaSubscriptionArgs, subscription_object
from kyma_connectors.core.catalog import load_catalog
from kyma_connectors.core.eventing import TypeMatching
from kyma_connectors.program.subscriptions import SubscriptionSettings
from tests.components.test_connector import APPLICATION, SUBSCRIPTION, example_settings, run_connectors
from tests.support.crds import assert_valid_custom_resource, crd_errors
from tests.support.pulumi_mocks import MockStack

GITHUB = load_catalog("github")


def args(*events: str, matching: TypeMatching = TypeMatching.STANDARD) -> KymaSubscriptionArgs:
    return KymaSubscriptionArgs(subscription=SubscriptionSettings(
        name="on-prs", namespace="extensions", sink="http://bot.extensions.svc.cluster.local:8080/events",
        events=events, type_matching=matching), connector="github-acme", source="github-acme", catalog=GITHUB)


def test_native_names_become_catalog_types_once_each() -> None:
    push = GITHUB.type_for("push")
    assert push is not None
    obj = subscription_object(args("pull_request.opened", "push", push))  # push twice: by name and by type
    assert obj["spec"]["types"] == [GITHUB.type_for("pull_request", "opened"), GITHUB.type_for("push")]
    assert obj["spec"]["source"] == "github-acme"
    assert obj["spec"]["typeMatching"] == "standard"
    assert_valid_custom_resource(obj)


def test_a_native_event_without_action_means_every_action() -> None:
    types = subscription_object(args("pull_request"))["spec"]["types"]
    assert types == [e.type for e in GITHUB.events if e.event == "pull_request"]


def test_exact_matching_writes_what_nats_routes() -> None:
    obj = subscription_object(args("push", matching=TypeMatching.EXACT))
    assert obj["spec"]["types"] == [f"github-acme.{GITHUB.type_for('push')}"]
    assert obj["spec"]["typeMatching"] == "exact"


def test_the_crd_refuses_what_we_never_emit() -> None:
    obj = subscription_object(args("push"))
    del obj["spec"]["sink"]
    assert any("sink" in e for e in crd_errors(obj))


def test_the_example_stack_subscription_names_the_applications_source(mock_stack: Any) -> None:
    stack: MockStack = mock_stack()
    run_connectors(stack, example_settings())
    (subscription,) = stack.of_type(SUBSCRIPTION)
    application = next(a for a in stack.of_type(APPLICATION) if a.k8s_name == "github-acme")
    labels = application.metadata["labels"]
    assert subscription.inputs["spec"]["source"] == labels.get("application-type", "github-acme")
    assert subscription.k8s_namespace == "extensions"
    assert_valid_custom_resource(subscription.k8s_object())


@pytest.mark.parametrize("name", ["pushed", "pull_request.nope"])
def test_unknown_names_have_no_object(name: str) -> None:
    with pytest.raises(ValueError, match="no catalog type"):
        subscription_object(args(name))
