"""Typed stack settings: the validated config as frozen values, with every default applied in one place.

Why typed settings between config and components: components receive exactly what they need, with no ``dict.get``
guessing; defaults (images, publisher URLs, API URLs, display names) are decided here once and documented in
docs/configuration.md. Secret fields are ``pulumi.Output[...]`` marked secret from the moment they are read, so
no component can accidentally put them into plain state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import pulumi

from kyma_connectors.core import contract
from kyma_connectors.program.subscriptions import SUBSCRIBED, SubscriptionSettings, build_subscriptions

DEFAULT_IMAGES: Final[dict[str, str]] = {
    "gateway": "ghcr.io/kyma-connectors/event-gateway:0.1.0",
    "registrar": "ghcr.io/kyma-connectors/registrar:0.1.0",
    "reconciler": "ghcr.io/kyma-connectors/reconciler:0.1.0",
}
DEFAULT_GATEWAY: Final[str] = "kyma-system/kyma-gateway"
DEFAULT_NAMESPACE: Final[str] = "kyma-connectors"
GITHUB_API: Final[str] = "https://api.github.com"
PUBLISHER_URLS: Final[dict[str, str]] = {
    "modular": "http://eventing-publisher-proxy.kyma-system",
    # Kyma 1.24 / 2.x before modules (../shared/docs/kyma-contracts.md (c)).
    "legacy": "http://eventing-event-publisher-proxy.kyma-system",
}
LEGACY_REGISTRY_URL: Final[str] = "http://application-registry-external-api.kyma-integration:8081"
"""In-cluster Application Registry of Kyma 1.x (kyma-contracts.md (e))."""
PROVIDERS: Final[dict[str, str]] = {"github": "GitHub", "qualtrics": "SAP Qualtrics"}

SecretFn = Callable[[Any], "pulumi.Output[Any]"]


class KymaContract(StrEnum):
    """Which Kyma the connector targets (the documented feature flag ``kymaContract``)."""

    MODULAR = "modular"
    """Today's modular Kyma: Application CR services, publisher proxy ``/publish`` (CloudEvents)."""
    LEGACY = "legacy"
    """Kyma 1.x: Application Registry metadata API, legacy ``/<app>/v1/events`` publishing."""


@dataclass(frozen=True, kw_only=True)
class ApiCredentials:
    """How the Central Application Gateway authenticates to the solution's API (kyma-contracts.md (a))."""

    type: str
    """``Basic`` or ``OAuth``."""
    username: pulumi.Output[str] | None = None
    password: pulumi.Output[str] | None = None
    client_id: pulumi.Output[str] | None = None
    client_secret: pulumi.Output[str] | None = None
    token_url: str | None = None
    """OAuth token URL (the Application's ``authenticationUrl``)."""
    csrf_token_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class RequestParameters:
    """Headers / query parameters added to every API call; JSON ``{"name": ["value"]}`` maps, secret as a whole."""

    headers: pulumi.Output[Any] | None = None
    query_parameters: pulumi.Output[Any] | None = None


@dataclass(frozen=True, kw_only=True)
class GitHubApp:
    """GitHub App credentials: the webhook provider exchanges them for an installation token."""

    app_id: str
    installation_id: str
    private_key: pulumi.Output[str]


@dataclass(frozen=True, kw_only=True)
class ConnectorSettings:
    """One entry of ``connectors``, defaults applied."""

    name: str
    """Connector name; also the Kyma Application name and the prefix of every derived name."""
    solution: str
    display_name: str
    description: str
    provider_display_name: str
    api_url: str | None
    """REST base URL of the solution (registered as an API, and used by the webhook provider); None: no API."""
    events: tuple[str, ...] | None
    """Solution-native events to subscribe to; None means every subscribable event of the catalog."""
    events_subscribed: bool = False
    """``events: subscribed``: the hook reconciler sets the hook's events from the cluster's Subscriptions."""
    subscriptions: tuple[SubscriptionSettings, ...] = ()
    """Kyma Subscriptions the program creates for this connector's events."""
    repositories: tuple[str, ...] = ()
    organization: str | None = None
    token: pulumi.Output[str] | None = None
    app: GitHubApp | None = None
    api_credentials: ApiCredentials | None = None
    request_parameters: RequestParameters | None = None
    webhook_secret: pulumi.Output[str] | None = None
    """None: the program generates one (pulumi-random)."""
    previous_webhook_secret: pulumi.Output[str] | None = None
    """During a two-phase rotation: the old secret, still accepted by the gateway."""
    generic_env: Mapping[str, str] = field(default_factory=dict)
    """``GATEWAY_GENERIC_*`` settings of the generic solution."""
    catalog: str | None = None
    """generic only: the source's own AsyncAPI catalog (a path, relative to the project directory); None: shipped."""
    gateway_host: str = ""
    gateway_replicas: int | None = None
    gateway_unknown_events: str | None = None
    """``GATEWAY_UNKNOWN_EVENTS`` (``publish``, ``drop``, ``catchall``); None: the gateway's default, publish."""

    @property
    def webhook_targets(self) -> tuple[str, ...]:
        """WebhookRegistration targets: GitHub ``owner/repo`` and ``org:NAME``; Qualtrics ``""``; generic none."""
        if self.solution == "github":
            org = (f"org:{self.organization}",) if self.organization else ()
            return self.repositories + org
        return ("",) if self.solution == "qualtrics" else ()


Scraper = tuple[str, tuple[tuple[str, str], ...]]
"""A metrics scraper: namespace and pod labels (as sorted pairs, so settings stay hashable and immutable)."""
DEFAULT_METRICS_SCRAPER: Final[Scraper] = ("kyma-system", (("telemetry.kyma-project.io/metric-scrape", "true"),))
"""Kyma's telemetry metric agent (kyma-project/telemetry-manager internal/resources/otelcollector/agent.go)."""


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """The whole ``kyma-connectors:`` config namespace, validated and defaulted."""

    cluster_domain: str
    connectors: tuple[ConnectorSettings, ...]
    gateway: str = DEFAULT_GATEWAY
    namespace: str = DEFAULT_NAMESPACE
    create_namespace: bool = True
    gateway_image: str = DEFAULT_IMAGES["gateway"]
    registrar_image: str = DEFAULT_IMAGES["registrar"]
    reconciler_image: str = DEFAULT_IMAGES["reconciler"]
    image_pull_secrets: tuple[str, ...] = ()
    """``images.pullSecrets``: Secret names every pod of every connector pulls its image with."""
    eventing_backend: str = "nats"
    """``nats`` or ``eventmesh``: how the hook reconciler cleans names when it matches Subscriptions."""
    kyma_contract: KymaContract = KymaContract.MODULAR
    publisher_url: str = PUBLISHER_URLS["modular"]
    publisher_max_bytes: int = contract.PUBLISHER_MAX_REQUEST_BYTES
    """The publisher proxy's ``--max-request-size`` (docs/kyma-contracts.md, "Size limit and status codes")."""
    oversize: str = "trim"
    """``trim`` | ``refuse``: what the gateway does with an event over ``publisher_max_bytes``."""
    metrics_scraper: Scraper | None = DEFAULT_METRICS_SCRAPER
    """(namespace, pod labels) of the pods allowed to scrape the gateways; None admits none."""
    registry_url: str | None = None
    render_yaml_to_directory: str | None = None

    @property
    def legacy(self) -> bool:
        return self.kyma_contract is KymaContract.LEGACY


def build_settings(raw: Mapping[str, Any], secret: SecretFn = pulumi.Output.secret) -> StackSettings:
    """Typed settings from a config that already passed :func:`config.validate` (no checks repeated here)."""
    contract = KymaContract(raw.get("kymaContract", "modular"))
    images = raw.get("images") or {}
    return StackSettings(
        cluster_domain=raw["clusterDomain"],
        connectors=tuple(_connector(c, secret) for c in raw["connectors"]),
        gateway=raw.get("gateway", DEFAULT_GATEWAY),
        namespace=raw.get("namespace", DEFAULT_NAMESPACE),
        create_namespace=raw.get("createNamespace", True),
        gateway_image=images.get("gateway", DEFAULT_IMAGES["gateway"]),
        registrar_image=images.get("registrar", DEFAULT_IMAGES["registrar"]),
        reconciler_image=images.get("reconciler", DEFAULT_IMAGES["reconciler"]),
        image_pull_secrets=tuple(images.get("pullSecrets") or ()),
        eventing_backend=raw.get("eventingBackend", "nats"),
        kyma_contract=contract,
        publisher_url=raw.get("publisherUrl", PUBLISHER_URLS[contract.value]),
        publisher_max_bytes=raw.get("publisherMaxBytes", StackSettings.publisher_max_bytes),
        oversize=raw.get("oversize", StackSettings.oversize),
        metrics_scraper=_scraper(raw.get("metricsScraper")),
        registry_url=raw.get("registryUrl", LEGACY_REGISTRY_URL) if contract is KymaContract.LEGACY else None,
        render_yaml_to_directory=raw.get("renderYamlToDirectory"),
    )


def _scraper(raw: Any) -> Scraper | None:
    """``metricsScraper``: absent -> the telemetry metric agent; ``enabled: false`` -> none; else its fields."""
    given = raw if isinstance(raw, Mapping) else {}
    if given.get("enabled") is False:
        return None
    labels = given.get("podLabels")
    return (str(given.get("namespace", DEFAULT_METRICS_SCRAPER[0])),
            tuple(sorted(labels.items())) if labels else DEFAULT_METRICS_SCRAPER[1])


def _api_url(raw: Mapping[str, Any]) -> str | None:
    if raw.get("apiUrl"):
        return str(raw["apiUrl"]).rstrip("/")
    if raw["solution"] == "github":
        return GITHUB_API
    datacenter = (raw.get("qualtrics") or {}).get("datacenter")
    return f"https://{datacenter}.qualtrics.com/API/v3" if datacenter else None


def _connector(raw: Mapping[str, Any], secret: SecretFn) -> ConnectorSettings:
    solution, name = raw["solution"], raw["name"]
    credentials = raw.get("credentials") or {}
    github = raw.get("github") or {}
    provider = raw.get("providerDisplayName", PROVIDERS.get(solution, name))
    app = credentials.get("app")
    generic = raw.get("generic") or {}
    gateway = raw.get("gateway") or {}
    return ConnectorSettings(
        name=name,
        solution=solution,
        display_name=raw.get("displayName", f"{provider} ({name})"),
        description=raw.get("description", f"{provider} connected to Kyma by kyma-connectors ({name})."),
        provider_display_name=provider,
        api_url=_api_url(raw),
        events=tuple(raw["events"]) if isinstance(raw.get("events"), list) else None,
        events_subscribed=raw.get("events") == SUBSCRIBED,
        subscriptions=build_subscriptions(raw),
        repositories=tuple(github.get("repositories", ())),
        organization=github.get("organization"),
        token=secret(str(credentials["token"])) if "token" in credentials else None,
        app=GitHubApp(app_id=str(app["appId"]), installation_id=str(app["installationId"]),
                      private_key=secret(str(app["privateKey"]))) if app else None,
        api_credentials=_api_credentials(credentials.get("api"), secret),
        request_parameters=_request_parameters(credentials.get("requestParameters"), secret),
        webhook_secret=secret(str(raw["webhookSecret"])) if "webhookSecret" in raw else None,
        previous_webhook_secret=secret(str(raw["previousWebhookSecret"])) if "previousWebhookSecret" in raw else None,
        generic_env={f"GATEWAY_GENERIC_{_ENV_NAMES[key]}": str(value) for key, value in generic.items()},
        catalog=raw.get("catalog"),
        gateway_host=gateway.get("host", f"{name}-webhook"),
        gateway_replicas=gateway.get("replicas"),
        gateway_unknown_events=gateway.get("unknownEvents"),
    )


_ENV_NAMES: Final[dict[str, str]] = {
    "auth": "AUTH",
    "signatureHeader": "SIGNATURE_HEADER",
    "signaturePrefix": "SIGNATURE_PREFIX",
    "eventHeader": "EVENT_HEADER",
    "idHeader": "ID_HEADER",
}
"""Config key -> ``GATEWAY_GENERIC_*`` suffix (the event gateway's environment contract)."""


def _api_credentials(raw: Mapping[str, Any] | None, secret: SecretFn) -> ApiCredentials | None:
    if not raw:
        return None

    def hidden(key: str) -> pulumi.Output[str] | None:
        return secret(str(raw[key])) if key in raw else None

    return ApiCredentials(
        type=raw["type"],
        username=hidden("username"),
        password=hidden("password"),
        client_id=hidden("clientId"),
        client_secret=hidden("clientSecret"),
        token_url=raw.get("tokenUrl"),
        csrf_token_url=raw.get("csrfTokenUrl"),
    )


def _request_parameters(raw: Mapping[str, Any] | None, secret: SecretFn) -> RequestParameters | None:
    if not raw:
        return None
    return RequestParameters(
        headers=secret(raw["headers"]) if "headers" in raw else None,
        query_parameters=secret(raw["queryParameters"]) if "queryParameters" in raw else None,
    )
