"""The Application Registry double keeps to its contract (kyma/legacy/application-registry-metadata-api.yaml)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from devtools.doubles import process as doubles
from devtools.doubles.registry import MASK, RegistryDouble

pytestmark = pytest.mark.timeout(30)

SERVICE = {"provider": "Acme", "name": "Orders", "description": "Orders API", "identifier": "orders",
           "labels": {"team": "a"},
           "api": {"targetUrl": "https://orders.example.com",
                   "credentials": {"oauth": {"url": "https://auth.example.com/token", "clientId": "id-1",
                                             "clientSecret": "secret-1"}}}}


@pytest.fixture
def double() -> Iterator[RegistryDouble]:
    with RegistryDouble() as started:
        yield started
    assert started.contract_violations == []


def _services(double: RegistryDouble, app: str = "acme") -> str:
    return f"{double.url}/{app}/v1/metadata/services"


def test_lifecycle_post_list_get_put_delete(double: RegistryDouble) -> None:
    created = requests.post(_services(double), json=SERVICE, timeout=5)
    assert created.status_code == 200
    sid = created.json()["id"]

    listed = requests.get(_services(double), timeout=5).json()
    assert listed == [{"id": sid, "provider": "Acme", "name": "Orders", "description": "Orders API",
                       "identifier": "orders", "labels": {"team": "a"}}]

    details = requests.get(f"{_services(double)}/{sid}", timeout=5).json()
    assert details["api"]["credentials"]["oauth"]["clientSecret"] == MASK
    assert details["api"]["credentials"]["oauth"]["url"] == "https://auth.example.com/token"
    assert double.services["acme"][sid]["api"]["credentials"]["oauth"]["clientSecret"] == "secret-1"

    updated = requests.put(f"{_services(double)}/{sid}", json={**SERVICE, "description": "v2"}, timeout=5)
    assert updated.status_code == 200
    assert double.services["acme"][sid]["description"] == "v2"

    assert requests.delete(f"{_services(double)}/{sid}", timeout=5).status_code == 204
    gone = requests.delete(f"{_services(double)}/{sid}", timeout=5)
    assert gone.status_code == 404
    assert set(gone.json()) == {"code", "error"}


@pytest.mark.parametrize(("body", "fragment"), [
    ({"name": "x", "description": "y"}, "'provider' is a required property"),
    ({**SERVICE, "api": {"credentials": {}}}, "'targetUrl' is a required property"),
    ({**SERVICE, "labels": {"team": 1}}, "Request body validation error"),
    ({**SERVICE, "api": {"targetUrl": "https://x", "credentials": {"oauth": {"url": "https://t"}}}},
     "'clientId' is a required property"),
])
def test_requests_breaking_the_contract_are_rejected(double: RegistryDouble, body: dict[str, object],
                                                      fragment: str) -> None:
    response = requests.post(_services(double), json=body, timeout=5)

    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert double.rejected
    assert double.services.get("acme", {}) == {}


def test_service_id_must_be_a_uuid(double: RegistryDouble) -> None:
    response = requests.put(f"{_services(double)}/not-a-uuid", json=SERVICE, timeout=5)

    assert response.status_code == 400
    assert "serviceId" in response.json()["error"]


def test_unknown_paths_are_404(double: RegistryDouble) -> None:
    assert requests.get(f"{double.url}/acme/v1/metadata/other", timeout=5).status_code == 404
    assert requests.get(f"{double.url}/v1/metadata/services", timeout=5).status_code == 404


def test_identifier_is_unique_per_application(double: RegistryDouble) -> None:
    assert requests.post(_services(double), json=SERVICE, timeout=5).status_code == 200

    duplicate = requests.post(_services(double), json=SERVICE, timeout=5)
    other_app = requests.post(_services(double, "other"), json=SERVICE, timeout=5)

    assert duplicate.status_code == 400
    assert "identifier orders already exists" in duplicate.json()["error"]
    assert other_app.status_code == 200


def test_credentials_hold_exactly_one_kind(double: RegistryDouble) -> None:
    both = {**SERVICE, "api": {"targetUrl": "https://x", "credentials": {
        "basic": {"username": "u", "password": "p"}, "certificateGen": {"commonName": "cn"}}}}

    response = requests.post(_services(double), json=both, timeout=5)

    assert response.status_code == 400
    assert "exactly one of basic, oauth, certificateGen" in response.json()["error"]


def test_injected_faults_come_first_and_are_recorded(double: RegistryDouble) -> None:
    double.fail_next(503, times=2, retry_after="1")

    first = requests.get(_services(double), timeout=5)
    second = requests.get(_services(double), timeout=5)
    third = requests.get(_services(double), timeout=5)

    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Retry-After"] == "1"
    assert [status for _, _, status in double.calls] == [503, 503, 200]
    assert double.writes() == []


def test_health(double: RegistryDouble) -> None:
    assert requests.get(f"{double.url}/acme/v1/health", timeout=5).status_code == 200


def test_runs_standalone_and_stops_on_sigterm() -> None:
    with doubles.running("devtools.doubles.registry") as double:
        assert double.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{double.url}/acme/v1/metadata/services", timeout=5).json() == []
    assert double.process.returncode == 0  # exited on SIGTERM within the grace period, not killed
