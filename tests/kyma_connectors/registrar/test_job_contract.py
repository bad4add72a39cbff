"""The program's RegistrationJob and the registrar agree: what the component puts into the ConfigMap, the environment
and the mounts is what the registrar accepts, and the exit code the pod failure policy stops on is the registrar's.

The ConfigMap and the credential Secrets are materialised as files exactly where the Job mounts them (here under a
temporary root), then the registrar runs against the registry double and against the real API server, after the
program's own Application object was applied the way ``pulumi up`` applies it (server-side, no force).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from components.kyma_application import KymaApplicationArgs, application_object
from components.registration_job import (
    CREDENTIALS_DIR,
    PERMANENT_EXIT_CODE,
    SPECS_DIR,
    RegistrationJobArgs,
    config_map_data,
    credential_secrets,
    registrar_env,
)
from devtools.doubles.registry import RegistryDouble
from kyma_connectors.core import manifest as mf
from kyma_connectors.core.kube import KubeSession, from_kubeconfig
from kyma_connectors.registrar.errors import EXIT_PERMANENT
from kyma_connectors.registrar.settings import DEFAULT_CREDENTIALS_DIR, ENVIRONMENT
from tests.kyma_connectors.registrar.conftest import OPENAPI, invoke
from tests.support.controlplane import control_plane  # noqa: F401 - the session fixture
from tests.support.paths import SPECS

pytestmark = pytest.mark.timeout(60)
APP = "contract-acme"


def _args(backend: str = "application-cr", registry_url: str | None = None, app: str = APP) -> RegistrationJobArgs:
    manifest = mf.Manifest(application=app, solution="github", services=(
        mf.ServiceDefinition(id=mf.service_id(app, "rest"), name="rest", display_name="GitHub REST", description="API",
                          provider_display_name="GitHub",
                          api=mf.ApiDefinition(target_url="https://api.github.com", spec="openapi.yaml",
                                            credentials=mf.Credentials(type="Basic", secret_name=f"{app}-api"))),
        mf.ServiceDefinition(id=mf.service_id(app, "events"), name="events", display_name="GitHub events",
                          description="Webhook events", provider_display_name="GitHub",
                          events=mf.EventsDefinition(spec="asyncapi.yaml")),
    ))
    specs = {"openapi.yaml": json.dumps(OPENAPI), "asyncapi.yaml": (SPECS / "github" / "asyncapi.yaml").read_text()}
    return RegistrationJobArgs(application=app, namespace="connectors", manifest=manifest, specs=specs,
                               image="registrar:test", backend=backend, registry_url=registry_url)  # type: ignore[arg-type]


def _mount(args: RegistrationJobArgs, root: Path) -> dict[str, str]:
    """Lay out the Job's volumes under ``root`` and return its environment, paths moved under ``root``."""
    specs = root / SPECS_DIR.lstrip("/")
    specs.mkdir(parents=True)
    for key, text in config_map_data(args, f"{args.application}-specs").items():
        (specs / key).write_text(text)
    for secret in credential_secrets(args):
        (root / CREDENTIALS_DIR.lstrip("/") / secret).mkdir(parents=True)
        (root / CREDENTIALS_DIR.lstrip("/") / secret / "username").write_text("bot")
        (root / CREDENTIALS_DIR.lstrip("/") / secret / "password").write_text("pw-from-secret")
    env = {str(e.name): str(e.value) for e in registrar_env(args)}
    for key in ("REGISTRAR_SPECS_DIR", "REGISTRAR_CREDENTIALS_DIR"):
        if key in env:
            env[key] = str(root / env[key].lstrip("/"))
    return env


def test_exit_code_mounts_and_environment_agree() -> None:
    assert PERMANENT_EXIT_CODE == EXIT_PERMANENT
    assert Path(CREDENTIALS_DIR) == DEFAULT_CREDENTIALS_DIR
    for backend, url in (("application-cr", None), ("application-registry", "http://registry:8081")):
        args = _args(backend, url)
        names = {str(e.name) for e in registrar_env(args)}
        assert names <= ENVIRONMENT
        assert {"REGISTRAR_BACKEND", "REGISTRAR_APPLICATION", "REGISTRAR_SPECS_DIR"} <= names


def test_program_output_registers_with_the_legacy_registry(tmp_path: Path) -> None:
    with RegistryDouble() as registry:
        args = _args("application-registry", registry.url)
        env = _mount(args, tmp_path)

        first = invoke(env)
        again = invoke(env)

    assert first.code == 0, first.stderr
    assert first.actions() == {"rest": "created", "events": "created"}
    assert again.summary["writes"] == 0
    stored = {d["identifier"]: d for d in registry.services[APP].values()}
    assert stored["rest"]["api"]["credentials"]["basic"] == {"username": "bot", "password": "pw-from-secret"}
    assert registry.rejected == []


@pytest.mark.controlplane
def test_pulumi_up_then_job_then_pulumi_up_again_on_a_real_api_server(
        tmp_path: Path, control_plane: Path) -> None:  # noqa: F811
    args = _args(app=f"contract-{uuid.uuid4().hex[:8]}")
    app = application_object(KymaApplicationArgs(manifest=args.manifest, display_name="GitHub (Acme)",
                                                 description="GitHub for Acme", provider_display_name="GitHub"))
    connection = from_kubeconfig(control_plane)
    session = KubeSession(connection)
    url = f"{connection.server}/apis/{app['apiVersion']}/applications/{args.application}"

    def pulumi_up() -> int:
        return session.patch(url, data=json.dumps(app), timeout=10,
                             headers={"Content-Type": "application/apply-patch+yaml"},
                             params={"fieldManager": "pulumi-kubernetes-contract", "force": "false"}).status_code

    try:
        assert pulumi_up() in (200, 201)
        env = {**_mount(args, tmp_path), "KUBECONFIG": str(control_plane)}

        job = invoke(env)
        assert job.code == 0, job.stderr
        assert set(job.actions().values()) == {"unchanged"}  # the program already wrote equal services
        assert pulumi_up() == 200  # no conflict with the job's co-ownership
        assert invoke(env).summary["writes"] == 0
        live = session.get(url, timeout=10).json()
        assert live["spec"]["services"] == app["spec"]["services"]
        assert live["spec"]["description"] == "GitHub for Acme"
    finally:
        session.delete(url, timeout=10)
        session.close()
