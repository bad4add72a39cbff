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

from kyma_connectors.core.eventing import Backend
from kyma_connectors.core.reconciler_contract import (
    APP_ID_KEY,
    CREDENTIALS_DIR,
    INSTALLATION_ID_KEY,
    PORT,
    PRIVATE_KEY_KEY,
    TOKEN_KEY,
    WEBHOOK_SECRET_KEY,
)
from kyma_connectors.core.reconciler_contract import ENV_PREFIX as PREFIX
from kyma_connectors.reconciler.errors import SettingsError

SOLUTIONS: Final[tuple[str, ...]] = ("github", "qualtrics")
_TARGET: Final[re.Pattern[str]] = re.compile(r"^(org:[A-Za-z0-9-]+|[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)$")


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
    port: int = PORT
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
                raise SettingsError(f"credentials: cannot read {path}: {exc.strerror}") from None
            return text or None

        creds = Credentials(token=read(TOKEN_KEY), app_id=read(APP_ID_KEY),
                            installation_id=read(INSTALLATION_ID_KEY), private_key=read(PRIVATE_KEY_KEY),
                            webhook_secret=read(WEBHOOK_SECRET_KEY))
        if not creds.token and not (creds.app_id and creds.installation_id and creds.private_key):
            raise SettingsError(f"credentials: {self.credentials_dir} holds neither {TOKEN_KEY} nor "
                                f"{APP_ID_KEY}/{INSTALLATION_ID_KEY}/{PRIVATE_KEY_KEY}")
        if self.solution == "qualtrics" and not creds.webhook_secret:
            raise SettingsError(f"credentials: {self.credentials_dir}/{WEBHOOK_SECRET_KEY} is required for Qualtrics "
                                "(each subscription is created with the shared key)")
        return creds


def from_env(env: Mapping[str, str]) -> Settings:
    """Settings from ``RECONCILER_*`` variables (and ``KUBECONFIG`` outside a cluster); every problem at once."""
    problems: list[str] = []

    def need(name: str) -> str:
        value = env.get(PREFIX + name, "").strip()
        if not value:
            problems.append(f"{PREFIX}{name} is required")
        return value

    def number(name: str, default: float) -> float:
        raw = env.get(PREFIX + name)
        if raw is None or raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if value < 0:
            problems.append(f"{PREFIX}{name}: expected a non-negative number of seconds, got {raw!r}")
        return value

    solution = need("SOLUTION")
    if solution and solution not in SOLUTIONS:
        problems.append(f"{PREFIX}SOLUTION: expected one of {', '.join(SOLUTIONS)}, got {solution!r}")
    raw_targets = tuple(t.strip() for t in env.get(PREFIX + "TARGETS", "").split(",") if t.strip())
    if solution == "github":
        if not raw_targets:
            problems.append(f"{PREFIX}TARGETS is required for github (owner/repo or org:NAME, comma-separated)")
        problems += [f"{PREFIX}TARGETS: {t!r} is not owner/repo or org:NAME" for t in raw_targets
                     if not _TARGET.match(t)]
    backend_raw = env.get(PREFIX + "BACKEND", Backend.NATS.value)
    if backend_raw not in tuple(Backend):
        problems.append(f"{PREFIX}BACKEND: expected one of {', '.join(Backend)}, got {backend_raw!r}")
    port_raw = env.get(PREFIX + "PORT", str(PORT))
    if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
        problems.append(f"{PREFIX}PORT: expected a TCP port, got {port_raw!r}")
    settings = Settings(
        application=need("APPLICATION"), solution=solution, source=need("SOURCE"),
        api_url=need("API_URL").rstrip("/"), targets=raw_targets if solution == "github" else ("",),
        webhook_url=need("WEBHOOK_URL"),
        credentials_dir=Path(env.get(PREFIX + "CREDENTIALS_DIR") or CREDENTIALS_DIR),
        backend=Backend(backend_raw) if backend_raw in tuple(Backend) else Backend.NATS,
        namespace=env.get(PREFIX + "NAMESPACE", ""), status_configmap=env.get(PREFIX + "STATUS_CONFIGMAP", ""),
        debounce=number("DEBOUNCE_SECONDS", 1.0), max_delay=number("MAX_DELAY_SECONDS", 10.0),
        resync=number("RESYNC_SECONDS", 300.0), retry_max=number("RETRY_MAX_SECONDS", 300.0),
        port=int(port_raw) if port_raw.isdigit() else PORT,
        kubeconfig=Path(env["KUBECONFIG"]) if env.get("KUBECONFIG") else None,
    )
    if settings.status_configmap and not settings.namespace:
        problems.append(f"{PREFIX}NAMESPACE is required with {PREFIX}STATUS_CONFIGMAP")
    if problems:
        raise SettingsError("reconciler settings: " + "; ".join(problems))
    return settings
