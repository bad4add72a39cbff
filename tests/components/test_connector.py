"""Connector under Pulumi mocks: its resource graph, CRD-valid custom resources, secrecy, name stability, re-runs."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

import components.connector as connector_module
from components import Connector, ConnectorArgs
from kyma_connectors.core.catalog import Catalog, load_catalog, load_catalog_file, parse_catalog
from kyma_connectors.gateway.deliveries import Mapper
from kyma_connectors.gateway.records import Event
from kyma_connectors.gateway.settings import Settings
from kyma_connectors.program import ConnectorSettings, KymaContract, StackSettings, parse, read_raw
from tests.support.crds import assert_valid_custom_resource
from tests.support.paths import SPECS
from tests.support.pulumi_mocks import EXAMPLE_TOKENS, MockStack, Registration, example_config

pytestmark = pytest.mark.timeout(60)

APPLICATION = "kubernetes:applicationconnector.kyma-project.io/v1alpha1:Application"
APIRULE = "kubernetes:gateway.kyma-project.io/v2:APIRule"
SUBSCRIPTION = "kubernetes:eventing.kyma-project.io/v1alpha2:Subscription"
JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
HOOK = "pulumi-python:dynamic/kyma-connectors:WebhookRegistration"


def example_settings(**changes: Any) -> StackSettings:
    """The example stack's settings; ``changes`` replace top-level raw keys (e.g. ``connectors=[...]``)."""
    raw = read_raw({k: v if isinstance(v, str) else json.dumps(v) for k, v in example_config().items()})
    raw.update(changes)
    return parse(raw, secret_keys=frozenset({"connectors"}))


def run_connectors(stack: MockStack, settings: StackSettings, *, depends_on: list[pulumi.Resource] | None = None,
                   ) -> dict[str, Connector]:
    return stack.run(lambda: {
        c.name: Connector(c.name, ConnectorArgs.from_settings(settings, c), opts=pulumi.ResourceOptions(
            depends_on=depends_on)) for c in settings.connectors
    })


def github(stack: MockStack) -> tuple[Connector, StackSettings]:
    settings = example_settings()
    settings = dataclasses.replace(settings, connectors=settings.connectors[:1])
    return run_connectors(stack, settings)["github-acme"], settings


def test_graph_kinds_names_and_parents(mock_stack: Any) -> None:
    """A GitHub connector stacks the five components, each child parented, every name derived from the connector's."""
    stack = mock_stack()
    github(stack)
    top = stack.one("kyma-connectors:index:Connector", "github-acme")
    assert top.parent_type == "pulumi:pulumi:Stack"
    assert {(r.type.split(":")[-1], r.name) for r in stack.children(top)} == {
        ("ConnectorSecrets", "github-acme-secrets"),
        ("KymaApplication", "github-acme-application"),
        ("RegistrationJob", "github-acme-registrar"),
        ("EventGateway", "github-acme-gateway"),
        ("WebhookRegistration", "github-acme-hook-acme.widgets"),
        ("WebhookRegistration", "github-acme-hook-acme.gadgets"),
        ("WebhookRegistration", "github-acme-hook-org-acme"),
        ("KymaSubscription", "github-acme-subscription-extensions-github-acme-pull-requests"),
    }
    for registration in stack.children(top):
        assert registration.qualified_type.startswith("kyma-connectors:index:Connector$"), registration.urn
    for registration in stack.descendants(top):
        assert registration.name.startswith("github-acme-"), registration.name
    application = stack.one(APPLICATION)
    assert application.qualified_type == f"kyma-connectors:index:KymaApplication${APPLICATION}"
    assert stack.by_urn(application.parent).parent == top.urn
    assert application.k8s_name == "github-acme"
    assert stack.one(JOB).k8s_name.startswith("github-acme-registrar-")


def test_every_custom_resource_is_valid_for_its_crd(mock_stack: Any) -> None:
    """Application and APIRule (v2) pass the real CRD schemas and CEL rules, modular and legacy alike."""
    for contract in ("modular", "legacy"):
        stack = mock_stack()
        run_connectors(stack, example_settings(kymaContract=contract))
        custom = stack.custom_resources()
        assert sorted({r.type for r in custom}) == [APPLICATION, SUBSCRIPTION, APIRULE]
        assert len(custom) == 5
        for registration in custom:
            assert_valid_custom_resource(registration.k8s_object())


def test_application_services_come_from_the_manifest(mock_stack: Any) -> None:
    """One API service per solution OpenAPI (with credentials wiring), one Events service; legacy leaves them out."""
    stack = mock_stack()
    raw_connectors = example_config()["kyma-connectors:connectors"]
    raw_connectors[0]["credentials"]["api"] = {"type": "Basic", "username": "bot", "password": "pw"}
    settings = example_settings(connectors=raw_connectors)
    run_connectors(stack, settings)
    services = stack.one(APPLICATION, "github-acme-application-cr").inputs["spec"]["services"]
    assert [s["name"] for s in services] == ["github-api", "github-events"]
    api = services[0]["entries"][0]
    assert api["targetUrl"] == "https://api.github.com"
    assert api["credentials"] == {"type": "Basic", "secretName": "github-acme-api-credentials"}
    assert services[1]["entries"] == [{"type": "Events"}]
    secret = next(r for r in stack.of_type("kubernetes:core/v1:Secret") if r.k8s_name == "github-acme-api-credentials")
    assert secret.k8s_namespace == "kyma-system"

    legacy = mock_stack()
    run_connectors(legacy, dataclasses.replace(settings, kyma_contract=KymaContract.LEGACY,
                                               registry_url="http://registry.example:8081"))
    assert "services" not in legacy.one(APPLICATION, "github-acme-application-cr").inputs["spec"]
    job = legacy.one(JOB, "github-acme-registrar-job")
    env = {e["name"]: e.get("value") for e in job.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["REGISTRAR_BACKEND"] == "application-registry"
    api_secret = next(r for r in legacy.of_type("kubernetes:core/v1:Secret")
                      if r.k8s_name == "github-acme-api-credentials")
    assert api_secret.k8s_namespace == "kyma-connectors"  # mounted by the Job, so in its namespace


def test_dependencies(mock_stack: Any) -> None:
    """Job after Application and Secrets; hooks after the whole gateway; everything after the Connector's depends_on."""
    stack = mock_stack()
    settings = example_settings()
    settings = dataclasses.replace(settings, connectors=settings.connectors[:1])

    def program() -> None:
        namespace = pulumi.CustomResource("test:index:Namespace", "ns", {})
        Connector("github-acme", ConnectorArgs.from_settings(settings, settings.connectors[0]),
                  opts=pulumi.ResourceOptions(depends_on=[namespace]))

    stack.run(program)
    namespace = stack.one("test:index:Namespace")
    job = stack.one(JOB)
    assert job.depends_on(stack.one(APPLICATION))
    assert job.depends_on(stack.one("kubernetes:core/v1:Secret", "github-acme-secrets-webhook"))
    deployment = stack.one("kubernetes:apps/v1:Deployment")
    for hook in stack.of_type(HOOK):
        assert hook.depends_on(deployment)
        assert hook.depends_on(stack.one(APIRULE))
    custom = [r for r in stack.registrations if r.custom and r is not namespace]
    assert len(custom) > 15
    assert [r.name for r in custom if not r.depends_on(namespace)] == []


def test_secrets_stay_secret(mock_stack: Any) -> None:
    """Token and webhook secret are secret everywhere they go; no plain input anywhere carries the token."""
    stack = mock_stack()
    connector, _ = github(stack)
    assert stack.is_secret(connector.webhook_secret)
    for hook in stack.of_type(HOOK):
        assert hook.is_secret("token")
        assert hook.is_secret("secret")
    for secret in stack.of_type("kubernetes:core/v1:Secret"):
        assert secret.is_secret("stringData")
    token = EXAMPLE_TOKENS["github"]
    webhook_secret = stack.resolve(connector.webhook_secret)
    for registration in stack.registrations:
        for leaked in _plain_strings(registration):
            assert token not in leaked, registration.name
            assert webhook_secret not in leaked, registration.name


def _plain_strings(registration: Registration) -> list[str]:
    """Every string input of a registration that is not under a secret path."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if registration.is_secret(path):
            return
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        elif isinstance(value, str):
            found.append(value)

    walk(registration.inputs, "")
    return found


def test_outputs(mock_stack: Any) -> None:
    """Application name, webhook URL and ids, event types of the selected events, gateway URLs of the APIs."""
    stack = mock_stack()
    connector, settings = github(stack)
    assert stack.resolve(connector.application_name) == "github-acme"
    assert stack.resolve(connector.webhook_url) == "https://github-acme-webhook.c-1a2b3c.kyma.ondemand.com/webhook"
    ids = stack.resolve(connector.webhook_ids)
    assert sorted(ids) == ["acme/gadgets", "acme/widgets", "org:acme"]
    assert ids["org:acme"] == stack.one(HOOK, "github-acme-hook-org-acme").outputs["hook_id"]
    selected = load_catalog("github").published(list(settings.connectors[0].events or ()))
    assert stack.resolve(connector.event_types) == selected.types()
    assert "ping.v1" in selected.types()  # sent without subscription when the hook is created
    urls = stack.resolve(connector.api_gateway_urls)
    assert list(urls.values()) == [
        "http://central-application-gateway.kyma-system:8080/github-acme/"
        "github-rest-api-repositories-issues-pull-requests"
    ]
    hook = stack.one(HOOK, "github-acme-hook-acme.widgets")
    assert hook.inputs["events"] == list(settings.connectors[0].events or ())
    assert hook.inputs["url"] == stack.resolve(connector.webhook_url)


def _registered_catalog(stack: MockStack, connector: str) -> Catalog:
    """The AsyncAPI document the registration Job registers as the Application's Events entry, parsed as a catalog."""
    specs = stack.one(CONFIG_MAP, f"{connector}-registrar-specs").inputs["data"]
    return parse_catalog(yaml.safe_load(specs["asyncapi.yaml"]), source=Path("registered.yaml"), solution="github")


def _gateway_mapper(stack: MockStack) -> Mapper:
    """The gateway's own mapping code, configured from the Deployment's environment (a test secret for the ref)."""
    container = stack.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    settings = Settings.from_env({**env, "GATEWAY_WEBHOOK_SECRETS": "s"})
    return Mapper(settings, load_catalog_file(settings.catalog_path, solution=settings.solution.value))


def _deliver(mapper: Mapper, event: str, action: str | None) -> str:
    body = json.dumps({"action": action} if action else {}).encode()
    signature = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()
    mapped = mapper.map({"content-type": "application/json", "x-github-event": event,
                         "x-hub-signature-256": signature}, body)
    assert isinstance(mapped, Event), (event, action, mapped)  # catalogued: not Uncatalogued, not Ignored
    return mapped.type


@pytest.mark.parametrize("events", [None, ("push", "issues", "team", "workflow_run")], ids=["default", "selected"])
def test_hook_events_gateway_types_and_registered_catalog_agree(
    mock_stack: Any, events: tuple[str, ...] | None
) -> None:
    """One generated document feeds all three lists: what each hook subscribes to, what the gateway publishes for
    those deliveries, and what the registrar registers as the Application's Events entry."""
    stack = mock_stack()
    settings = example_settings()
    only = dataclasses.replace(settings.connectors[0], events=events)
    connector = run_connectors(stack, dataclasses.replace(settings, connectors=(only,)))["github-acme"]
    registered = _registered_catalog(stack, "github-acme")
    hooks = {r.name: r.inputs["events"] for r in stack.of_type(HOOK)}
    # hook events: each hook subscribes to exactly the registered events its kind of hook can subscribe to
    assert sorted(hooks["github-acme-hook-acme.widgets"]) == sorted(registered.native_events("repository"))
    assert sorted(hooks["github-acme-hook-org-acme"]) == sorted(registered.native_events("organization"))
    assert set().union(*map(set, hooks.values())) == set(registered.native_events())
    # gateway types: a delivery of every registered event and action becomes exactly the registered type
    mapper = _gateway_mapper(stack)
    assert [_deliver(mapper, e.event, e.action) for e in registered.events] == registered.types()
    # the connector's reported event types are the registered ones
    assert stack.resolve(connector.event_types) == registered.types()
    shipped = load_catalog("github")
    if events is None:
        assert registered.types() == shipped.types()  # the generated document, unchanged
        assert "team" not in hooks["github-acme-hook-acme.widgets"]  # organization hooks only
        assert "team" in hooks["github-acme-hook-org-acme"]
    else:
        assert set(registered.native_events()) == set(events)
        assert hooks["github-acme-hook-acme.widgets"] == ["push", "issues", "workflow_run"]
        # sent without subscription, so registered too: ping (hook created), meta (hook deleted), App-only events
        assert {"ping.v1", "meta.deleted.v1", "installation.created.v1"} <= set(registered.types())
        assert not any(e.event == "pull_request" for e in registered.events)


def test_generic_connector_registers_no_webhook(mock_stack: Any) -> None:
    """A generic source is receive-only: no WebhookRegistration; its auth settings reach the gateway."""
    stack = mock_stack()
    settings = example_settings(connectors=[{"name": "hooks", "solution": "generic",
                                             "generic": {"auth": "bearer", "eventHeader": "X-Event"}}])
    connector = run_connectors(stack, settings)["hooks"]
    assert stack.of_type(HOOK) == []
    assert stack.resolve(connector.webhook_ids) == {}
    container = stack.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GATEWAY_GENERIC_AUTH"] == "bearer"
    assert env["GATEWAY_GENERIC_EVENT_HEADER"] == "X-Event"


def test_a_generic_connectors_own_catalog_reaches_the_gateway_and_the_application(
    mock_stack: Any, tmp_path: Path
) -> None:
    """``catalog:`` replaces the catch-all: the gateway serves the document (ConfigMap + GATEWAY_CATALOG), the
    registrar registers it, and the connector reports its types."""
    own = tmp_path / "acme-events.yaml"
    text = (SPECS / "generic" / "asyncapi.yaml").read_text().replace("webhook.received.v1", "order.placed.v1")
    own.write_text(text.replace("event: webhook", "event: order.placed"))
    stack = mock_stack()
    settings = example_settings(connectors=[{"name": "shop", "solution": "generic", "catalog": str(own)}])
    connector = run_connectors(stack, settings)["shop"]
    assert stack.resolve(connector.event_types) == ["order.placed.v1"]
    maps = {r.name: r.inputs["data"] for r in stack.of_type(CONFIG_MAP)}
    assert maps["shop-gateway-catalog"]["asyncapi.yaml"] == own.read_text()
    assert maps["shop-registrar-specs"]["asyncapi.yaml"] == own.read_text()
    container = stack.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GATEWAY_CATALOG"].endswith("/asyncapi.yaml")


@pytest.mark.parametrize("choice", [None, "drop", "catchall"])
def test_the_operator_chooses_what_happens_to_uncatalogued_events(mock_stack: Any, choice: str | None) -> None:
    """``gateway.unknownEvents`` reaches the gateway as GATEWAY_UNKNOWN_EVENTS; unset, the gateway publishes."""
    stack = mock_stack()
    entry: dict[str, Any] = {"name": "hooks", "solution": "generic"}
    if choice is not None:
        entry["gateway"] = {"unknownEvents": choice}
    run_connectors(stack, example_settings(connectors=[entry]))
    container = stack.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env.get("GATEWAY_UNKNOWN_EVENTS") == choice


def test_qualtrics_webhook_subscribes_with_the_catalogs_subscription_names(mock_stack: Any) -> None:
    """Per-survey Qualtrics topics go on the subscription as the catalog's wildcard, not as the bare event name."""
    stack = mock_stack()
    settings = example_settings()
    run_connectors(stack, dataclasses.replace(settings, connectors=settings.connectors[1:]))
    (hook,) = stack.of_type(HOOK)
    assert hook.inputs["events"] == load_catalog("qualtrics").subscriptions()
    assert "surveyengine.completedResponse.*" in hook.inputs["events"]


def _snapshot(stack: MockStack, prefix: str) -> dict[str, tuple[str, Any]]:
    return {r.urn: (r.id, r.inputs) for r in stack.registrations if r.name.startswith(prefix) or r.k8s_name == prefix}


def test_names_stay_stable_when_other_connectors_come_and_go(mock_stack: Any) -> None:
    """The Qualtrics connector's URNs, ids and inputs are identical alone, second in the list, or beside a third."""
    base = example_config()["kyma-connectors:connectors"]
    third = {"name": "github-other", "solution": "github", "github": {"organization": "other"},
             "credentials": {"token": "t"}}
    snapshots = []
    for connectors in ([base[1]], base, [third, base[1], base[0]]):
        stack = mock_stack()
        run_connectors(stack, example_settings(connectors=connectors))
        snapshots.append(_snapshot(stack, "qualtrics-surveys"))
    assert len(snapshots[0]) > 15
    assert snapshots[0] == snapshots[1] == snapshots[2]


def test_a_spec_change_changes_only_the_registration_job_name(mock_stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same specs: identical graph. A changed OpenAPI document: the specs ConfigMap's data and the Job's name."""
    settings = example_settings()

    def snapshot() -> dict[str, Registration]:
        stack = mock_stack()
        run_connectors(stack, settings)
        return {r.urn: r for r in stack.registrations}

    before, again = snapshot(), snapshot()
    assert {u: r.inputs for u, r in before.items()} == {u: r.inputs for u, r in again.items()}

    original = connector_module._read

    def edited(path: Path) -> str:
        text = original(path)
        return text + "\n# edited\n" if path.name == "openapi.yaml" and path.parent.name == "github" else text

    monkeypatch.setattr(connector_module, "_read", edited)
    after = snapshot()
    assert before.keys() == after.keys()
    changed = {urn: r for urn, r in after.items() if r.inputs != before[urn].inputs}
    assert sorted((r.type, r.name) for r in changed.values()) == [
        (JOB, "github-acme-registrar-job"), (CONFIG_MAP, "github-acme-registrar-specs")]
    job_after = next(r for r in changed.values() if r.type == JOB)
    job_before = before[job_after.urn]
    assert job_after.k8s_name != job_before.k8s_name
    assert _without_name(job_after.inputs) == _without_name(job_before.inputs)


def _without_name(inputs: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in inputs["metadata"].items() if k != "name"}
    return {**inputs, "metadata": metadata}


@pytest.mark.parametrize(("targets", "roles"), [
    (["a/b-c", "a-b/c", "org:a-b-c"], ["hook-a.b-c", "hook-a-b.c", "hook-org-a-b-c"]),
    (["Acme/My.Repo", "acme/my-repo", ""], ["hook-acme.my.repo", "hook-acme.my-repo", "hook"]),
])
def test_webhook_names_are_distinct_per_target(targets: list[str], roles: list[str]) -> None:
    """Targets that differ give hook names that differ (GitHub owners have no '.', so '/' -> '.' cannot collide)."""
    assert [connector_module.target_role(t) for t in targets] == roles


def test_settings_pass_through_unchanged() -> None:
    """ConnectorArgs.from_settings carries the stack-wide values a Connector needs."""
    settings = example_settings(kymaContract="legacy", namespace="integrations")
    args = ConnectorArgs.from_settings(settings, settings.connectors[0])
    assert isinstance(args.connector, ConnectorSettings)
    assert (args.namespace, args.legacy, args.api_secrets_namespace) == ("integrations", True, "integrations")
    assert args.publisher_url == "http://eventing-event-publisher-proxy.kyma-system"
    assert args.registry_url == "http://application-registry-external-api.kyma-integration:8081"


def test_publisher_limit_oversize_and_scraper_reach_the_gateway(mock_stack: Any) -> None:
    """The stack's publisherMaxBytes/oversize become the gateway's env; metricsScraper its NetworkPolicy peer."""
    settings = example_settings(publisherMaxBytes=131072, oversize="refuse",
                                metricsScraper={"namespace": "monitoring", "podLabels": {"app": "prometheus"}})
    settings = dataclasses.replace(settings, connectors=settings.connectors[:1])
    stack = mock_stack()
    run_connectors(stack, settings)
    deployment = stack.one("kubernetes:apps/v1:Deployment")
    env = {e["name"]: e.get("value") for e in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (env["GATEWAY_PUBLISH_MAX_BYTES"], env["GATEWAY_OVERSIZE"]) == ("131072", "refuse")
    scraper = stack.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs["spec"]["ingress"][1]["from"][0]
    assert scraper["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
    assert scraper["podSelector"]["matchLabels"] == {"app": "prometheus"}
    stack = mock_stack()
    run_connectors(stack, dataclasses.replace(settings, metrics_scraper=None))
    assert len(stack.one("kubernetes:networking.k8s.io/v1:NetworkPolicy").inputs["spec"]["ingress"]) == 1
