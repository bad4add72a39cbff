"""The recording mocks behave like the engine where the component tests rely on it (see pulumi_mocks' docstring)."""

from __future__ import annotations

import asyncio

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pytest

from tests.support.pulumi_mocks import MockStack

pytestmark = pytest.mark.timeout(30)


class Parent(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Parent", name, None, opts)
        self.password = random.RandomPassword(f"{name}-pw", length=12, opts=pulumi.ResourceOptions(parent=self))
        self.secret = k8s.core.v1.Secret(f"{name}-secret", metadata={"name": "s", "namespace": "ns"},
                                         string_data={"k": self.password.result},
                                         opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def _label(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    if not args.type_.startswith("kubernetes:"):
        return None
    current = args.props.get("metadata")
    metadata = {**(current if isinstance(current, dict) else {}), "labels": {"transformed": "yes"}}
    return pulumi.ResourceTransformResult({**args.props, "metadata": metadata}, args.opts)


def test_parents_secrets_and_dependencies_are_recorded() -> None:
    stack = MockStack()
    parent = stack.run(lambda: Parent("p"))
    secret = stack.one("kubernetes:core/v1:Secret")
    password = stack.one("random:index/randomPassword:RandomPassword")
    assert secret.qualified_type == "test:index:Parent$kubernetes:core/v1:Secret"
    assert secret.parent_type == "test:index:Parent"
    assert secret.is_secret("stringData.k")
    assert secret.depends_on(password)
    assert secret.id == "ns/s"
    assert stack.is_secret(parent.password.result)  # additional_secret_outputs applied, as the engine does
    assert stack.resolve(parent.password.result) == password.outputs["result"]


def test_stack_and_resource_transforms_change_what_is_recorded() -> None:
    stack = MockStack()

    def program() -> None:
        pulumi.runtime.register_resource_transform(_label)
        k8s.core.v1.ConfigMap("cm", metadata={"name": "cm"}, data={"a": "b"})
        random.RandomId("id", byte_length=4)

    stack.run(program)
    assert stack.one("kubernetes:core/v1:ConfigMap").metadata["labels"] == {"transformed": "yes"}
    assert "metadata" not in stack.one("random:index/randomId:RandomId").inputs


def test_a_failing_program_keeps_what_it_registered() -> None:
    stack = MockStack()

    def program() -> None:
        k8s.core.v1.ConfigMap("before", metadata={"name": "before"})
        raise ValueError("config is wrong")

    with pytest.raises(ValueError, match="config is wrong"):
        stack.run(program)
    assert [r.name for r in stack.registrations] == ["before"]


def test_config_is_namespaced() -> None:
    stack = MockStack(config={"clusterDomain": "example.org", "other:key": {"a": 1}}, secret_keys=["clusterDomain"])
    values = stack.run(lambda: (pulumi.Config().get("clusterDomain"), pulumi.Config("other").get_object("key"),
                                pulumi.runtime.is_config_secret("kyma-connectors:clusterDomain")))
    assert values == ("example.org", {"a": 1}, True)


def test_runs_after_asyncio_run_left_no_loop() -> None:
    asyncio.run(asyncio.sleep(0))
    stack = MockStack()
    stack.run(lambda: k8s.core.v1.ConfigMap("cm", metadata={"name": "cm"}))
    assert len(stack.registrations) == 1
