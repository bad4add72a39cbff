"""Fixtures: a running publisher double and a factory of running gateways, all on loopback, all stopped after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.kyma_connectors.gateway.harness import Gateway, PublisherDouble

GatewayFactory = Callable[..., Gateway]


@pytest.fixture(scope="module")
def shared_publisher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublisherDouble]:
    """One double per test module (starting processes is most of these tests' time)."""
    double = PublisherDouble(tmp_path_factory.mktemp("publisher"))
    double.start()
    yield double
    double.stop()


@pytest.fixture
def publisher(shared_publisher: PublisherDouble) -> PublisherDouble:
    """The module's double, running (a test may have stopped it), with no events and no injected failures."""
    if not shared_publisher.alive():
        shared_publisher.start()
    shared_publisher.reset()
    return shared_publisher


@pytest.fixture
def gateway_factory(tmp_path: Path, publisher: PublisherDouble) -> Iterator[GatewayFactory]:
    """``gateway_factory(GATEWAY_X="...", ...)`` -> a started gateway publishing to the double."""
    started: list[Gateway] = []

    def make(start: bool = True, popen: dict[str, Any] | None = None, **settings: str) -> Gateway:
        workdir = tmp_path / f"gw{len(started)}"
        workdir.mkdir()
        gateway = Gateway(workdir, publisher.url, settings, **(popen or {}))
        started.append(gateway)
        if start:
            gateway.start()
        return gateway

    yield make
    for gateway in started:
        gateway.stop()
