"""The SDK compatibility module: the version check names what to re-check; the reset leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest

from tests.support import pulumi_sdk_compat as sdk
from tests.support.pulumi_mocks import MockStack

pytestmark = pytest.mark.timeout(30)


def test_another_sdk_fails_naming_the_module_and_the_sdk_to_read() -> None:
    with pytest.raises(sdk.PulumiSdkChanged) as info:
        sdk.check_sdk("3.999.0")
    message = str(info.value)
    assert message.startswith(f"tests/support/pulumi_sdk_compat.py was checked against the pulumi SDK "
                              f"{sdk.CHECKED_AGAINST}, but 3.999.0 is installed")
    assert str(Path(pulumi.__file__).parent) in message
    assert "set CHECKED_AGAINST = '3.999.0'" in message
    assert (Path(__file__).parent / "pulumi_sdk_compat.py").is_file()  # the module the message names


def test_reset_forgets_the_root_stack_the_config_and_the_monitor() -> None:
    stack = MockStack(config={"clusterDomain": "example.org"}, stack="dev")
    stack.run(lambda: k8s.core.v1.ConfigMap("before", metadata={"name": "before"}))
    assert pulumi.runtime.get_root_resource() is not None
    sdk.reset_runtime()
    assert pulumi.runtime.get_root_resource() is None
    assert pulumi.runtime.get_config("kyma-connectors:clusterDomain") is None
    assert (pulumi.get_project(), pulumi.get_stack()) == ("project", "stack")
    k8s.core.v1.ConfigMap("after", metadata={"name": "after"})
    assert [r.name for r in stack.registrations] == ["before"]  # the old mock monitor is out of reach
