"""Credential values for the legacy registry, read from Secrets mounted into the Job.

Why mounted files: the Application Registry (Kyma 1.x) takes credentials inline in the service body, so the job needs
the values; mounting the connector's Secrets as volumes (``<dir>/<secretName>/<key>``) gives it exactly those and
nothing else -- no RBAC on Secrets, no API reads, and kubelet keeps the files current. The ``application-cr`` backend
never reads credentials: the Application only names the Secret.

Keys per credential type follow the Central Application Gateway's Secret layout (kyma-contracts.md (a)): Basic
``username``/``password``, OAuth ``clientId``/``clientSecret``; request parameters ``headers``/``queryParameters`` as
JSON ``{"name": ["value"]}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kyma_connectors.core.problems import Problem
from kyma_connectors.registrar.errors import SpecError


@dataclass(frozen=True)
class MountedSecrets:
    """Secrets mounted under one directory, one sub-directory per Secret."""

    root: Path

    def value(self, secret: str, key: str) -> str:
        """The value of ``key`` in Secret ``secret``; a clear error names a missing mount without any value."""
        path = self.root / secret / key
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError as exc:
            raise SpecError.at("credentials", f"key {key!r} of Secret {secret!r} is not mounted at {path}") from exc
        except OSError as exc:
            raise SpecError([Problem("credentials", f"cannot read key {key!r} of Secret {secret!r}: "
                                                    f"{type(exc).__name__}")]) from exc

    def optional_json(self, secret: str, key: str) -> dict[str, Any] | None:
        """A JSON object value, or None when the key is not there (request parameters are optional per key)."""
        if not (self.root / secret / key).is_file():
            return None
        try:
            parsed = json.loads(self.value(secret, key))
        except ValueError as exc:
            raise SpecError([Problem("credentials", f"key {key!r} of Secret {secret!r} is not JSON")]) from exc
        if not isinstance(parsed, dict):
            raise SpecError([Problem("credentials", f"key {key!r} of Secret {secret!r} must be a JSON object")])
        return parsed
