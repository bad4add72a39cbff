"""Typed settings: defaults applied once, secret fields wrapped as secrets, values Pulumi sends as text decoded."""

from __future__ import annotations

import json
from typing import Any

from kyma_connectors.program import KymaContract, parse, read_raw
from kyma_connectors.program.settings import DEFAULT_IMAGES, GITHUB_API, LEGACY_REGISTRY_URL, PUBLISHER_URLS

SECRETS = frozenset({"connectors"})


class Hidden:
    """Stands in for ``pulumi.Output.secret``: records that a value went through the secret wrapper."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hidden) and other.value == self.value

    def __hash__(self) -> int:
        return hash(json.dumps(self.value, sort_keys=True))


def settings(connectors: list[dict[str, Any]], **top: Any) -> Any:
    raw = {"clusterDomain": "example.org", "connectors": connectors, **top}
    return parse(raw, secret_keys=SECRETS, secret=Hidden)  # type: ignore[arg-type]  # a recording stand-in


def test_pulumi_text_values_are_decoded_by_schema_type() -> None:
    """Top-level values arrive as strings: booleans/objects are JSON-decoded, string keys stay verbatim."""
    raw = read_raw({"kyma-connectors:createNamespace": "false", "kyma-connectors:namespace": "123",
                    "kyma-connectors:connectors": '[{"name": "a"}]', "other:key": "ignored"})
    assert raw == {"createNamespace": False, "namespace": "123", "connectors": [{"name": "a"}]}


def test_defaults() -> None:
    result = settings([{"name": "gh", "solution": "github", "github": {"organization": "acme"},
                        "credentials": {"token": "t"}}])
    assert (result.gateway, result.namespace, result.create_namespace) == (
        "kyma-system/kyma-gateway", "kyma-connectors", True)
    assert (result.gateway_image, result.registrar_image) == (DEFAULT_IMAGES["gateway"], DEFAULT_IMAGES["registrar"])
    assert result.kyma_contract is KymaContract.MODULAR
    assert result.publisher_url == PUBLISHER_URLS["modular"]
    assert result.registry_url is None
    connector = result.connectors[0]
    assert connector.api_url == GITHUB_API
    assert connector.display_name == "GitHub (gh)"
    assert connector.gateway_host == "gh-webhook"
    assert connector.events is None
    assert connector.webhook_secret is None
    assert connector.webhook_targets == ("org:acme",)


def test_legacy_contract_defaults() -> None:
    result = settings([{"name": "q", "solution": "qualtrics", "qualtrics": {"datacenter": "fra1"},
                        "credentials": {"token": "t"}}], kymaContract="legacy")
    assert result.legacy
    assert result.publisher_url == PUBLISHER_URLS["legacy"]
    assert result.registry_url == LEGACY_REGISTRY_URL
    assert result.connectors[0].api_url == "https://fra1.qualtrics.com/API/v3"
    assert result.connectors[0].webhook_targets == ("",)


def test_every_secret_field_is_wrapped_and_digit_values_become_text() -> None:
    """`pulumi config set --path` turns digits into numbers; secrets and ids come back as (secret) strings."""
    result = settings([{
        "name": "gh", "solution": "github", "apiUrl": "https://ghe.example.com/api/v3/",
        "github": {"repositories": ["acme/widgets"]}, "webhookSecret": 123456, "previousWebhookSecret": "old",
        "credentials": {"app": {"appId": 42, "installationId": "7", "privateKey": "PEM"},
                        "api": {"type": "OAuth", "clientId": "id", "clientSecret": "cs",
                                "tokenUrl": "https://ghe.example.com/token"},
                        "requestParameters": {"headers": {"X-Key": ["k"]}}},
    }])
    connector = result.connectors[0]
    assert connector.api_url == "https://ghe.example.com/api/v3"
    assert connector.webhook_secret == Hidden("123456")
    assert connector.previous_webhook_secret == Hidden("old")
    assert connector.app is not None
    assert (connector.app.app_id, connector.app.installation_id) == ("42", "7")
    assert connector.app.private_key == Hidden("PEM")
    assert connector.api_credentials is not None
    assert connector.api_credentials.client_secret == Hidden("cs")
    assert connector.api_credentials.token_url == "https://ghe.example.com/token"
    assert connector.request_parameters is not None
    assert connector.request_parameters.headers == Hidden({"X-Key": ["k"]})
    assert connector.token is None


def test_generic_settings_become_gateway_environment() -> None:
    result = settings([{"name": "hooks", "solution": "generic",
                        "generic": {"auth": "hmac", "signatureHeader": "X-Sig", "signaturePrefix": ""}}])
    assert dict(result.connectors[0].generic_env) == {
        "GATEWAY_GENERIC_AUTH": "hmac", "GATEWAY_GENERIC_SIGNATURE_HEADER": "X-Sig",
        "GATEWAY_GENERIC_SIGNATURE_PREFIX": ""}
    assert result.connectors[0].webhook_targets == ()
    assert result.connectors[0].api_url is None


def test_publisher_limit_oversize_and_scraper() -> None:
    """Defaults follow Kyma (65,536 bytes, the telemetry metric agent); ``enabled: false`` admits none."""
    github = [{"name": "gh", "solution": "github", "github": {"organization": "acme"}, "credentials": {"token": "t"}}]
    default = settings(github)
    assert (default.publisher_max_bytes, default.oversize) == (65536, "trim")
    assert default.metrics_scraper == ("kyma-system", (("telemetry.kyma-project.io/metric-scrape", "true"),))
    custom = settings(github, publisherMaxBytes=131072, oversize="refuse",
                      metricsScraper={"namespace": "monitoring", "podLabels": {"app": "prometheus"}})
    assert (custom.publisher_max_bytes, custom.oversize) == (131072, "refuse")
    assert custom.metrics_scraper == ("monitoring", (("app", "prometheus"),))
    assert settings(github, metricsScraper={"enabled": False}).metrics_scraper is None
