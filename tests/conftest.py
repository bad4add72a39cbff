"""Suite-wide rules: Pulumi's process-wide runtime state is reset around every test; control-plane tests are slow.

Why the reset lives here: a mocked program run leaves the SDK pointing at its mock monitor, with its root stack and
its stack config set. Resetting by hand at the end of a test is skipped when an assertion fails first, and the next
test then runs against the previous one's stack. An autouse fixture runs whatever the outcome.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


def _reset_pulumi() -> None:
    """Reset only when the SDK was imported: before that there is no state, and suites that never touch Pulumi (the
    services, the doubles) should not pay its import."""
    if "pulumi" in sys.modules:
        from tests.support.pulumi_sdk_compat import reset_runtime

        reset_runtime()


@pytest.fixture(autouse=True)
def _fresh_pulumi_runtime() -> Iterator[None]:
    """No root stack, mock monitor, config or pending RPC from one test reaches another."""
    _reset_pulumi()
    yield
    _reset_pulumi()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the local control plane is slow by nature (the first start of etcd + kube-apiserver takes 5-10 s), so
    ``-m "not slow"`` leaves those out without every such test repeating both markers."""
    for item in items:
        if item.get_closest_marker("controlplane") is not None and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)
