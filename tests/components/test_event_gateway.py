"""EventGateway's resource graph under recording mocks, its APIRule checked against the real Kyma CRD."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from components._event_gateway_network import PublisherEgress, publisher_egress
from components._event_gateway_pod import PRE_STOP_SECONDS, quantity_bytes
from components.event_gateway import (
    RESOURCE_TYPE,
    SPOOL_DIR,
    Autoscaling,
    Egress,
    EventGateway,
    EventGatewayArgs,
    SecretRef,
    SpoolVolume,
    webhook_url,
)
from kyma_connectors.core.catalog import SPECS_DIR
from kyma_connectors.gateway.settings import Settings
from tests.components.conftest import MockStackFactory
from tests.support.crds import assert_valid_custom_resource, crd_errors
from tests.support.pulumi_mocks import MockStack

pytestmark = pytest.mark.timeout(30)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
APIRULE = "kubernetes:gateway.kyma-project.io/v2:APIRule"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def _args(**changes: Any) -> EventGatewayArgs:
    base = EventGatewayArgs(
        application="github-acme", namespace="connectors", solution="github", image="event-gateway:1.0",
        host="github-acme-hooks", cluster_domain="c-1a2b.kyma.example.com",
        webhook_secret=SecretRef(name="github-acme-webhook", key="webhook-secrets"),
    )
    return dataclasses.replace(base, **changes)


def _run(stack: MockStack, args: EventGatewayArgs) -> EventGateway:
    return stack.run(lambda: EventGateway("gh-gateway", args))


def _pod(stack: MockStack) -> dict[str, Any]:
    return dict(stack.one(DEPLOYMENT).inputs["spec"]["template"]["spec"])


def _env(stack: MockStack) -> list[dict[str, Any]]:
    return list(_pod(stack)["containers"][0]["env"])


def test_children_are_parented_and_named_from_the_prefix(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    children = stack.children(stack.one(RESOURCE_TYPE))
    assert sorted(r.type for r in children) == sorted([ACCOUNT, DEPLOYMENT, SERVICE, APIRULE, PDB, NETPOL])
    assert all(r.name.startswith("gh-gateway-") for r in children)
    assert all(r.k8s_name == "gh-gateway" and r.k8s_namespace == "connectors" for r in children)


def test_apirule_is_v2_and_exposes_only_post_webhook(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    rule = stack.one(APIRULE)
    assert_valid_custom_resource(rule.k8s_object())
    spec = rule.inputs["spec"]
    assert spec["hosts"] == ["github-acme-hooks.c-1a2b.kyma.example.com"]  # the registered URL's host, not a label
    assert f"https://{spec['hosts'][0]}/webhook" == webhook_url("github-acme-hooks", "c-1a2b.kyma.example.com")
    assert spec["gateway"] == "kyma-system/kyma-gateway"
    assert spec["service"] == {"name": "gh-gateway", "namespace": "connectors", "port": 8080}
    assert spec["rules"] == [{"path": "/webhook", "methods": ["POST"], "noAuth": True}]
    assert rule.depends_on(stack.one(DEPLOYMENT))


def test_every_custom_resource_validates_against_the_crds(mock_stack: MockStackFactory) -> None:
    """Also with an FQDN host: the CRD's CEL host rule accepts both shapes we emit."""
    for args in (_args(), _args(host="hooks.example.com", cluster_domain=None)):
        stack = mock_stack()
        _run(stack, args)
        assert stack.custom_resources(), "expected the APIRule"
        for resource in stack.custom_resources():
            assert crd_errors(resource.k8s_object()) == []


def test_the_crd_check_would_catch_a_broken_rule(mock_stack: MockStackFactory) -> None:
    """Guard for the test above: a rule with two access strategies breaks the CRD's CEL rule."""
    stack = mock_stack()
    _run(stack, _args())
    obj = stack.one(APIRULE).k8s_object()
    obj["spec"]["rules"][0]["jwt"] = {"authentications": [{"issuer": "https://i", "jwksUri": "https://j"}]}
    assert crd_errors(obj)


@pytest.mark.parametrize(("host", "domain", "expected"), [
    ("github-acme-hooks", "c-1a2b.kyma.example.com", "github-acme-hooks.c-1a2b.kyma.example.com"),
    ("hooks.example.com", None, "hooks.example.com"),
])
def test_outputs_give_the_public_webhook_url(mock_stack: MockStackFactory, host: str, domain: str | None,
                                             expected: str) -> None:
    stack = mock_stack()
    gateway = _run(stack, _args(host=host, cluster_domain=domain))
    assert stack.resolve(gateway.host) == expected
    assert stack.resolve(gateway.webhook_url) == f"https://{expected}/webhook"
    assert stack.resolve(gateway.service_name) == "gh-gateway"


def test_environment_follows_the_gateway_contract(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args(legacy_events=True, env={"GATEWAY_UNKNOWN_EVENTS": "drop"}))
    plain = {e["name"]: e["value"] for e in _env(stack) if "value" in e}
    assert plain == {
        "GATEWAY_SOLUTION": "github", "GATEWAY_APPLICATION": "github-acme",
        "GATEWAY_PUBLISHER_URL": "http://eventing-publisher-proxy.kyma-system", "GATEWAY_SPOOL_DIR": SPOOL_DIR,
        "GATEWAY_PORT": "8080", "GATEWAY_LEGACY_EVENTS": "true", "GATEWAY_UNKNOWN_EVENTS": "drop",
        "GATEWAY_SPOOL_MAX_BYTES": str(int(2**30 * 0.9)), "GATEWAY_SHUTDOWN_GRACE_SECONDS": "25",
        "GATEWAY_PUBLISH_MAX_BYTES": "65536", "GATEWAY_OVERSIZE": "trim",
    }


def test_the_publisher_size_limit_and_oversize_policy_reach_the_gateway(mock_stack: MockStackFactory) -> None:
    """Parsed by the gateway's own settings reader, as the pod will."""
    stack = mock_stack()
    _run(stack, _args(publish_max_bytes=131072, oversize="refuse"))
    plain = {e["name"]: e["value"] for e in _env(stack) if "value" in e}
    settings = Settings.from_env({**plain, "GATEWAY_WEBHOOK_SECRETS": "s"})
    assert (settings.publish_max_bytes, settings.oversize.value) == (131072, "refuse")
    with pytest.raises(ValueError, match="oversize: expected 'trim' or 'refuse'"):
        _args(oversize="drop")


def test_secrets_reach_the_pod_only_by_reference(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args(secret_env={"GATEWAY_GENERIC_TOKEN": SecretRef(name="generic-cred", key="token")}))
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in _env(stack) if "valueFrom" in e}
    assert refs == {
        "GATEWAY_WEBHOOK_SECRETS": {"name": "github-acme-webhook", "key": "webhook-secrets"},
        "GATEWAY_GENERIC_TOKEN": {"name": "generic-cred", "key": "token"},
    }
    assert all("value" not in e for e in _env(stack) if e["name"] in refs)


def test_pod_is_locked_down(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    pod = _pod(stack)
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert (security["allowPrivilegeEscalation"], security["readOnlyRootFilesystem"]) == (False, True)
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}


def test_sidecar_outlives_the_gateways_drain(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args(termination_grace_seconds=40))
    template = stack.one(DEPLOYMENT).inputs["spec"]["template"]
    proxy = json.loads(template["metadata"]["annotations"]["proxy.istio.io/config"])
    assert proxy == {"holdApplicationUntilProxyStarts": True, "terminationDrainDuration": "35s"}
    assert template["spec"]["terminationGracePeriodSeconds"] == 40
    assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"


@pytest.mark.parametrize("grace", [30, 9])
def test_a_terminating_pod_serves_until_its_endpoints_are_gone(mock_stack: MockStackFactory, grace: int) -> None:
    """preStop sleeps before SIGTERM; the sleep, the gateway's own shutdown and the sidecar fit the grace period."""
    stack = mock_stack()
    _run(stack, _args(termination_grace_seconds=grace))
    (container,) = _pod(stack)["containers"]
    sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 0 < sleep <= PRE_STOP_SECONDS
    assert sleep <= grace // 3
    shutdown = int(next(e["value"] for e in _env(stack) if e["name"] == "GATEWAY_SHUTDOWN_GRACE_SECONDS"))
    assert sleep + shutdown < grace


def test_kyma_1x_pods_have_no_sleep_action(mock_stack: MockStackFactory) -> None:
    """Kyma 1.x clusters run a Kubernetes older than the ``sleep`` lifecycle action."""
    stack = mock_stack()
    _run(stack, _args(legacy_events=True))
    (container,) = _pod(stack)["containers"]
    assert "lifecycle" not in container


def test_default_spool_is_a_bounded_empty_dir(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    spool = next(v for v in _pod(stack)["volumes"] if v["name"] == "spool")
    assert spool["emptyDir"] == {"sizeLimit": "1Gi"}
    mounts = {m["name"]: m["mountPath"] for m in _pod(stack)["containers"][0]["volumeMounts"]}
    assert mounts["spool"] == SPOOL_DIR
    assert stack.of_type(PVC) == []
    assert stack.one(PDB).inputs["spec"]["minAvailable"] == 1


def test_persistent_spool_uses_a_retained_claim_and_recreate(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args(replicas=1, spool=SpoolVolume(persistent=True, size="5Gi", storage_class="standard")))
    claim = stack.one(PVC)
    assert claim.inputs["spec"]["resources"] == {"requests": {"storage": "5Gi"}}
    spool = next(v for v in _pod(stack)["volumes"] if v["name"] == "spool")
    assert spool["persistentVolumeClaim"]["claimName"] == claim.k8s_name
    assert stack.one(DEPLOYMENT).inputs["spec"]["strategy"] == {"type": "Recreate"}
    # One replica: the PDB must still let a node drain.
    assert stack.one(PDB).inputs["spec"] == {"selector": stack.one(PDB).inputs["spec"]["selector"],
                                             "maxUnavailable": 1}


def test_hpa_owns_the_replica_count(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args(hpa=Autoscaling(min_replicas=2, max_replicas=6)))
    assert "replicas" not in stack.one(DEPLOYMENT).inputs["spec"]
    hpa = stack.one(HPA).inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gh-gateway"}


def _peers(rule: dict[str, Any]) -> list[tuple[str | None, dict[str, str] | None, str | None]]:
    """(namespace, pod labels, cidr) per peer; [] for a rule without ``to``/``from`` (any address)."""
    return [(peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name"),
             peer.get("podSelector", {}).get("matchLabels"), peer.get("ipBlock", {}).get("cidr"))
            for peer in rule.get("to", rule.get("from", []))]


def _ports_of(rule: dict[str, Any]) -> list[tuple[int, str]]:
    return [(p["port"], p["protocol"]) for p in rule["ports"]]


def test_network_policy_admits_the_ingress_gateway_and_the_scraper_and_reaches_only_what_it_needs(
        mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    spec = stack.one(NETPOL).inputs["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["podSelector"]["matchLabels"] == stack.one(DEPLOYMENT).inputs["spec"]["selector"]["matchLabels"]
    from_ingress, from_scraper = spec["ingress"]
    assert _peers(from_ingress) == [("istio-system", {"istio": "ingressgateway"}, None)]
    assert _ports_of(from_ingress) == [(8080, "TCP")]
    assert _peers(from_scraper) == [("kyma-system", {"telemetry.kyma-project.io/metric-scrape": "true"}, None)]
    assert _ports_of(from_scraper) == [(8080, "TCP"), (15020, "TCP"), (15090, "TCP")]
    publisher, dns, coredns, istiod = spec["egress"]
    assert (_peers(publisher), _ports_of(publisher)) == ([("kyma-system", None, None)], [(8080, "TCP")])
    assert "to" not in dns  # any address: kube-dns's Service, node-local DNS on its link-local address
    assert _ports_of(dns) == [(53, "UDP"), (53, "TCP")]
    assert _peers(coredns) == [("kube-system", {"k8s-app": "kube-dns"}, None)]  # Gardener CoreDNS pods: 8053
    assert _ports_of(coredns) == [(8053, "UDP"), (8053, "TCP")]
    assert (_peers(istiod), _ports_of(istiod)) == ([("istio-system", None, None)], [(15012, "TCP")])


def test_pods_carry_the_label_the_istio_module_lets_the_ingress_gateway_reach(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    labels = stack.one(DEPLOYMENT).inputs["spec"]["template"]["metadata"]["labels"]
    assert labels["networking.kyma-project.io/from-ingressgateway"] == "allowed"


@pytest.mark.parametrize(("url", "namespace", "port"), [
    ("http://eventing-publisher-proxy.kyma-system", "kyma-system", 8080),            # Service 80 -> pod 8080
    ("http://eventing-event-publisher-proxy.kyma-system.svc.cluster.local", "kyma-system", 8080),
    ("http://my-publisher.eventing:9000", "eventing", 9000),                          # same port assumed
    ("http://local-publisher", "connectors", 80),                                     # the gateway's namespace
])
def test_publisher_egress_follows_the_publisher_url(mock_stack: MockStackFactory, url: str, namespace: str,
                                                    port: int) -> None:
    stack = mock_stack()
    _run(stack, _args(publisher_url=url))
    publisher = stack.one(NETPOL).inputs["spec"]["egress"][0]
    assert (_peers(publisher), _ports_of(publisher)) == ([(namespace, None, None)], [(port, "TCP")])


def test_publisher_egress_outside_the_cluster_and_overrides(mock_stack: MockStackFactory) -> None:
    assert publisher_egress("http://10.0.0.7:8081", "ns") == PublisherEgress(None, "10.0.0.7/32", 8081)
    assert publisher_egress("https://publisher.example.com", "ns") == PublisherEgress(None, None, 443)
    assert publisher_egress("http://proxy.kyma-system", "ns", namespace="eventing", port=8443) == PublisherEgress(
        "eventing", None, 8443)
    stack = mock_stack()
    _run(stack, _args(publisher_url="http://10.0.0.7:8081", scrapers=()))
    spec = stack.one(NETPOL).inputs["spec"]
    assert _peers(spec["egress"][0]) == [(None, None, "10.0.0.7/32")]
    assert len(spec["ingress"]) == 1  # no scraper admitted


def test_extra_egress_opens_exactly_the_named_destination(mock_stack: MockStackFactory) -> None:
    """Tracing export to the telemetry module's OTLP gateway: one more egress rule, nothing broader."""
    stack = mock_stack()
    _run(stack, _args(env={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://telemetry-otlp-traces.kyma-system:4318"},
                      extra_egress=(Egress(namespace="kyma-system", port=4318),)))
    egress = stack.one(NETPOL).inputs["spec"]["egress"]
    assert len(egress) == 5
    assert egress[-1] == {"to": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kyma-system"}}}], "ports": [{"port": 4318, "protocol": "TCP"}]}


def test_custom_catalog_is_mounted_and_named(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args(catalog_config_map="github-acme-catalog"))
    volume = next(v for v in _pod(stack)["volumes"] if v["name"] == "catalog")
    assert volume["configMap"]["name"] == "github-acme-catalog"
    env = {e["name"]: e.get("value") for e in _env(stack)}
    assert env["GATEWAY_CATALOG"] == "/etc/event-gateway/catalog/asyncapi.yaml"


@pytest.mark.parametrize(("quantity", "expected"), [("1Gi", 2**30), ("500M", 500 * 10**6), ("64", 64),
                                                    ("1.5Gi", None), ("lots", None)])
def test_spool_quantities(quantity: str, expected: int | None) -> None:
    assert quantity_bytes(quantity) == expected


def test_gateway_settings_are_accepted_by_the_gateway(mock_stack: MockStackFactory) -> None:
    """The env the component sets parses with the gateway's own settings reader (secrets filled in as the pod would)."""
    stack = mock_stack()
    _run(stack, _args(spool=SpoolVolume(size="2Gi")))
    environ = {e["name"]: e.get("value", "s3cret") for e in _env(stack)}
    settings = Settings.from_env(environ)
    assert settings.spool_max_bytes < 2 * 2**30
    assert settings.shutdown_grace_seconds < 30
    assert str(settings.spool_dir) == SPOOL_DIR


def test_catalog_document_gets_its_own_config_map_and_rolls_the_pods(mock_stack: MockStackFactory) -> None:
    """A generic source's own catalog: mounted from a child ConfigMap; a changed document changes the pod template."""
    document = (SPECS_DIR / "generic" / "asyncapi.yaml").read_text(encoding="utf-8")
    templates = []
    for text in (document, document.replace("Webhook received", "Order placed")):
        stack = mock_stack()
        _run(stack, _args(solution="generic", catalog_document=text))
        config_map = stack.one(CONFIG_MAP)
        assert config_map.parent_type == RESOURCE_TYPE
        assert config_map.inputs["data"] == {"asyncapi.yaml": text}
        volume = next(v for v in _pod(stack)["volumes"] if v["name"] == "catalog")
        assert volume["configMap"]["name"] == config_map.k8s_name
        templates.append(stack.one(DEPLOYMENT).inputs["spec"]["template"]["metadata"]["annotations"])
    assert templates[0] != templates[1]


def test_bad_args_report_every_problem_at_once() -> None:
    with pytest.raises(ValueError, match="EventGatewayArgs") as caught:
        _args(solution="gitlab", cluster_domain=None, spool=SpoolVolume(persistent=True),
              env={"GATEWAY_PORT": "1"})
    message = str(caught.value)
    for expected in ("solution: 'gitlab' has no catalog", "cluster_domain: required", "spool.persistent",
                     "env['GATEWAY_PORT']"):
        assert expected in message


