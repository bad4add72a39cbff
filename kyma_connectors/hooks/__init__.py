"""The webhook on the solution's side: HTTP clients and semantics behind the ``WebhookRegistration`` resource.

A plain package, importable without Pulumi, so the dynamic provider pickled into state stays a small class that
refers to this code by name, and the operator CLI (``connectorctl``) reuses the same clients.

Modules: :mod:`~webhooks.spec` (validated inputs), :mod:`~webhooks.diff` (what changed),
:mod:`~kyma_connectors.hooks.lifecycle` (create/read/update/delete semantics), :mod:`~webhooks.github` and
:mod:`~webhooks.qualtrics` (API clients), :mod:`~webhooks.github_auth` (PAT or App installation token),
:mod:`~webhooks.transport` (timeouts, retries, rate limits), :mod:`~webhooks.backfill`, :mod:`~webhooks.errors`.
"""

from __future__ import annotations

from kyma_connectors.hooks.errors import WebhookError
from kyma_connectors.hooks.spec import HookSpec

__all__ = ["HookSpec", "WebhookError"]
