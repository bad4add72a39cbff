"""The hook reconciler's contract with the program: where the credential Secret is mounted, its keys, the port.

Shared here because the program (components/hook_reconciler.py) writes the Deployment and the service
(kyma_connectors/reconciler/settings.py) reads what it wrote; neither may import the other.
"""

from __future__ import annotations

from typing import Final

ENV_PREFIX: Final[str] = "RECONCILER_"
"""Every setting is a ``RECONCILER_*`` variable (kyma_connectors/reconciler/settings.py lists them)."""
CREDENTIALS_DIR: Final[str] = "/var/run/kyma-connectors/credentials"
"""Where the Deployment mounts the credentials (a projected volume); file names are the keys below."""
TOKEN_KEY: Final[str] = "token"  # noqa: S105 -- a file name, not a secret
APP_ID_KEY: Final[str] = "app-id"
INSTALLATION_ID_KEY: Final[str] = "installation-id"
PRIVATE_KEY_KEY: Final[str] = "private-key"
WEBHOOK_SECRET_KEY: Final[str] = "webhook-secret"  # noqa: S105 -- a file name
"""Qualtrics only: each subscription is created with the webhook secret as its shared key."""
PORT: Final[int] = 8080
"""``/healthz``, ``/readyz`` and ``/metrics``."""
