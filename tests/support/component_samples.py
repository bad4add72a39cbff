"""Sample RegistrationJob and EventGateway programs, and what they register under the recording mocks.

Shared by the suites that judge the emitted objects from different sides -- the policy rules (tests/policy), the policy
pack process (tests/policy/test_pack_process.py) and the real API server (tests/components/apiserver) -- so all of
them look at the same variants: default gateway, gateway with HPA and custom catalog, gateway with a persistent spool,
registration on today's Kyma and on the legacy registry, the hook reconciler (GitHub, Qualtrics) and a Subscription.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from components.event_gateway import Autoscaling, EventGateway, EventGatewayArgs, SecretRef, SpoolVolume
from components.hook_reconciler import HookReconciler, HookReconcilerArgs, SecretKey
from components.kyma_subscription import KymaSubscription, KymaSubscriptionArgs
from components.registration_job import RegistrationJob, RegistrationJobArgs
from kyma_connectors.core import manifest as mf
from kyma_connectors.core.catalog import load_catalog
from kyma_connectors.program.subscriptions import SubscriptionSettings
from tests.support.pulumi_mocks import MockStack, Registration

APPLICATION: Final[str] = "github-acme"
Program = Callable[[], object]


def manifest(app: str = APPLICATION) -> mf.Manifest:
    """One API service with Basic credentials and one events service."""
    return mf.Manifest(application=app, solution="github", services=(
        mf.ServiceDefinition(id=mf.service_id(app, "api"), name="api", display_name="GitHub REST API", description="d",
                          provider_display_name="GitHub", api=mf.ApiDefinition(
                              target_url="https://api.github.com", spec="openapi.yaml",
                              credentials=mf.Credentials(type="Basic", secret_name=f"{app}-api"))),
        mf.ServiceDefinition(id=mf.service_id(app, "events"), name="events", display_name="GitHub events",
                          description="d", provider_display_name="GitHub",
                          events=mf.EventsDefinition(spec="asyncapi.yaml")),
    ))


def gateway_args(namespace: str = "connectors", **extra: Any) -> EventGatewayArgs:
    return EventGatewayArgs(application=APPLICATION, namespace=namespace, solution="github",
                            image="registry.example.com/event-gateway:1.0", host="hooks",
                            cluster_domain="kyma.example.com",
                            webhook_secret=SecretRef(name=f"{APPLICATION}-webhook", key="webhook-secrets"), **extra)


def job_args(namespace: str = "connectors", backend: str = "application-cr") -> RegistrationJobArgs:
    return RegistrationJobArgs(
        application=APPLICATION, namespace=namespace, manifest=manifest(), image="registry.example.com/registrar:1.0",
        specs={"openapi.yaml": "openapi: 3.0.3\n", "asyncapi.yaml": "asyncapi: 2.6.0\n"},
        backend=backend,  # type: ignore[arg-type]
        registry_url="http://registry:8081" if backend == "application-registry" else None)


def reconciler_args(namespace: str = "connectors", solution: str = "github") -> HookReconcilerArgs:
    github = solution == "github"
    return HookReconcilerArgs(
        application=APPLICATION, solution=solution, source=APPLICATION, namespace=namespace,
        image="registry.example.com/reconciler:1.0",
        api_url="https://api.github.com" if github else "https://fra1.qualtrics.com/API/v3",
        targets=("acme/widgets", "org:acme") if github else ("",), webhook_url="https://hooks.kyma.example.com/webhook",
        token="t0ken-value", webhook_secret=None if github else SecretKey(name=f"{APPLICATION}-webhook",
                                                                           key="webhook-secrets"))


def subscription_args(namespace: str = "connectors") -> KymaSubscriptionArgs:
    return KymaSubscriptionArgs(subscription=SubscriptionSettings(
        name="on-push", namespace=namespace, sink=f"http://bot.{namespace}.svc.cluster.local:8080",
        events=("push", "pull_request.opened")), connector=APPLICATION, source=APPLICATION,
        catalog=load_catalog("github"))


def programs(namespace: str = "connectors") -> dict[str, Program]:
    """The variants by name; each builds one component named ``gw`` or ``reg``."""
    return {
        "gateway": lambda: EventGateway("gw", gateway_args(namespace)),
        "gateway-hpa-catalog": lambda: EventGateway("gw", gateway_args(
            namespace, hpa=Autoscaling(), catalog_document="asyncapi: 2.6.0\n")),
        "gateway-pvc": lambda: EventGateway("gw", gateway_args(
            namespace, replicas=1, spool=SpoolVolume(persistent=True, size="2Gi"))),
        "registration": lambda: RegistrationJob("reg", job_args(namespace)),
        "registration-legacy": lambda: RegistrationJob("reg", job_args(namespace, "application-registry")),
        "reconciler": lambda: HookReconciler("rec", reconciler_args(namespace)),
        "reconciler-qualtrics": lambda: HookReconciler("rec", reconciler_args(namespace, "qualtrics")),
        "subscription": lambda: KymaSubscription("sub", subscription_args(namespace)),
    }


VARIANTS: Final[tuple[str, ...]] = tuple(programs())


def emitted(program: Program) -> list[Registration]:
    """The Kubernetes objects ``program`` registers under a fresh mock stack."""
    stack = MockStack()
    stack.run(program)
    return stack.kubernetes()
