"""connectorctl tests use the webhook tests' fixtures: the GitHub double and a loopback gateway."""

from __future__ import annotations

from tests.kyma_connectors.hooks.conftest import gateway, github

__all__ = ["gateway", "github"]
