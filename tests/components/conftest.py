"""Fixtures for the component tests: a fresh recording mock stack per test (tests/support/pulumi_mocks.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.pulumi_mocks import MockStack

MockStackFactory = Callable[..., MockStack]


@pytest.fixture
def mock_stack() -> MockStackFactory:
    """``mock_stack(config=..., secret_keys=..., preview=...)`` -> a new :class:`MockStack` (tests/conftest.py resets
    the runtime after the test)."""

    def make(**kwargs: Any) -> MockStack:
        return MockStack(**kwargs)

    return make
