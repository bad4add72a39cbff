"""The suite-wide rules in tests/conftest.py, checked by running a small suite under them."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

SMALL_SUITE = '''
import pulumi
import pulumi_kubernetes as k8s
import pytest

from tests.support.pulumi_mocks import MockStack


def test_a_failing_mock_run() -> None:
    stack = MockStack(config={"clusterDomain": "leaked.example"})
    stack.run(lambda: k8s.core.v1.ConfigMap("cm", metadata={"name": "cm"}))
    assert stack.registrations == [], "fails before any cleanup it could do by hand"


def test_the_next_test_starts_clean() -> None:
    assert pulumi.runtime.get_root_resource() is None
    assert pulumi.runtime.get_config("kyma-connectors:clusterDomain") is None
    assert (pulumi.get_project(), pulumi.get_stack()) == ("project", "stack")


@pytest.mark.controlplane
def test_on_the_control_plane() -> None:
    raise AssertionError("deselected by -m 'not slow'")
'''


@pytest.mark.slow
def test_a_failed_mock_run_leaks_nothing_and_control_plane_tests_are_slow(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests.conftest import _fresh_pulumi_runtime, pytest_collection_modifyitems  # noqa\n")
    pytester.makeini("[pytest]\nmarkers =\n    controlplane: needs the local kube-apiserver\n    slow: slow\n")
    pytester.makepyfile(test_small=textwrap.dedent(SMALL_SUITE))
    result = pytester.runpytest("-p", "no:cacheprovider", "-q", "-m", "not slow")
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*fails before any cleanup it could do by hand*"])
