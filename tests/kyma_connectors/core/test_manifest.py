"""The registration manifest round trip and the Application services built from it, checked against the real CRD."""

from __future__ import annotations

from typing import Any

import pytest

from kyma_connectors.core.application_services import build_services, normalize_service_name
from kyma_connectors.core.manifest import (
    ApiDefinition,
    Credentials,
    EventsDefinition,
    Manifest,
    ManifestError,
    ServiceDefinition,
    parse_manifest,
    service_id,
)
from tests.support.crds import assert_valid_custom_resource, crd_errors


def _manifest() -> Manifest:
    app = "github-acme"
    return Manifest(
        application=app,
        solution="github",
        specs_namespace="connectors",
        specs_config_map="github-acme-specs",
        services=(
            ServiceDefinition(
                id=service_id(app, "github-rest-api"),
                name="github-rest-api",
                display_name="GitHub REST API",
                description="Repositories, issues and pull requests.",
                provider_display_name="GitHub",
                api=ApiDefinition(
                    target_url="https://api.github.com",
                    spec="openapi.yaml",
                    credentials=Credentials(
                        type="OAuth",
                        secret_name="github-acme-api",
                        authentication_url="https://auth.example/token",
                        csrf_token_url="https://api.example/csrf",
                    ),
                    request_parameters_secret_name="github-acme-params",
                ),
            ),
            ServiceDefinition(
                id=service_id(app, "github-events"),
                name="github-events",
                display_name="GitHub events",
                description="Webhook events.",
                provider_display_name="GitHub",
                events=EventsDefinition(spec="asyncapi.yaml"),
            ),
        ),
    )


def _application(services: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "applicationconnector.kyma-project.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "github-acme", "labels": {"app.kubernetes.io/instance": "github-acme"}},
        "spec": {"description": "GitHub", "services": services},
    }


def test_round_trip_is_lossless() -> None:
    """to_dict then parse_manifest gives the same manifest back."""
    manifest = _manifest()
    assert parse_manifest(manifest.to_dict()) == manifest


def test_services_validate_against_the_real_application_crd() -> None:
    """The built services make an Application the real CRD schema accepts, with the gateway URL derived as Kyma does."""
    services = build_services(_manifest())
    assert_valid_custom_resource(_application(services))
    api_entry = services[0]["entries"][0]
    assert api_entry["credentials"] == {
        "type": "OAuth",
        "secretName": "github-acme-api",
        "authenticationUrl": "https://auth.example/token",
        "csrfInfo": {"tokenEndpointURL": "https://api.example/csrf"},
    }
    assert api_entry["centralGatewayUrl"].endswith("/github-acme/github-rest-api")
    assert services[1]["entries"] == [{"type": "Events"}]


def test_crd_check_catches_a_broken_service() -> None:
    """The validator is not a rubber stamp: a service without displayName and a bad entry type are rejected."""
    services = build_services(_manifest())
    del services[0]["displayName"]
    services[1]["entries"][0]["type"] = "Webhook"
    errors = crd_errors(_application(services))
    assert any("displayName" in e for e in errors)
    assert any("Webhook" in e for e in errors)


def test_service_ids_are_stable_and_distinct() -> None:
    """Ids depend only on application and service name."""
    assert service_id("a", "s") == service_id("a", "s")
    assert service_id("a", "s") != service_id("b", "s")


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("GitHub REST API", "github-rest-api"),
        ("  Qualtrics/Survey API v3 ", "qualtrics-survey-api-v3"),
        ("x" * 80, "x" * 57),
        # Kyma cuts to 57 *before* trimming the leading "-" (normalization.go NormalizeName): 56 characters left.
        ("(" + "a" * 70, "a" * 56),
        ("  Long API " + "b" * 60, "long-api-" + "b" * 47),  # was "long-api-" + 48 "b" before
        # ... and a cut that ends on a "-" keeps it.
        ("a" * 56 + " tail", "a" * 56 + "-"),
        ("Café API", "caf-api"),
    ],
)
def test_normalize_service_name(display: str, expected: str) -> None:
    """Central Application Gateway pkg/normalization/normalization.go NormalizeName, step by step."""
    assert normalize_service_name(display) == expected


def test_bad_manifest_lists_every_problem() -> None:
    """Unknown credential type, missing OAuth URL, bad names and duplicates are all reported in one error."""
    doc = _manifest().to_dict()
    doc["services"][0]["api"]["credentials"] = {"type": "Token", "secretName": "x"}
    doc["services"][1]["name"] = "Bad_Name"
    events_service = _manifest().to_dict()["services"][1]
    doc["services"] += [events_service, dict(events_service)]
    doc["services"].append({"id": "z", "name": "z", "displayName": "Z", "description": "d", "providerDisplayName": "p"})
    with pytest.raises(ManifestError) as info:
        parse_manifest(doc)
    problems = info.value.messages
    assert problems[0].startswith("services[0].api.credentials.type: unknown credential type 'Token'")
    assert info.value.problems[0].path == "services[0].api.credentials.type"
    assert any(p.startswith("services[1].name:") for p in problems)
    assert any(p.startswith("services[4]: a service needs an api, events, or both") for p in problems)
    assert any(p.startswith("services[3].id: duplicate") for p in problems)
    assert any(p.startswith("services[3].name: duplicate") for p in problems)
    oauth = _manifest().to_dict()
    del oauth["services"][0]["api"]["credentials"]["authenticationUrl"]
    with pytest.raises(ManifestError, match="authenticationUrl: required for OAuth"):
        parse_manifest(oauth)
