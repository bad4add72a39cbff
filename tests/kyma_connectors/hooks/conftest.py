"""Fixtures for the webhook provider's tests: real loopback doubles and receiver, fake time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.doubles.github import GitHubDouble
from devtools.doubles.qualtrics import QualtricsDouble
from tests.kyma_connectors.hooks.helpers import FakeClock, Receiver, github_double, qualtrics_double, receiver


@pytest.fixture
def github() -> Iterator[GitHubDouble]:
    with github_double() as double:
        yield double


@pytest.fixture
def qualtrics() -> Iterator[QualtricsDouble]:
    with qualtrics_double() as double:
        yield double


@pytest.fixture
def gateway() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
