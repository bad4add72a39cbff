"""Connector: everything that connects one external solution instance to Kyma, as one component.

It stacks, in dependency order:

1. :class:`ConnectorSecrets` -- API credentials for the Central Application Gateway, the webhook secret;
2. :class:`KymaApplication` -- the Application, with ``spec.services`` built from the registration manifest;
3. :class:`RegistrationJob` -- registers the same manifest and specs from inside the cluster (after 1 and 2);
4. :class:`EventGateway` -- receives, verifies and publishes the webhooks;
5. one :class:`WebhookRegistration` per target (GitHub repository / organization, Qualtrics brand) -- after the
   gateway, because the solution pings the payload URL as soon as the hook exists.

The registration manifest is derived here, from the connector's settings and the solution's shipped specs: one API
service per ``specs/<solution>/openapi*.yaml`` when the connector has an API base URL, and one events service for the
AsyncAPI catalog. Ids are ``service_id(application, service name)``, stable across runs and clusters.

Every name derives from the connector's name, never from its position in the config, so adding or removing another
connector changes nothing here. ``depends_on`` given to the Connector (the namespace the program creates) is passed
to every resource inside it, including those of nested components, each component handing its own ``depends_on`` to
its children (``components/_options.py``): a component's ``depends_on`` alone does not hold back its children.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import pulumi
import yaml

from components._event_gateway_network import Scraper
from components._naming import child, token
from components._options import child_options
from components._outputs import known
from components.connector_secrets import (
    WEBHOOK_SECRET_KEY,
    ConnectorSecrets,
    ConnectorSecretsArgs,
    api_secret_name,
    request_parameters_secret_name,
)
from components.event_gateway import EventGateway, EventGatewayArgs, SecretRef, fqdn
from components.hook_reconciler import HookReconciler, HookReconcilerArgs, SecretKey
from components.kyma_application import TYPE_LABEL, KymaApplication, KymaApplicationArgs, application_labels
from components.kyma_subscription import KymaSubscription, KymaSubscriptionArgs
from components.registration_job import RegistrationJob, RegistrationJobArgs
from components.webhook_registration import WebhookRegistration, WebhookRegistrationArgs
from kyma_connectors.core import contract
from kyma_connectors.core.catalog import SPECS_DIR, Catalog, load_catalog, load_catalog_file
from kyma_connectors.core.eventing import publisher_source
from kyma_connectors.core.manifest import (
    ApiDefinition,
    Credentials,
    EventsDefinition,
    Manifest,
    ServiceDefinition,
    service_id,
)
from kyma_connectors.program.settings import (
    DEFAULT_GATEWAY,
    DEFAULT_METRICS_SCRAPER,
    ConnectorSettings,
    KymaContract,
    StackSettings,
)
from kyma_connectors.program.settings import Scraper as ScraperSetting

ASYNCAPI_FILE: Final[str] = "asyncapi.yaml"
REGISTERED_SOLUTIONS: Final[frozenset[str]] = frozenset({"github", "qualtrics"})
"""Solutions whose webhook the program registers through their API; ``generic`` sources are receive-only."""


@dataclass(frozen=True, kw_only=True)
class ConnectorArgs:
    """Inputs of :class:`Connector`: one connector's settings plus the stack-wide values it needs."""

    connector: ConnectorSettings
    """The connector's validated settings (name, solution, targets, credentials as secret Outputs)."""
    namespace: str
    """Namespace of the gateway, the registration Job and the webhook Secret."""
    cluster_domain: str
    """Kyma cluster domain: the webhook host is ``<connector.gateway_host>.<cluster_domain>``."""
    gateway_image: str
    registrar_image: str
    reconciler_image: str = "ghcr.io/kyma-connectors/reconciler:0.1.0"
    """Hook reconciler image (``events: subscribed`` only)."""
    image_pull_secrets: tuple[str, ...] = ()
    """``images.pullSecrets``: pull Secrets in the namespace, given to every pod of the connector."""
    eventing_backend: str = "nats"
    gateway: str = DEFAULT_GATEWAY
    """Istio Gateway (``namespace/name``) of the APIRule."""
    kyma_contract: KymaContract = KymaContract.MODULAR
    publisher_url: str = "http://eventing-publisher-proxy.kyma-system"
    publisher_max_bytes: int = contract.PUBLISHER_MAX_REQUEST_BYTES
    oversize: str = "trim"
    metrics_scraper: ScraperSetting | None = DEFAULT_METRICS_SCRAPER
    """Namespace and pod labels of the metrics scraper the gateway admits; None admits none."""
    registry_url: str | None = None
    """Kyma 1.x Application Registry URL (legacy contract only)."""

    @classmethod
    def from_settings(cls, stack: StackSettings, connector: ConnectorSettings) -> ConnectorArgs:
        return cls(
            connector=connector, namespace=stack.namespace, cluster_domain=stack.cluster_domain,
            gateway_image=stack.gateway_image, registrar_image=stack.registrar_image, gateway=stack.gateway,
            reconciler_image=stack.reconciler_image, eventing_backend=stack.eventing_backend,
            kyma_contract=stack.kyma_contract, publisher_url=stack.publisher_url, registry_url=stack.registry_url,
            publisher_max_bytes=stack.publisher_max_bytes, oversize=stack.oversize,
            metrics_scraper=stack.metrics_scraper, image_pull_secrets=stack.image_pull_secrets,
        )

    @property
    def legacy(self) -> bool:
        return self.kyma_contract is KymaContract.LEGACY

    @property
    def api_secrets_namespace(self) -> str:
        """Where API credential Secrets live: ``kyma-system`` for the Central Application Gateway (today's Kyma);
        the connector namespace on Kyma 1.x, where the registrar mounts them to pass values to the registry."""
        return self.namespace if self.legacy else "kyma-system"


# --- the registration manifest ---------------------------------------------------------------------------------------


@cache
def _catalog(solution: str, own: str | None = None) -> Catalog:
    """The solution's catalog, or a generic connector's own (``catalog:``), parsed once per process (the YAML parse
    dominates a run otherwise)."""
    return load_catalog_file(own, solution=solution) if own else load_catalog(solution)


@cache
def _registered_text(catalog: Catalog) -> str:
    return catalog.document_text()


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def _openapi_info(path: Path) -> tuple[str, str]:
    """(title, description) of an OpenAPI document, for the service's display name and description."""
    document = yaml.safe_load(_read(path)) or {}
    info = document.get("info") or {} if isinstance(document, dict) else {}
    description = str(info.get("description") or "").strip().split("\n\n")[0].replace("\n", " ")
    return str(info.get("title") or ""), description


def openapi_documents(solution: str) -> list[Path]:
    """The solution's OpenAPI documents (``openapi.yaml``, ``openapi-<part>.yaml``), each one API service."""
    return sorted((SPECS_DIR / solution).glob("openapi*.yaml"))


def selected_catalog(connector: ConnectorSettings) -> Catalog:
    """What the connector publishes: the catalog narrowed to its ``events`` (all when unset), plus the events sent
    without subscription (GitHub ``ping``, ``meta``, App-only). The hooks subscribe to, the Application registers and
    ``event_types`` lists exactly this, so the three cannot disagree."""
    catalog = _catalog(connector.solution, connector.catalog)
    return catalog.published(list(connector.events) if connector.events is not None else None)


def build_manifest(args: ConnectorArgs) -> tuple[Manifest, dict[str, str]]:
    """The registration manifest and the spec documents (file name -> text) it refers to."""
    connector = args.connector
    app, solution, provider = connector.name, connector.solution, connector.provider_display_name
    services: list[ServiceDefinition] = []
    specs: dict[str, str] = {}
    if connector.api_url:
        documents: list[Path | None] = [*openapi_documents(solution)] or [None]
        for path in documents:
            services.append(_api_service(args, path))
            if path is not None:
                specs[path.name] = _read(path)
    catalog = selected_catalog(connector)
    specs[ASYNCAPI_FILE] = _registered_text(catalog)
    services.append(ServiceDefinition(
        id=service_id(app, f"{solution}-events"),
        name=f"{solution}-events",
        display_name=f"{provider} events",
        description=f"Events of {catalog.title} as CloudEvents with source {app}.",
        provider_display_name=provider,
        events=EventsDefinition(spec=ASYNCAPI_FILE),
    ))
    return Manifest(application=app, solution=solution, services=tuple(services)), specs


def _api_service(args: ConnectorArgs, path: Path | None) -> ServiceDefinition:
    connector = args.connector
    app, solution, provider = connector.name, connector.solution, connector.provider_display_name
    part = path.stem.removeprefix("openapi").strip("-_") if path else ""
    name = f"{solution}-{part}-api" if part else f"{solution}-api"
    title, description = _openapi_info(path) if path else ("", "")
    creds = connector.api_credentials
    credentials = None
    if creds is not None:
        credentials = Credentials(type=creds.type, secret_name=api_secret_name(app),
                                               authentication_url=creds.token_url, csrf_token_url=creds.csrf_token_url)
    return ServiceDefinition(
        id=service_id(app, name),
        name=name,
        display_name=title or f"{provider} API{' ' + part if part else ''}",
        description=description or f"The {provider} API at {connector.api_url}.",
        provider_display_name=provider,
        api=ApiDefinition(
            target_url=str(connector.api_url),
            spec=path.name if path else None,
            credentials=credentials,
            request_parameters_secret_name=(request_parameters_secret_name(app)
                                            if connector.request_parameters is not None else None),
        ),
    )


# --- the component ---------------------------------------------------------------------------------------------------


class Connector(pulumi.ComponentResource):
    """One external solution instance connected to Kyma (see the module docstring for what it stacks)."""

    application_name: pulumi.Output[str]
    """Kyma Application name: the CloudEvents ``source`` of the connector's events."""
    webhook_url: pulumi.Output[str]
    """The public payload URL the solution delivers to (``https://<host>/webhook``)."""
    webhook_ids: pulumi.Output[dict[str, str]]
    """Hook id per target (``owner/repo``, ``org:NAME``; ``brand`` for Qualtrics); empty for generic sources."""
    event_types: pulumi.Output[list[str]]
    """CloudEvents types the connector publishes (what Kyma Subscriptions name)."""
    event_type_names: list[str]
    """The same as a plain list, known when the program runs: export this one (a stack output that is an Output of
    a list is unwrapped element by element, one Output each)."""
    api_gateway_urls: pulumi.Output[dict[str, str]]
    """Central Application Gateway URL per registered API, by service display name."""
    registration_job_name: pulumi.Output[str]
    webhook_secret: pulumi.Output[str]
    """The webhook secret (secret Output): give it to a generic sender; GitHub/Qualtrics receive it automatically."""
    event_source: str
    """The ``source`` a Kyma Subscription names to receive this connector's events (what the publisher uses)."""
    subscription_names: list[str]
    """``namespace/name`` of the Subscriptions this connector's config declares."""

    def __init__(self, name: str, args: ConnectorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(token("Connector"), name, None, opts)
        connector = args.connector
        # Components pass their own depends_on to each child (components/_options.py): a component's depends_on
        # alone does not hold back its children.
        nested = child_options(self, opts)
        manifest, specs = build_manifest(args)
        catalog = selected_catalog(connector)

        secrets = ConnectorSecrets(child(name, "secrets"), ConnectorSecretsArgs(
            application=connector.name, namespace=args.namespace, api_credentials=connector.api_credentials,
            request_parameters=connector.request_parameters, webhook_secret=connector.webhook_secret,
            previous_webhook_secret=connector.previous_webhook_secret,
            api_namespace=args.api_secrets_namespace,
        ), opts=nested)
        application_args = KymaApplicationArgs(
            manifest=manifest, display_name=connector.display_name, description=connector.description,
            provider_display_name=connector.provider_display_name, include_services=not args.legacy,
            spec_labels={"connector": connector.name, "solution": connector.solution},
        )
        application = KymaApplication(child(name, "application"), application_args, opts=nested)
        # What the publisher proxy uses as these events' source: what every Subscription must name.
        self.event_source = publisher_source(connector.name, application_labels(connector.name).get(TYPE_LABEL))
        job = RegistrationJob(child(name, "registrar"), RegistrationJobArgs(
            application=connector.name, namespace=args.namespace, manifest=manifest, specs=specs,
            image=args.registrar_image, image_pull_secrets=args.image_pull_secrets,
            backend="application-registry" if args.legacy else "application-cr",
            registry_url=args.registry_url,
            webhook_host=fqdn(connector.gateway_host, args.cluster_domain), istio_gateway=args.gateway,
        # The registrar patches the Application and reads the credential Secrets: both must exist first.
        ), opts=child_options(self, opts, application, secrets))
        gateway = EventGateway(child(name, "gateway"), EventGatewayArgs(
            application=connector.name, namespace=args.namespace, solution=connector.solution,
            image=args.gateway_image, image_pull_secrets=args.image_pull_secrets,
            host=connector.gateway_host, cluster_domain=args.cluster_domain,
            webhook_secret=SecretRef(name=secrets.webhook_secret_name, key=WEBHOOK_SECRET_KEY),
            gateway=args.gateway, publisher_url=args.publisher_url, legacy_events=args.legacy,
            publish_max_bytes=args.publisher_max_bytes, oversize=args.oversize,
            scrapers=(Scraper(namespace=args.metrics_scraper[0], pod_labels=dict(args.metrics_scraper[1])),)
            if args.metrics_scraper else (),
            env=_gateway_env(connector), **_replicas(connector),
            catalog_document=_read(Path(connector.catalog)) if connector.catalog else None,
        ), opts=nested)
        hooks = self._webhooks(name, args, gateway, secrets, catalog, opts)
        if connector.events_subscribed and hooks:
            self._reconciler(name, args, gateway, secrets, [*hooks.values()], opts)
        self.subscription_names = [f"{s.namespace}/{s.name}" for s in connector.subscriptions]
        for sub in connector.subscriptions:
            KymaSubscription(child(name, f"subscription-{sub.namespace}-{sub.name}"), KymaSubscriptionArgs(
                subscription=sub, connector=connector.name, source=self.event_source,
                catalog=_catalog(connector.solution),
            ), opts=nested)

        self.application_name = application.application_name
        self.webhook_url = gateway.webhook_url
        self.webhook_ids = pulumi.Output.all(**{_target_key(t): h.hook_id for t, h in hooks.items()}).apply(dict) \
            if hooks else pulumi.Output.from_input({})
        self.event_type_names = catalog.types()
        self.event_types = known(self.event_type_names)
        self.api_gateway_urls = application.gateway_urls
        self.registration_job_name = job.job_name
        self.webhook_secret = secrets.webhook_secret
        self.register_outputs({
            "application_name": self.application_name,
            "webhook_url": self.webhook_url,
            "webhook_ids": self.webhook_ids,
            "event_types": self.event_types,
            "api_gateway_urls": self.api_gateway_urls,
            "registration_job_name": self.registration_job_name,
            "webhook_secret": self.webhook_secret,
        })

    def _webhooks(self, name: str, args: ConnectorArgs, gateway: EventGateway, secrets: ConnectorSecrets,
                  catalog: Catalog, component_opts: pulumi.ResourceOptions | None,
                  ) -> dict[str, WebhookRegistration]:
        connector = args.connector
        if connector.solution not in REGISTERED_SOLUTIONS:
            return {}
        app = connector.app
        wanted = list(connector.events) if connector.events is not None else None
        # events: subscribed -- the hook starts inactive; the reconciler owns events and active from then on.
        managed = connector.events_subscribed
        # The solution pings the payload URL when the hook is created: the gateway (all of it) must be up first.
        opts = child_options(self, component_opts, gateway)
        return {
            target: WebhookRegistration(child(name, target_role(target)), WebhookRegistrationArgs(
                solution=connector.solution, api_url=str(connector.api_url), target=target, url=gateway.webhook_url,
                events=catalog.subscriptions(wanted, hook_kind(connector.solution, target)),
                secret=secrets.webhook_secret, token=connector.token,
                app_id=app.app_id if app else None, installation_id=app.installation_id if app else None,
                private_key=app.private_key if app else None, managed_events=managed, active=not managed,
            ), opts=opts)
            for target in connector.webhook_targets
        }

    def _reconciler(self, name: str, args: ConnectorArgs, gateway: EventGateway, secrets: ConnectorSecrets,
                    hooks: list[WebhookRegistration], component_opts: pulumi.ResourceOptions | None) -> None:
        connector = args.connector
        app = connector.app
        HookReconciler(child(name, "reconciler"), HookReconcilerArgs(
            application=connector.name, solution=connector.solution, source=self.event_source,
            namespace=args.namespace, image=args.reconciler_image, image_pull_secrets=args.image_pull_secrets,
            api_url=str(connector.api_url),
            targets=connector.webhook_targets, webhook_url=gateway.webhook_url, token=connector.token,
            app_id=app.app_id if app else None, installation_id=app.installation_id if app else None,
            private_key=app.private_key if app else None, backend=args.eventing_backend,
            webhook_secret=SecretKey(name=secrets.webhook_secret_name, key=WEBHOOK_SECRET_KEY)
            if connector.solution == "qualtrics" else None,
        # After the hooks: created once they exist, and deleted before them on destroy, so a reconciler still
        # running can never re-create Qualtrics subscriptions that the hook's delete just removed.
        ), opts=child_options(self, component_opts, gateway, *hooks))


def _gateway_env(connector: ConnectorSettings) -> dict[str, str]:
    """The gateway settings a connector's config chooses: a generic source's ``GATEWAY_GENERIC_*``, and what to do
    with events the catalog does not list."""
    env = dict(connector.generic_env)
    if connector.gateway_unknown_events is not None:
        env[contract.GATEWAY_UNKNOWN_EVENTS] = connector.gateway_unknown_events
    return env


def _replicas(connector: ConnectorSettings) -> dict[str, Any]:
    return {"replicas": connector.gateway_replicas} if connector.gateway_replicas is not None else {}


def hook_kind(solution: str, target: str) -> str | None:
    """The kind of hook a target gets, as the catalog names it (GitHub: ``organization`` or ``repository``)."""
    if solution != "github":
        return None
    return "organization" if target.startswith("org:") else "repository"


def target_role(target: str) -> str:
    """Name suffix of a target's webhook: ``hook-acme.widgets``, ``hook-org-acme``, ``hook`` (Qualtrics).

    One-to-one on distinct targets: GitHub owners never contain ``.``, so ``owner/repo`` -> ``owner.repo`` cannot
    meet another repository or an ``org:`` target; lowercase because GitHub names are case-insensitive (editing the
    case in config must not replace the hook).
    """
    if not target:
        return "hook"
    if target.startswith("org:"):
        return f"hook-org-{target.removeprefix('org:').lower()}"
    return f"hook-{target.lower().replace('/', '.')}"


def _target_key(target: str) -> str:
    return target or "brand"
