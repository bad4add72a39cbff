"""The policy pack's rules, called directly: what the program emits passes, each kind of violation is caught."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pulumi_policy import ResourceValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from kyma_connectors.policy import rules
from kyma_connectors.policy.pack import policies
from tests.support.component_samples import VARIANTS, emitted, programs
from tests.support.pulumi_mocks import Registration

pytestmark = pytest.mark.timeout(30)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
APIRULE_V2 = "kubernetes:gateway.kyma-project.io/v2:APIRule"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"


@pytest.mark.parametrize("program", VARIANTS)
def test_what_the_components_emit_passes_every_rule(program: str) -> None:
    found = emitted(programs()[program])
    assert found
    assert {r.name: rules.violations(r.type, r.inputs) for r in found if rules.violations(r.type, r.inputs)} == {}


@pytest.fixture(scope="module")
def gateway() -> dict[str, Registration]:
    return {r.type: r for r in emitted(programs()["gateway"])}


def _deployment(gateway: dict[str, Registration]) -> dict[str, Any]:
    return copy.deepcopy(gateway[DEPLOYMENT].inputs)


def _container(props: dict[str, Any]) -> dict[str, Any]:
    return dict(props["spec"]["template"]["spec"]["containers"][0])


@pytest.mark.parametrize(("env", "fragment"), [
    ({"name": "GITHUB_TOKEN", "value": "abc"}, "secret-looking variable"),
    ({"name": "WEBHOOK_SECRET", "value": "s3cr3t"}, "secret-looking variable"),
    ({"name": "HELPER", "value": "ghp_" + "a" * 36}, "looks like a credential"),
    ({"name": "KEY_MATERIAL", "value": "-----BEGIN RSA PRIVATE KEY-----\nMII..."}, "looks like a credential"),
])
def test_plain_secret_env_is_rejected(gateway: dict[str, Registration], env: dict[str, str], fragment: str) -> None:
    props = _deployment(gateway)
    _container(props)["env"].append(env)
    problems = rules.no_plain_secret_env(DEPLOYMENT, props)
    assert len(problems) == 1
    assert fragment in problems[0]
    assert env["value"] not in problems[0]  # the message names the variable, never its value


def test_references_to_secrets_are_fine(gateway: dict[str, Registration]) -> None:
    props = _deployment(gateway)
    _container(props)["env"] += [{"name": "TOKEN_FILE", "value": "/var/run/token"},
                                 {"name": "WEBHOOK_SECRET_NAME", "value": "gh-webhook"}]
    assert rules.no_plain_secret_env(DEPLOYMENT, props) == []


@pytest.mark.parametrize(("data", "fragment"), [
    ({"client-secret": "x"}, "secret-looking key"),
    ({"password.txt": "x"}, "secret-looking key"),
    ({"settings.yaml": "token: github_pat_" + "A" * 30}, "contains a credential"),
])
def test_config_maps_with_credentials_are_rejected(data: dict[str, str], fragment: str) -> None:
    problems = rules.no_secrets_in_config_maps(CONFIG_MAP, {"data": {"openapi.yaml": "openapi: 3.0.3", **data}})
    assert len(problems) == 1
    assert fragment in problems[0]


@pytest.mark.parametrize(("path", "value", "fragment"), [
    ("allowPrivilegeEscalation", None, "allowPrivilegeEscalation"),
    ("readOnlyRootFilesystem", False, "readOnlyRootFilesystem"),
    ("capabilities", {"drop": ["NET_RAW"]}, "capabilities.drop"),
    ("runAsNonRoot", False, "runAsNonRoot"),
    ("seccompProfile", {"type": "Unconfined"}, "seccompProfile"),
    ("privileged", True, "privileged"),
])
def test_weakened_pod_security_is_rejected(gateway: dict[str, Registration], path: str, value: Any,
                                           fragment: str) -> None:
    props = _deployment(gateway)
    security = _container(props)["securityContext"]
    if value is None:
        del security[path]
    else:
        security[path] = value
    problems = rules.pod_security(DEPLOYMENT, props)
    assert len(problems) == 1
    assert fragment in problems[0]


def test_pod_level_settings_count_for_every_container(gateway: dict[str, Registration]) -> None:
    """runAsNonRoot and seccomp may be set once on the pod; a container without its own still passes."""
    props = _deployment(gateway)
    security = _container(props)["securityContext"]
    del security["runAsNonRoot"], security["seccompProfile"]
    assert rules.pod_security(DEPLOYMENT, props) == []
    del props["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]
    assert rules.pod_security(DEPLOYMENT, props) == [
        "containers[event-gateway]: seccompProfile.type must be RuntimeDefault or Localhost"]


def test_missing_memory_limit_is_rejected(gateway: dict[str, Registration]) -> None:
    props = _deployment(gateway)
    del _container(props)["resources"]["limits"]
    assert rules.container_resources(DEPLOYMENT, props) == [
        "containers[event-gateway]: resources.limits.memory must be set"]


@pytest.mark.parametrize("rule", [
    {"path": "/admin", "methods": ["POST"], "noAuth": True},
    {"path": "/webhook", "methods": ["GET", "POST"], "noAuth": True},
    {"path": "/*", "methods": ["POST"], "noAuth": True},
])
def test_apirule_no_auth_beyond_post_webhook_is_rejected(gateway: dict[str, Registration],
                                                         rule: dict[str, Any]) -> None:
    props = copy.deepcopy(gateway[APIRULE_V2].inputs)
    props["spec"]["rules"].append(rule)
    problems = rules.apirule_no_auth_only_on_webhook(APIRULE_V2, props)
    assert problems == [f"spec.rules[1]: unauthenticated access to {sorted(rule['methods'])} {rule['path']!r}; "
                        "only POST /webhook may use noAuth"]


def test_apirule_with_jwt_elsewhere_is_fine(gateway: dict[str, Registration]) -> None:
    props = copy.deepcopy(gateway[APIRULE_V2].inputs)
    props["spec"]["rules"].append({"path": "/admin", "methods": ["GET"], "jwt": {"authentications": []}})
    assert rules.apirule_no_auth_only_on_webhook(APIRULE_V2, props) == []


def test_v1beta1_apirule_is_rejected_twice_when_open() -> None:
    kind = "kubernetes:gateway.kyma-project.io/v1beta1:APIRule"
    props = {"spec": {"rules": [{"path": "/.*", "methods": ["GET"], "accessStrategies": [{"handler": "allow"}]}]}}
    assert rules.apirule_v2(kind, props) == [f"{kind}: use gateway.kyma-project.io/v2"]
    assert len(rules.apirule_no_auth_only_on_webhook(kind, props)) == 1


@pytest.mark.parametrize(("rule", "fragment"), [
    ({"apiGroups": ["*"], "resources": ["applications"], "resourceNames": ["a"], "verbs": ["get"]}, "apiGroups"),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}, "verbs: wildcards"),
    ({"apiGroups": ["applicationconnector.kyma-project.io"], "resources": ["applications"], "verbs": ["patch"]},
     "needs resourceNames"),
])
def test_broad_cluster_roles_are_rejected(rule: dict[str, Any], fragment: str) -> None:
    problems = rules.rbac_least_privilege(CLUSTER_ROLE, {"rules": [rule]})
    assert any(fragment in p for p in problems), problems


def test_pack_reports_through_the_policy_sdk(gateway: dict[str, Registration]) -> None:
    """The adapter hands each rule the SDK's proxied props and reports every message as a violation."""
    assert [p.name for p in policies()] == [info.name for info in rules.RULES]
    props = _deployment(gateway)
    _container(props)["env"].append({"name": "API_TOKEN", "value": "abc"})
    reported: list[str] = []
    args = ResourceValidationArgs(resource_type=DEPLOYMENT, props=unknown_checking_proxy(props), urn="urn", name="gw",
                                  opts=None, provider=None)  # type: ignore[arg-type]
    for policy in policies():
        policy.validate(args, lambda message, urn: reported.append(message))  # type: ignore[attr-defined]
    assert reported == ["containers[event-gateway].env[API_TOKEN]: a secret-looking variable has a plain value; "
                        "use valueFrom.secretKeyRef"]


def test_unknown_preview_values_surface_as_the_sdk_error(gateway: dict[str, Registration]) -> None:
    """During preview an unknown image or env value must reach the SDK as UnknownValueError, not pass silently."""
    props = _deployment(gateway)
    _container(props)["env"].append({"name": "API_TOKEN", "value": UNKNOWN_STRING_VALUE})
    with pytest.raises(UnknownValueError):
        rules.no_plain_secret_env(DEPLOYMENT, unknown_checking_proxy(props))
