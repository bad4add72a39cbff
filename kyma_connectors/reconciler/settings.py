"""The reconciler's settings, read once from its environment; credentials are read from files on every use.

Why files for credentials: the Deployment mounts the connector's credential Secret, and the kubelet refreshes a
mounted Secret in place, so a rotated token is picked up without a restart -- and never sits in the environment,
where ``kubectl describe`` and crash dumps would show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kyma_connectors.core import contract as c
from kyma_connectors.core.env import EnvReader
from kyma_connectors.core.eventing import Backend
from kyma_connectors.reconciler.errors import SettingsError

SOLUTIONS: Final[tuple[str, ...]] = ("github", "qualtrics")
_TARGET: Final[re.Pattern[str]] = re.compile(r"^(org:[A-Za-z0-9-]+|[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)$")
_NAME: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """What the hook API is called with (read fresh for every reconcile)."""

    token: str | None
    app_id: str | None
    installation_id: str | None
    private_key: str | None
    webhook_secret: str | None

    def __repr__(self) -> str:
        return f"Credentials(token={'***' if self.token else None}, app_id={self.app_id!r})"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the reconciler is told by its Deployment."""

    application: str
    """The connector (Kyma Application) name."""
    solution: str
    source: str
    """The source the publisher uses for this connector's events: what a Subscription must name."""
    api_url: str
    targets: tuple[str, ...]
    """GitHub ``owner/repo`` / ``org:NAME``; Qualtrics ``("",)`` (subscriptions are brand-wide)."""
    webhook_url: str
    """The gateway's payload URL: how the hook is found (the hook is the single state)."""
    credentials_dir: Path
    backend: Backend = Backend.NATS
    namespace: str = ""
    status_configmap: str = ""
    """ConfigMap (in ``namespace``) the reconciler writes its decisions to; empty: none."""
    debounce: float = 1.0
    """Quiet seconds after a Subscription change before the hook is updated (folds bursts into one update)."""
    max_delay: float = 10.0
    """Longest a change waits while changes keep coming."""
    resync: float = 300.0
    """Seconds between full re-reads of Subscriptions and hook (repairs hand edits, catches up after outages)."""
    retry_max: float = 300.0
    """Longest backoff between failed attempts, seconds."""
    port: int = c.RECONCILER_HTTP_PORT
    kubeconfig: Path | None = None

    def credentials(self) -> Credentials:
        """The mounted Secret's current values."""
        def read(key: str) -> str | None:
            path = self.credentials_dir / key
            try:
                text = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise SettingsError.at(str(path), f"cannot read: {exc.strerror}") from None
            return text or None

        creds = Credentials(token=read(c.RECONCILER_TOKEN_KEY), app_id=read(c.RECONCILER_APP_ID_KEY),
                            installation_id=read(c.RECONCILER_INSTALLATION_ID_KEY),
                            private_key=read(c.RECONCILER_PRIVATE_KEY_KEY),
                            webhook_secret=read(c.RECONCILER_WEBHOOK_SECRET_KEY))
        if not creds.token and not (creds.app_id and creds.installation_id and creds.private_key):
            raise SettingsError.at(str(self.credentials_dir), f"holds neither {c.RECONCILER_TOKEN_KEY} nor "
                                   f"{c.RECONCILER_APP_ID_KEY}/{c.RECONCILER_INSTALLATION_ID_KEY}/"
                                   f"{c.RECONCILER_PRIVATE_KEY_KEY}")
        if self.solution == "qualtrics" and not creds.webhook_secret:
            raise SettingsError.at(f"{self.credentials_dir}/{c.RECONCILER_WEBHOOK_SECRET_KEY}", "required for "
                                   "Qualtrics (each subscription is created with the shared key)")
        return creds


def from_env(env: Mapping[str, str]) -> Settings:
    """Settings from ``RECONCILER_*`` variables (and ``KUBECONFIG`` outside a cluster); every problem at once."""
    reader = EnvReader(env, c.RECONCILER_PREFIX)
    solution = reader.choice(c.RECONCILER_SOLUTION, "", SOLUTIONS) if reader.raw(c.RECONCILER_SOLUTION) else ""
    if not solution:
        reader.problem(c.RECONCILER_SOLUTION, f"required, not set (one of {', '.join(SOLUTIONS)})")
    targets = tuple(t.strip() for t in (reader.raw(c.RECONCILER_TARGETS) or "").split(",") if t.strip())
    if solution == "github" and not targets:
        reader.problem(c.RECONCILER_TARGETS, "required for github (owner/repo or org:NAME, comma-separated)")
    for target in targets if solution == "github" else ():
        if not _TARGET.match(target):
            reader.problem(c.RECONCILER_TARGETS, f"{target!r} is not owner/repo or org:NAME")
    status = reader.text(c.RECONCILER_STATUS_CONFIGMAP, "", _NAME, "a ConfigMap name") or ""
    namespace = reader.text(c.RECONCILER_NAMESPACE, "", _NAME, "a namespace name") or ""
    if status and not namespace:
        reader.problem(c.RECONCILER_NAMESPACE, f"required with {c.RECONCILER_STATUS_CONFIGMAP}")
    settings = Settings(
        application=reader.text(c.RECONCILER_APPLICATION, None) or "",
        solution=solution,
        source=reader.text(c.RECONCILER_SOURCE, None) or "",
        api_url=reader.url(c.RECONCILER_API_URL, None) or "",
        targets=targets if solution == "github" else ("",),
        webhook_url=reader.url(c.RECONCILER_WEBHOOK_URL, None) or "",
        credentials_dir=reader.directory(c.RECONCILER_CREDENTIALS_DIR, Path(c.RECONCILER_CREDENTIALS_MOUNT))
        or Path(c.RECONCILER_CREDENTIALS_MOUNT),
        backend=reader.enum("BACKEND", Backend, Backend.NATS) or Backend.NATS,
        namespace=namespace, status_configmap=status,
        debounce=reader.seconds("DEBOUNCE_SECONDS", 1.0, zero=True),
        max_delay=reader.seconds("MAX_DELAY_SECONDS", 10.0),
        resync=reader.seconds("RESYNC_SECONDS", 300.0),
        retry_max=reader.seconds("RETRY_MAX_SECONDS", 300.0),
        port=reader.integer(c.RECONCILER_PORT, c.RECONCILER_HTTP_PORT, 1, 65535),
        kubeconfig=Path(env["KUBECONFIG"]) if env.get("KUBECONFIG") else None,
    )
    if reader.problems:
        raise SettingsError(reader.problems)
    return settings
