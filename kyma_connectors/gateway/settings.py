"""The gateway's configuration: environment variables, read once into a typed, frozen object.

The variable names are a contract with the Pulumi ``EventGateway`` component (:mod:`kyma_connectors.core.contract`;
docs/event-gateway.md has the table), read with the shared :class:`~kyma_connectors.core.env.EnvReader`. Every
problem is collected before failing, so one start names every missing or bad variable; secret values never appear in
messages or in ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from kyma_connectors.core import contract
from kyma_connectors.core.catalog import catalog_path
from kyma_connectors.core.env import EnvReader
from kyma_connectors.gateway.errors import ConfigError
from kyma_connectors.gateway.oversize import DEFAULT_PUBLISH_MAX_BYTES, Oversize

PREFIX: Final[str] = contract.GATEWAY_PREFIX
APPLICATION_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
"""A Kubernetes object name, as the Kyma Application CR requires; it becomes the CloudEvents ``source``."""
TYPE_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[a-z0-9]+(\.[a-z0-9]+)+$")


class Solution(StrEnum):
    """Which sender the gateway verifies and maps."""

    GITHUB = "github"
    QUALTRICS = "qualtrics"
    GENERIC = "generic"


class UnknownEvents(StrEnum):
    """What to do with a verified delivery whose event or action the catalog does not list (docs/event-gateway.md).

    The default publishes: GitHub adds events and actions faster than any catalog is re-generated, and a hook that
    GitHub delivers to must not lose them silently. Every such delivery is counted in
    ``event_gateway_deliveries_uncatalogued_total{disposition}``.
    """

    PUBLISH = "publish"
    """Publish it under the type the catalog's naming rule derives (``issues.brandnewaction.v1``)."""
    DROP = "drop"
    """Answer 202 ``{"status": "ignored"}`` saying why, publish nothing."""
    CATCHALL = "catchall"
    """Publish every such delivery under one type, ``GATEWAY_CATCHALL_TYPE``."""


class GenericAuth(StrEnum):
    """How a generic source proves itself."""

    HMAC = "hmac"
    BEARER = "bearer"
    BASIC = "basic"


class Secret:
    """A secret value that prints as stars, so settings can be logged and compared safely."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain value; call it only where the value is used (HMAC keys, credential compares)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, kw_only=True)
class GenericSettings:
    """How a generic source signs and names its deliveries."""

    auth: GenericAuth = GenericAuth.HMAC
    signature_header: str = "X-Signature-256"
    """HMAC mode: the header carrying ``<prefix><hex HMAC-SHA256 of the raw body>``."""
    signature_prefix: str = "sha256="
    event_header: str = "X-Webhook-Event"
    """The header naming the event; a delivery without it is the event ``webhook``."""
    id_header: str = "Webhook-Id"
    """The header carrying a stable delivery id; without it the id is a digest of the delivery."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the gateway reads from its environment (units in the names or docstrings)."""

    solution: Solution
    application: str
    """Kyma Application name; the CloudEvents ``source``."""
    secrets: tuple[Secret, ...] = field(repr=False)
    """Accepted webhook secrets (several during a rotation)."""
    publisher_url: str = field(default="http://eventing-publisher-proxy.kyma-system", repr=False)
    """May carry ``user:password@``: log it only through :func:`redacted_url`."""
    spool_dir: Path = Path(contract.GATEWAY_SPOOL_MOUNT)
    host: str = "0.0.0.0"  # noqa: S104 - a pod listens on all interfaces; local runs set GATEWAY_HOST
    port: int = contract.GATEWAY_HTTP_PORT
    catalog: Path | None = None
    """AsyncAPI document; ``None`` means the shipped ``specs/<solution>/asyncapi.yaml``."""
    legacy_events: bool = False
    unknown_events: UnknownEvents = UnknownEvents.PUBLISH
    catchall_type: str = ""
    """Type for unlisted events when ``unknown_events`` is ``catchall`` (and for names the naming rule cannot turn
    into a type); default ``<solution>.unknown.v1``."""
    max_body_bytes: int = 32 * 1024 * 1024
    """GitHub caps payloads at 25 MB; form encoding inflates them, hence 32 MiB."""
    spool_max_bytes: int = 1024 * 1024 * 1024
    segment_bytes: int = 16 * 1024 * 1024
    dedup_window: int = 100_000
    """How many recent event ids are remembered (across restarts) to suppress redeliveries."""
    publish_concurrency: int = 16
    """Events in flight to the publisher; 1 gives strict order."""
    publish_timeout_seconds: float = 10.0
    publish_max_bytes: int = DEFAULT_PUBLISH_MAX_BYTES
    """Body bytes the eventing publisher proxy takes per request (its ``--max-request-size``, 65,536 unless changed)."""
    oversize: Oversize = Oversize.TRIM
    """A delivery whose event exceeds ``publish_max_bytes``: trim its largest arrays, or refuse it with 413
    (kyma_connectors/gateway/oversize.py)."""
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    shutdown_grace_seconds: float = 20.0
    """How long SIGTERM waits for in-flight requests; keep below the pod's terminationGracePeriodSeconds."""
    shutdown_drain_seconds: float = 10.0
    """After the last request on SIGTERM, how long to keep publishing the backlog (a pod's emptyDir spool goes away
    with the pod); 0 disables."""
    max_connections: int = 4096
    """Open connections; at the limit a new one displaces the longest-held idle or header-sending connection."""
    idle_timeout_seconds: float = 5.0
    """A connection without a request in progress (none yet, or after a response) is closed after this."""
    header_timeout_seconds: float = 10.0
    """From a request's first byte to its complete header section (408 after; GitHub itself gives up at 10 s)."""
    body_timeout_seconds: float = 20.0
    """From the complete headers to the complete body (408 after)."""
    max_header_bytes: int = 32 * 1024
    """Request line plus header section (431 above)."""
    max_headers: int = 100
    """Header fields per request (431 above)."""
    body_memory_bytes: int = 64 * 1024 * 1024
    """Process-wide: bytes of small bodies being read held in memory; beyond it they are spilled to disk too."""
    body_spill_bytes: int = 256 * 1024 * 1024
    """Process-wide: bytes of bodies being read spilled to the spool volume (503 + Retry-After beyond it)."""
    log_level: str = "info"
    generic: GenericSettings = field(default_factory=GenericSettings)

    @property
    def catalog_path(self) -> Path:
        return self.catalog or catalog_path(self.solution.value)

    @property
    def effective_catchall_type(self) -> str:
        return self.catchall_type or f"{self.solution.value}.unknown.v1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate every ``GATEWAY_*`` variable; raise :class:`ConfigError` naming each problem."""
        reader = EnvReader(environ, contract.GATEWAY_PREFIX)
        solution = reader.enum("SOLUTION", Solution, None)
        application = reader.text("APPLICATION", None, APPLICATION_PATTERN, "a Kubernetes name ([a-z0-9.-])")
        secrets = tuple(Secret(v) for v in reader.secret_list("WEBHOOK_SECRETS", "webhook secrets"))
        settings = cls(
            solution=solution or Solution.GENERIC,
            application=application or "",
            secrets=secrets,
            publisher_url=reader.url("PUBLISHER_URL", cls.publisher_url) or cls.publisher_url,
            spool_dir=Path(reader.text("SPOOL_DIR", str(cls.spool_dir)) or "."),
            host=reader.text("HOST", cls.host) or cls.host,
            port=reader.integer("PORT", cls.port, 1, 65535),
            catalog=_optional_path(reader.text("CATALOG", "")),
            legacy_events=reader.boolean("LEGACY_EVENTS", False),
            unknown_events=reader.enum("UNKNOWN_EVENTS", UnknownEvents, UnknownEvents.PUBLISH) or UnknownEvents.PUBLISH,
            catchall_type=reader.text("CATCHALL_TYPE", "", TYPE_PATTERN, "[a-z0-9.] with two or more segments") or "",
            max_body_bytes=reader.integer("MAX_BODY_BYTES", cls.max_body_bytes, 1024, 1 << 31),
            spool_max_bytes=reader.integer("SPOOL_MAX_BYTES", cls.spool_max_bytes, 64 * 1024, 1 << 50),
            segment_bytes=reader.integer("SEGMENT_BYTES", cls.segment_bytes, 64 * 1024, 1 << 32),
            dedup_window=reader.integer("DEDUP_WINDOW", cls.dedup_window, 0, 10_000_000),
            publish_concurrency=reader.integer("PUBLISH_CONCURRENCY", cls.publish_concurrency, 1, 1024),
            publish_timeout_seconds=reader.seconds("PUBLISH_TIMEOUT_SECONDS", cls.publish_timeout_seconds),
            publish_max_bytes=reader.integer("PUBLISH_MAX_BYTES", cls.publish_max_bytes, 4096, 1 << 31),
            oversize=reader.enum("OVERSIZE", Oversize, Oversize.TRIM) or Oversize.TRIM,
            retry_initial_seconds=reader.seconds("RETRY_INITIAL_SECONDS", cls.retry_initial_seconds),
            retry_max_seconds=reader.seconds("RETRY_MAX_SECONDS", cls.retry_max_seconds),
            shutdown_grace_seconds=reader.seconds("SHUTDOWN_GRACE_SECONDS", cls.shutdown_grace_seconds),
            shutdown_drain_seconds=reader.seconds("SHUTDOWN_DRAIN_SECONDS", cls.shutdown_drain_seconds, zero=True),
            max_connections=reader.integer("MAX_CONNECTIONS", cls.max_connections, 16, 1_000_000),
            idle_timeout_seconds=reader.seconds("IDLE_TIMEOUT_SECONDS", cls.idle_timeout_seconds),
            header_timeout_seconds=reader.seconds("HEADER_TIMEOUT_SECONDS", cls.header_timeout_seconds),
            body_timeout_seconds=reader.seconds("BODY_TIMEOUT_SECONDS", cls.body_timeout_seconds),
            max_header_bytes=reader.integer("MAX_HEADER_BYTES", cls.max_header_bytes, 1024, 1 << 20),
            max_headers=reader.integer("MAX_HEADERS", cls.max_headers, 8, 10_000),
            body_memory_bytes=reader.integer("BODY_MEMORY_BYTES", cls.body_memory_bytes, 1 << 20, 1 << 40),
            body_spill_bytes=reader.integer("BODY_SPILL_BYTES", cls.body_spill_bytes, 1 << 20, 1 << 50),
            log_level=reader.choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")),
            generic=GenericSettings(
                auth=reader.enum("GENERIC_AUTH", GenericAuth, GenericAuth.HMAC) or GenericAuth.HMAC,
                signature_header=reader.header("GENERIC_SIGNATURE_HEADER", GenericSettings.signature_header),
                # set-but-empty is meaningful here: a bare hex signature without a prefix
                signature_prefix=environ.get(f"{PREFIX}GENERIC_SIGNATURE_PREFIX", GenericSettings.signature_prefix),
                event_header=reader.header("GENERIC_EVENT_HEADER", GenericSettings.event_header),
                id_header=reader.header("GENERIC_ID_HEADER", GenericSettings.id_header),
            ),
        )
        if settings.retry_max_seconds < settings.retry_initial_seconds:
            reader.problem("RETRY_MAX_SECONDS", f"must be >= {PREFIX}RETRY_INITIAL_SECONDS")
        if settings.body_spill_bytes < settings.max_body_bytes:
            reader.problem("BODY_SPILL_BYTES", f"must be >= {PREFIX}MAX_BODY_BYTES (one largest body must fit)")
        basic = settings.generic.auth is GenericAuth.BASIC and solution is Solution.GENERIC
        if basic and any(":" not in s.reveal() for s in secrets):
            reader.problem("WEBHOOK_SECRETS", "basic auth needs user:password entries")
        if reader.problems:
            raise ConfigError(reader.problems)
        return settings


def redacted_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``: what logs may show of a configured URL."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value else None
