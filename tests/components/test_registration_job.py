"""RegistrationJob's resource graph under recording mocks: children, least-privilege RBAC, re-run hash, pod security."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from components.registration_job import (
    CREDENTIALS_DIR,
    PERMANENT_EXIT_CODE,
    RESOURCE_TYPE,
    SPECS_DIR,
    RegistrationJob,
    RegistrationJobArgs,
    job_name,
    manifest_yaml,
)
from kyma_connectors.core.manifest import (
    FILE_NAME,
    ApiDefinition,
    Credentials,
    EventsDefinition,
    Manifest,
    ServiceDefinition,
    parse_manifest,
    service_id,
)
from tests.components.conftest import MockStackFactory
from tests.support.pulumi_mocks import MockStack, Registration

pytestmark = pytest.mark.timeout(30)

APP = "github-acme"
JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"


def _manifest() -> Manifest:
    return Manifest(application=APP, solution="github", services=(
        ServiceDefinition(
            id=service_id(APP, "github-rest-api"), name="github-rest-api", display_name="GitHub REST API",
            description="Repositories, issues and pull requests.", provider_display_name="GitHub",
            api=ApiDefinition(target_url="https://api.github.com", spec="openapi.yaml",
                              credentials=Credentials(type="Basic", secret_name="github-acme-api")),
        ),
        ServiceDefinition(
            id=service_id(APP, "github-events"), name="github-events", display_name="GitHub events",
            description="Webhook events.", provider_display_name="GitHub",
            events=EventsDefinition(spec="asyncapi.yaml"),
        ),
    ))


def _args(**changes: Any) -> RegistrationJobArgs:
    base = RegistrationJobArgs(
        application=APP, namespace="connectors", manifest=_manifest(), image="registrar:1.0",
        specs={"openapi.yaml": "openapi: 3.0.3\n", "asyncapi.yaml": "asyncapi: 2.6.0\n"},
    )
    return dataclasses.replace(base, **changes)


def _run(stack: MockStack, args: RegistrationJobArgs, name: str = "gh-registration") -> RegistrationJob:
    return stack.run(lambda: RegistrationJob(name, args))


def _container(job: Registration) -> dict[str, Any]:
    containers = job.inputs["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def test_children_are_parented_and_named_from_the_prefix(mock_stack: MockStackFactory) -> None:
    """Every child hangs under the component and derives both its Pulumi and its Kubernetes name from the prefix."""
    stack = mock_stack()
    _run(stack, _args())
    component = stack.one(RESOURCE_TYPE)
    children = stack.children(component)
    assert sorted(r.type for r in children) == sorted([CONFIG_MAP, ACCOUNT, ROLE, BINDING, JOB])
    assert all(r.name.startswith("gh-registration-") for r in children)
    namespaced = [r for r in children if r.type in (CONFIG_MAP, ACCOUNT, JOB)]
    assert all(r.k8s_namespace == "connectors" and str(r.k8s_name).startswith("gh-registration") for r in namespaced)


def test_outputs_are_the_job_and_config_map_names(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    args = _args()
    component = _run(stack, args)
    assert stack.resolve(component.job_name) == job_name("gh-registration", args)
    assert stack.resolve(component.config_map_name) == stack.one(CONFIG_MAP).k8s_name


def test_rbac_is_limited_to_the_one_application(mock_stack: MockStackFactory) -> None:
    """get + patch on exactly this Application, bound to the Job's ServiceAccount only; nothing else."""
    stack = mock_stack()
    _run(stack, _args())
    role = stack.one(ROLE)
    assert role.inputs["rules"] == [{
        "apiGroups": ["applicationconnector.kyma-project.io"], "resources": ["applications"],
        "resourceNames": [APP], "verbs": ["get", "patch"],
    }]
    binding = stack.one(BINDING)
    account = stack.one(ACCOUNT)
    assert binding.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                         "name": role.k8s_name}
    assert binding.inputs["subjects"] == [{"kind": "ServiceAccount", "name": account.k8s_name,
                                           "namespace": "connectors"}]
    # The pod must not start before it has its permissions.
    assert stack.one(JOB).depends_on(binding)
    assert stack.one(JOB).delete_before_replace


def test_legacy_backend_gets_no_kubernetes_credentials(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args(backend="application-registry", registry_url="http://registry.kyma-integration:8081"))
    assert stack.of_type(ROLE) == []
    assert stack.of_type(BINDING) == []
    job = stack.one(JOB)
    assert job.inputs["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    env = {e["name"]: e["value"] for e in _container(job)["env"]}
    assert env["REGISTRAR_BACKEND"] == "application-registry"
    assert env["REGISTRAR_REGISTRY_URL"] == "http://registry.kyma-integration:8081"


def test_legacy_backend_mounts_only_the_credential_secrets_it_names(mock_stack: MockStackFactory) -> None:
    """The 1.x registry takes credential values inline: the Secrets the manifest names are mounted, read-only."""
    stack = mock_stack()
    _run(stack, _args(backend="application-registry", registry_url="http://registry:8081"))
    pod = stack.one(JOB).inputs["spec"]["template"]["spec"]
    secrets = {v["name"]: v["secret"] for v in pod["volumes"] if "secret" in v}
    assert [s["secretName"] for s in secrets.values()] == ["github-acme-api"]
    mounts = {m["name"]: m for m in _container(stack.one(JOB))["volumeMounts"]}
    (volume,) = secrets
    assert mounts[volume]["mountPath"] == f"{CREDENTIALS_DIR}/github-acme-api"
    assert mounts[volume]["readOnly"] is True
    env = {e["name"]: e["value"] for e in _container(stack.one(JOB))["env"]}
    assert env["REGISTRAR_CREDENTIALS_DIR"] == CREDENTIALS_DIR


def test_application_cr_backend_mounts_no_secrets(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    assert all("secret" not in v for v in stack.one(JOB).inputs["spec"]["template"]["spec"]["volumes"])


def test_job_runs_the_registrar_with_its_environment_contract(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    job = stack.one(JOB)
    container = _container(job)
    assert container["image"] == "registrar:1.0"
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "REGISTRAR_BACKEND": "application-cr", "REGISTRAR_APPLICATION": APP, "REGISTRAR_SPECS_DIR": SPECS_DIR,
    }
    spec = job.inputs["spec"]
    rule = spec["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"]["values"] == [PERMANENT_EXIT_CODE]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert "ttlSecondsAfterFinished" not in spec  # see the module docstring: refresh would re-run the Job
    volume = next(v for v in spec["template"]["spec"]["volumes"] if v["name"] == "specs")
    assert volume["configMap"]["name"] == stack.one(CONFIG_MAP).k8s_name


def test_the_job_checks_the_webhook_host_against_exactly_one_gateway(mock_stack: MockStackFactory) -> None:
    """With a webhook host: the env names host and Gateway, and a Role in the Gateway's namespace may get only it."""
    stack = mock_stack()
    _run(stack, _args(webhook_host="gh-webhook.c-1a2b.kyma.ondemand.com", istio_gateway="kyma-system/kyma-gateway"))
    env = {e["name"]: e["value"] for e in _container(stack.one(JOB))["env"]}
    assert (env["REGISTRAR_WEBHOOK_HOST"], env["REGISTRAR_ISTIO_GATEWAY"]) == (
        "gh-webhook.c-1a2b.kyma.ondemand.com", "kyma-system/kyma-gateway")
    (role,) = stack.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    assert role.k8s_namespace == "kyma-system"
    assert role.inputs["rules"] == [{"apiGroups": ["networking.istio.io"], "resources": ["gateways"],
                                     "resourceNames": ["kyma-gateway"], "verbs": ["get"]}]
    (binding,) = stack.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert binding.inputs["subjects"][0]["namespace"] == "connectors"
    legacy = mock_stack()
    _run(legacy, _args(backend="application-registry", registry_url="http://registry:8081",
                       webhook_host="h.example.com", istio_gateway="kyma-system/kyma-gateway"))
    assert legacy.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role") == []  # Kyma 1.x: no check


def test_pod_meets_the_restricted_profile(mock_stack: MockStackFactory) -> None:
    stack = mock_stack()
    _run(stack, _args())
    pod = stack.one(JOB).inputs["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = _container(stack.one(JOB))["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert set(_container(stack.one(JOB))["resources"]) == {"requests", "limits"}


def test_config_map_holds_the_specs_and_a_manifest_pointing_back(mock_stack: MockStackFactory) -> None:
    """The registrar reads the manifest with the shared parser; it names the ConfigMap so specs are findable."""
    stack = mock_stack()
    args = _args()
    _run(stack, args)
    config_map = stack.one(CONFIG_MAP)
    data = config_map.inputs["data"]
    assert set(data) == {"openapi.yaml", "asyncapi.yaml", FILE_NAME}
    manifest = parse_manifest(yaml.safe_load(data[FILE_NAME]))
    assert manifest.services == args.manifest.services
    assert (manifest.specs_namespace, manifest.specs_config_map) == ("connectors", config_map.k8s_name)
    assert config_map.secret_paths == frozenset()


def test_manifest_text_is_the_same_with_and_without_libyaml() -> None:
    """registration.yaml must not depend on how PyYAML was built: the C and Python emitters agree, also on long,
    multi-line, quoted and non-ASCII strings, and the text reads back as the manifest."""
    app = "github-acme"
    long = "A description that is long enough to be folded by an emitter at eighty columns, " * 3
    manifest = Manifest(application=app, solution="github", services=(
        ServiceDefinition(id=service_id(app, "api"), name="api", display_name="GitHub: REST API (v3)",
                          description=long + "\n\nSecond: 'quoted' \"double\" # not a comment\ttab \u2028",
                          provider_display_name="Ünïcødé GmbH 日本", api=ApiDefinition(
                              target_url="https://api.github.com", spec="openapi.yaml",
                              credentials=Credentials(type="Basic", secret_name=f"{app}-api"))),
        ServiceDefinition(id=service_id(app, "events"), name="events", display_name="yes",
                          description="- dash " + "x" * 200, provider_display_name="null",
                          events=EventsDefinition(spec="asyncapi.yaml")),
    ))
    text = manifest_yaml(manifest.to_dict())
    options: dict[str, Any] = {"sort_keys": False, "width": 2**31 - 1, "allow_unicode": False}
    assert text == yaml.dump(manifest.to_dict(), Dumper=yaml.SafeDumper, **options)
    if hasattr(yaml, "CSafeDumper"):
        assert text == yaml.dump(manifest.to_dict(), Dumper=yaml.CSafeDumper, **options)
    assert parse_manifest(yaml.safe_load(text)) == manifest


def _names(stack: MockStack) -> dict[str, str | None]:
    return {r.name: r.k8s_name for r in stack.kubernetes()}


@pytest.mark.parametrize("change", [
    {"specs": {"openapi.yaml": "openapi: 3.1.0\n", "asyncapi.yaml": "asyncapi: 2.6.0\n"}},
    {"image": "registrar:1.1"},
    {"backend": "application-registry", "registry_url": "http://registry:8081"},
    {"backoff_limit": 1},
])
def test_a_changed_input_renames_the_job_and_nothing_else(mock_stack: MockStackFactory,
                                                          change: dict[str, Any]) -> None:
    first, second = mock_stack(), mock_stack()
    _run(first, _args())
    _run(second, _args(**change))
    before, after = _names(first), _names(second)
    changed = {name for name in before.keys() & after.keys() if before[name] != after[name]}
    assert changed == {"gh-registration-job"}


def test_unchanged_inputs_keep_the_job_name(mock_stack: MockStackFactory) -> None:
    """Same specs given in another order, as a fresh program run would: the Job stays, no re-run."""
    first, second = mock_stack(), mock_stack()
    _run(first, _args())
    _run(second, _args(specs=dict(reversed(list(_args().specs.items())))))
    assert _names(first) == _names(second)


def test_job_name_fits_the_label_limit() -> None:
    name = job_name("x" * 80, _args())
    assert len(name) <= 63
    assert name.startswith("xxx")


def test_bad_args_report_every_problem_at_once() -> None:
    with pytest.raises(ValueError, match="RegistrationJobArgs") as caught:
        _args(application="other", backend="application-registry", specs={"openapi.yaml": "x", "bad/key": "y"})
    message = str(caught.value)
    for expected in ("application: 'other' differs", "registry_url: required", "specs['bad/key']",
                     "spec file 'asyncapi.yaml' is not in specs"):
        assert expected in message


def test_oversized_specs_are_rejected() -> None:
    big = "x" * 1_100_000
    with pytest.raises(ValueError, match="exceed the ConfigMap budget"):
        _args(specs={"openapi.yaml": big, "asyncapi.yaml": ""})
