"""The program (``__main__.py``) on the example stack: namespace, stack options, GitOps render, outputs."""

from __future__ import annotations

from typing import Any

import pytest

from kyma_connectors.program import ConfigValidationError
from tests.support.crds import assert_valid_custom_resource
from tests.support.pulumi_mocks import PROJECT, MockStack, example_config, run_main

pytestmark = pytest.mark.timeout(60)
NAMESPACE = "kubernetes:core/v1:Namespace"


@pytest.fixture
def stack_for() -> Any:
    """``stack_for(**config_changes)`` -> a MockStack on the example config with those top-level keys changed."""

    def make(**changes: Any) -> MockStack:
        config = example_config()
        config.update({f"{PROJECT}:{key}": value for key, value in changes.items()})
        return MockStack(config=config, secret_keys=["connectors"], stack="dev")

    return make


def test_example_stack_exports_per_connector_outputs(stack_for: Any) -> None:
    """Pulumi.dev.yaml: both connectors deployed; one `connectors` output with each connector's contract."""
    stack = stack_for()
    run_main(stack)
    outputs = stack.resolve(stack.exports["connectors"])
    assert sorted(outputs) == ["github-acme", "qualtrics-surveys"]
    github = outputs["github-acme"]
    assert sorted(github) == ["apiGatewayUrls", "application", "eventSource", "eventTypes", "registrationJob",
                              "subscriptions", "webhookIds", "webhookUrl"]
    assert github["subscriptions"] == ["extensions/github-acme-pull-requests"]
    assert github["webhookUrl"] == "https://github-acme-webhook.c-1a2b3c.kyma.ondemand.com/webhook"
    assert sorted(github["webhookIds"]) == ["acme/gadgets", "acme/widgets", "org:acme"]
    assert outputs["qualtrics-surveys"]["webhookIds"].keys() == {"brand"}
    assert all(t.endswith(".v1") for t in github["eventTypes"])
    for registration in stack.custom_resources():
        assert_valid_custom_resource(registration.k8s_object())


def test_namespace_is_created_injected_and_waited_for(stack_for: Any) -> None:
    stack = stack_for()
    run_main(stack)
    namespace = stack.one(NAMESPACE)
    assert namespace.k8s_name == "kyma-connectors"
    assert namespace.metadata["labels"]["istio-injection"] == "enabled"
    namespaced = [r for r in stack.kubernetes() if r.k8s_namespace == "kyma-connectors"]
    assert len(namespaced) >= 20
    assert [r.name for r in namespaced if not r.depends_on(namespace)] == []


def test_existing_namespace_is_not_created(stack_for: Any) -> None:
    stack = stack_for(createNamespace=False, namespace="integrations")
    run_main(stack)
    assert stack.of_type(NAMESPACE) == []
    namespaces = {r.k8s_namespace for r in stack.kubernetes()}
    assert "integrations" in namespaces
    assert namespaces <= {None, "kyma-system", "integrations", "extensions"}  # extensions: the Subscription's


def test_render_yaml_to_directory_routes_kubernetes_objects_to_a_render_provider(stack_for: Any) -> None:
    stack = stack_for(renderYamlToDirectory="rendered")
    run_main(stack)
    provider = stack.one("pulumi:providers:kubernetes", "render")
    assert provider.inputs["renderYamlToDirectory"] == "rendered"
    objects = stack.kubernetes()
    assert objects
    assert [r.name for r in objects if not r.provider.startswith(provider.urn)] == []


def test_generic_connector_exports_its_webhook_secret_as_a_secret(stack_for: Any) -> None:
    """A generic sender must be given the secret: exported, but only as a secret output."""
    stack = stack_for(connectors=[{"name": "hooks", "solution": "generic", "webhookSecret": "s3cr3t"}])
    run_main(stack)
    hooks = stack.exports["connectors"]["hooks"]
    assert stack.is_secret(hooks["webhookSecret"])
    assert stack.resolve(hooks["webhookSecret"]) == "s3cr3t"
    assert stack.resolve(hooks["webhookIds"]) == {}


def test_plaintext_credentials_stop_the_program_before_any_resource() -> None:
    """Tokens in a config key Pulumi does not hold encrypted: the program refuses to run."""
    stack = MockStack(config=example_config(), secret_keys=[], stack="dev")
    with pytest.raises(ConfigValidationError, match=r"connectors\[0\]\.credentials\.token: stored in plain text"):
        run_main(stack)
    assert stack.registrations == []


def test_preview_registers_the_same_resources_as_up() -> None:
    """In a preview, provider outputs are unknown; the graph must not depend on them (nothing created in apply)."""
    names = []
    for preview in (False, True):
        stack = MockStack(config=example_config(), secret_keys=["connectors"], stack="dev", preview=preview)
        run_main(stack)
        names.append(sorted((r.type, r.name) for r in stack.registrations))
    assert len(names[0]) > 40
    assert names[0] == names[1]


def _pod_specs(stack: MockStack) -> list[tuple[str, dict[str, Any]]]:
    """(name, pod spec) of every workload the program registers: Deployments and Jobs (a CronJob's is nested)."""
    found = []
    for registration in stack.kubernetes():
        spec = registration.inputs.get("spec") or {}
        template = spec.get("template") or (spec.get("jobTemplate") or {}).get("spec", {}).get("template")
        if template:
            found.append((registration.name, template["spec"]))
    return found


def test_pull_secrets_reach_every_pod(stack_for: Any) -> None:
    """`images.pullSecrets`: every pod of every connector pulls with them; without the key no pod names any."""
    images = {**(example_config().get(f"{PROJECT}:images") or {}), "pullSecrets": ["regcred", "mirror.cred"]}
    private = stack_for(images=images)
    run_main(private)
    pods = _pod_specs(private)
    assert len(pods) >= 4  # a gateway Deployment and a registration Job per connector of the example stack
    for name, spec in pods:
        assert spec.get("imagePullSecrets") == [{"name": "regcred"}, {"name": "mirror.cred"}], name
    public = stack_for()
    run_main(public)
    assert [name for name, spec in _pod_specs(public) if "imagePullSecrets" in spec] == []


def test_a_pull_secret_that_is_no_secret_name_is_refused(stack_for: Any) -> None:
    stack = stack_for(images={"pullSecrets": ["Reg_Cred"]})
    with pytest.raises(ConfigValidationError, match=r"images\.pullSecrets\[0\]"):
        run_main(stack)
    assert stack.registrations == []
