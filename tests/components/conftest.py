"""Fixtures for the component tests: a recording mock stack (tests/support/pulumi_mocks.py), the loopback GitHub
double and webhook receiver the WebhookRegistration provider talks to, and the local control plane."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.doubles.github import GitHubDouble
from tests.kyma_connectors.hooks.helpers import Receiver, github_double, receiver
from tests.support.controlplane import control_plane, kube_api  # noqa: F401  (pytest fixtures)
from tests.support.pulumi_mocks import MockStack

MockStackFactory = Callable[..., MockStack]


@pytest.fixture
def mock_stack() -> MockStackFactory:
    """``mock_stack(config=..., secret_keys=..., preview=...)`` -> a new :class:`MockStack` (tests/conftest.py resets
    the runtime after the test)."""

    def make(**kwargs: Any) -> MockStack:
        return MockStack(**kwargs)

    return make


@pytest.fixture
def github() -> Iterator[GitHubDouble]:
    with github_double() as double:
        yield double


@pytest.fixture
def gateway() -> Iterator[Receiver]:
    with receiver() as r:
        yield r
