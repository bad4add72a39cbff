"""The application-registry backend against the loopback metadata API double (which validates every request)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devtools.doubles.registry import MASK, RegistryDouble
from kyma_connectors.core.manifest import Credentials
from kyma_connectors.registrar.errors import EXIT_PERMANENT, EXIT_TRANSIENT
from kyma_connectors.registrar.registry import FINGERPRINT_LABEL, MANAGED_BY, MANAGED_BY_LABEL
from tests.kyma_connectors.registrar.conftest import APP, SpecsDir, api_service, events_service, invoke, registry_env

pytestmark = pytest.mark.timeout(60)

BASIC = Credentials(type="Basic", secret_name="acme-basic", csrf_token_url="https://api.example.com/csrf")
OAUTH = Credentials(type="OAuth", secret_name="acme-oauth", authentication_url="https://auth.example.com/token")


def _stored(registry: RegistryDouble) -> dict[str, dict[str, Any]]:
    """identifier -> stored ServiceDetails, for the test application."""
    return {details["identifier"]: details for details in registry.services.get(APP, {}).values()}


def test_first_run_creates_every_service_with_its_documents(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    result = invoke(registry_env(specs_dir, registry))

    assert result.code == 0, result.stderr
    assert result.actions() == {"github-rest-api": "created", "github-events": "created"}
    stored = _stored(registry)
    assert stored["github-rest-api"]["api"]["spec"]["paths"]  # the OpenAPI document itself, as JSON
    assert stored["github-rest-api"]["api"]["targetUrl"] == "https://github-rest-api.example.com"
    assert "issues.opened.v1" in stored["github-events"]["events"]["spec"]["channels"]
    assert stored["github-events"]["labels"][MANAGED_BY_LABEL] == MANAGED_BY
    assert registry.rejected == []
    assert [c[0] for c in registry.calls] == ["GET", "POST", "POST"]


def test_rerun_with_same_input_makes_zero_writes_and_says_so(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    assert invoke(registry_env(specs_dir, registry)).code == 0
    registry.reset_calls()

    again = invoke(registry_env(specs_dir, registry))

    assert again.code == 0
    assert registry.writes() == []
    assert len(registry.calls) == 1  # one list call decides everything
    assert set(again.actions().values()) == {"unchanged"}
    assert again.summary["result"] == "unchanged"
    assert again.summary["writes"] == 0


def test_changed_service_is_put_new_is_posted_removed_owned_is_deleted(
        specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    assert invoke(registry_env(specs_dir, registry)).code == 0
    ids = {ident: sid for sid, d in registry.services[APP].items() if (ident := d["identifier"])}
    registry.reset_calls()

    specs_dir.write(api_service("github-rest-api", description="Now with pull requests."), api_service("other-api"))
    result = invoke(registry_env(specs_dir, registry))

    assert result.code == 0, result.stderr
    assert result.actions() == {"github-rest-api": "updated", "other-api": "created", "github-events": "deleted"}
    assert sorted((m, p.rsplit("/", 1)[-1]) for m, p, _ in registry.writes()) == sorted([
        ("PUT", ids["github-rest-api"]), ("POST", "services"), ("DELETE", ids["github-events"])])
    stored = _stored(registry)
    assert set(stored) == {"github-rest-api", "other-api"}
    assert stored["github-rest-api"]["description"] == "Now with pull requests."


def test_services_registered_by_others_are_left_alone(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    foreign = {"provider": "Someone", "name": "Their API", "description": "Not ours.", "identifier": "their-api",
               "labels": {"team": "other"}}
    registry.services[APP] = {"6a1d0c8e-0000-4000-8000-000000000001": foreign}

    assert invoke(registry_env(specs_dir, registry)).code == 0
    specs_dir.write(api_service("github-rest-api"))
    assert invoke(registry_env(specs_dir, registry)).code == 0

    assert registry.services[APP]["6a1d0c8e-0000-4000-8000-000000000001"] == foreign
    assert set(_stored(registry)) == {"their-api", "github-rest-api"}


def test_credentials_come_from_mounted_secrets_and_never_reach_the_log(
        specs_dir: SpecsDir, registry: RegistryDouble, credentials_dir: Path) -> None:
    specs_dir.write(api_service("basic-api", credentials=BASIC, params="acme-params"),
                    api_service("oauth-api", credentials=OAUTH))

    result = invoke(registry_env(specs_dir, registry, credentials_dir))

    assert result.code == 0, result.stderr
    stored = _stored(registry)
    assert stored["basic-api"]["api"]["credentials"] == {"basic": {
        "username": "svc-user", "password": "s3cr3t-basic-password",
        "csrfInfo": {"tokenEndpointURL": "https://api.example.com/csrf"}}}
    assert stored["basic-api"]["api"]["requestParameters"]["headers"] == {"X-Api-Key": ["s3cr3t-header-key"]}
    assert stored["oauth-api"]["api"]["credentials"]["oauth"] == {
        "url": "https://auth.example.com/token", "clientId": "client-123", "clientSecret": "s3cr3t-oauth-secret"}
    for secret in ("s3cr3t-basic-password", "s3cr3t-oauth-secret", "s3cr3t-header-key"):
        assert secret not in result.stdout + result.stderr
        assert secret not in stored["basic-api"]["labels"][FINGERPRINT_LABEL]


def test_rotated_password_updates_the_service(specs_dir: SpecsDir, registry: RegistryDouble,
                                              credentials_dir: Path) -> None:
    specs_dir.write(api_service("basic-api", credentials=BASIC))
    assert invoke(registry_env(specs_dir, registry, credentials_dir)).code == 0
    (credentials_dir / "acme-basic" / "password").write_text("rotated-password")

    result = invoke(registry_env(specs_dir, registry, credentials_dir))

    assert result.actions() == {"basic-api": "updated"}
    assert _stored(registry)["basic-api"]["api"]["credentials"]["basic"]["password"] == "rotated-password"
    assert MASK not in str(_stored(registry)["basic-api"]["api"]["credentials"])


def test_unsupported_credential_type_is_refused_before_any_write(specs_dir: SpecsDir, registry: RegistryDouble,
                                                                 credentials_dir: Path) -> None:
    cert = Credentials(type="OAuthWithCert", secret_name="acme-oauth", authentication_url="https://a.example/t")
    specs_dir.write(api_service("fine-api"), api_service("cert-api", credentials=cert))

    result = invoke(registry_env(specs_dir, registry, credentials_dir))

    assert result.code == EXIT_PERMANENT
    assert "OAuthWithCert" in result.stderr
    assert "cert-api" in result.stderr
    assert registry.calls == []


def test_missing_credential_mount_is_permanent_and_names_secret_and_key(
        specs_dir: SpecsDir, registry: RegistryDouble, tmp_path: Path) -> None:
    specs_dir.write(api_service("basic-api", credentials=BASIC))

    result = invoke(registry_env(specs_dir, registry, tmp_path / "empty"))

    assert result.code == EXIT_PERMANENT
    assert "'password'" in result.stderr or "'username'" in result.stderr
    assert "acme-basic" in result.stderr
    assert registry.calls == []


def test_odata_service_is_registered_with_api_type_and_no_inline_spec(
        specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    specs_dir.write(api_service("orders", spec="orders.edmx", api_type="OData"))

    assert invoke(registry_env(specs_dir, registry)).code == 0

    api = _stored(registry)["orders"]["api"]
    assert api["apiType"] == "OData"
    assert "spec" not in api


def test_unavailable_registry_is_retried_then_succeeds(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    registry.fail_next(503, times=2)

    result = invoke(registry_env(specs_dir, registry))

    assert result.code == 0, result.stderr
    assert [status for _, _, status in registry.calls[:3]] == [503, 503, 200]
    assert set(result.actions().values()) == {"created"}


def test_registry_that_stays_down_is_a_transient_failure(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    registry.fail_next(500, times=1000)

    result = invoke(registry_env(specs_dir, registry, REGISTRAR_WAIT_SECONDS="1"))

    assert result.code == EXIT_TRANSIENT
    assert result.stderr.startswith("registrar: transient: application-registry: GET")
    assert "HTTP 500" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_connection_refused_is_transient(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    env = registry_env(specs_dir, registry, REGISTRAR_WAIT_SECONDS="0.5")
    env["REGISTRAR_REGISTRY_URL"] = "http://127.0.0.1:9"  # discard port: nothing listens

    result = invoke(env)

    assert result.code == EXIT_TRANSIENT
    assert "cannot connect" in result.stderr


def test_client_error_from_registry_is_permanent(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    registry.fail_next(400)

    result = invoke(registry_env(specs_dir, registry))

    assert result.code == EXIT_PERMANENT
    assert "HTTP 400" in result.stderr
    assert "injected fault" in result.stderr


def test_each_application_sees_only_its_services(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    registry.services["other-app"] = {"6a1d0c8e-0000-4000-8000-000000000002": {
        "provider": "x", "name": "y", "description": "z", "identifier": "github-events",
        "labels": {MANAGED_BY_LABEL: MANAGED_BY}}}

    assert invoke(registry_env(specs_dir, registry)).code == 0

    assert len(registry.services["other-app"]) == 1
    assert {p.split("/")[1] for _, p, _ in registry.calls} == {APP}


def test_events_only_service_carries_the_asyncapi_document(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    specs_dir.write(events_service())

    assert invoke(registry_env(specs_dir, registry)).code == 0

    stored = _stored(registry)["github-events"]
    assert "api" not in stored
    assert stored["events"]["spec"]["asyncapi"].startswith("2.")


def test_credentials_echoed_in_a_registry_error_are_masked(specs_dir: SpecsDir, registry: RegistryDouble,
                                                           credentials_dir: Path) -> None:
    specs_dir.write(api_service("basic-api", credentials=BASIC, params="acme-params"))
    registry.fail_next(400, error="invalid body: password=s3cr3t-basic-password header=s3cr3t-header-key",
                       method="POST")

    result = invoke(registry_env(specs_dir, registry, credentials_dir))

    assert result.code == EXIT_PERMANENT
    assert "s3cr3t" not in result.stderr
    assert f"password={MASK}" in result.stderr
    assert f"header={MASK}" in result.stderr


def test_a_run_failing_half_way_logs_what_it_did_and_the_retry_finishes(
        specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    specs_dir.write(api_service("a-api"))
    assert invoke(registry_env(specs_dir, registry)).code == 0
    specs_dir.write(api_service("a-api", description="v2"), api_service("b-api"), api_service("c-api"))
    registry.fail_next(503, times=1000, method="POST")  # the registry goes down after the PUT of a-api

    failed = invoke(registry_env(specs_dir, registry, REGISTRAR_WAIT_SECONDS="0.3"))
    registry.clear_faults()
    retried = invoke(registry_env(specs_dir, registry))

    assert failed.code == EXIT_TRANSIENT
    assert failed.actions() == {"a-api": "updated"}  # logged although the run failed afterwards
    assert retried.code == 0
    assert retried.actions() == {"a-api": "unchanged", "b-api": "created", "c-api": "created"}
    assert _stored(registry)["a-api"]["description"] == "v2"


def test_request_parameters_must_be_lists_of_strings(specs_dir: SpecsDir, registry: RegistryDouble,
                                                     credentials_dir: Path) -> None:
    (credentials_dir / "acme-params" / "headers").write_text('{"X-Api-Key": "not-a-list"}')
    specs_dir.write(api_service("basic-api", params="acme-params"))

    result = invoke(registry_env(specs_dir, registry, credentials_dir))

    assert result.code == EXIT_PERMANENT
    assert "key 'headers' of Secret 'acme-params' must map names to lists of strings" in result.stderr
    assert "not-a-list" not in result.stderr
    assert registry.calls == []


def test_labels_the_registry_adds_itself_are_not_drift(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    assert invoke(registry_env(specs_dir, registry)).code == 0
    for details in registry.services[APP].values():  # Kyma 1.x labels services with the application
        details["labels"] = {**details["labels"], "connected-app": APP}
    registry.reset_calls()

    again = invoke(registry_env(specs_dir, registry))

    assert again.summary["writes"] == 0
    assert registry.writes() == []


def test_a_service_already_gone_when_deleted_counts_as_deleted(specs_dir: SpecsDir, registry: RegistryDouble) -> None:
    assert invoke(registry_env(specs_dir, registry)).code == 0
    specs_dir.write(api_service("github-rest-api"))
    registry.fail_next(404, method="DELETE", error="service not found")  # deleted meanwhile by someone else

    result = invoke(registry_env(specs_dir, registry))

    assert result.code == 0, result.stderr
    assert result.actions()["github-events"] == "deleted"
