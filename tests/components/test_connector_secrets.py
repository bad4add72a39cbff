"""ConnectorSecrets: Secrets shaped as the Central Application Gateway and the event gateway read them, all secret."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components import ConnectorSecrets, ConnectorSecretsArgs
from components.connector_secrets import GENERATED_LENGTH, WEBHOOK_SECRET_KEY
from config import ApiCredentials, RequestParameters

pytestmark = pytest.mark.timeout(30)
SECRET = "kubernetes:core/v1:Secret"


def secret(value: Any) -> pulumi.Output[Any]:
    return pulumi.Output.secret(value)


def by_name(stack: Any) -> dict[str, Any]:
    return {r.k8s_name: r for r in stack.of_type(SECRET)}


def test_basic_credentials_and_request_parameters(mock_stack: Any) -> None:
    """Basic -> username/password; parameters -> JSON maps; both in kyma-system, values secret."""
    stack = mock_stack()
    stack.run(lambda: ConnectorSecrets("acme-secrets", ConnectorSecretsArgs(
        application="acme", namespace="connectors",
        api_credentials=ApiCredentials(type="Basic", username=secret("bot"), password=secret("pw")),
        request_parameters=RequestParameters(headers=secret({"X-Key": ["k1"]})),
        webhook_secret="given",
    )))
    secrets = by_name(stack)
    api, params, webhook = secrets["acme-api-credentials"], secrets["acme-api-parameters"], secrets["acme-webhook"]
    assert (api.k8s_namespace, params.k8s_namespace, webhook.k8s_namespace) == ("kyma-system", "kyma-system",
                                                                                 "connectors")
    assert api.inputs["stringData"] == {"username": "bot", "password": "pw"}
    assert json.loads(params.inputs["stringData"]["headers"]) == {"X-Key": ["k1"]}
    assert json.loads(params.inputs["stringData"]["queryParameters"]) == {}
    assert webhook.inputs["stringData"] == {WEBHOOK_SECRET_KEY: "given"}
    for registration in secrets.values():
        assert registration.is_secret("stringData")
        assert registration.parent_type == "kyma-connectors:index:ConnectorSecrets"
    assert stack.of_type("random:index/randomPassword:RandomPassword") == []


def test_oauth_credentials(mock_stack: Any) -> None:
    stack = mock_stack()
    stack.run(lambda: ConnectorSecrets("acme-secrets", ConnectorSecretsArgs(
        application="acme", namespace="connectors",
        api_credentials=ApiCredentials(type="OAuth", client_id=secret("id"), client_secret=secret("cs"),
                                       token_url="https://auth.example/token"),
    )))
    assert by_name(stack)["acme-api-credentials"].inputs["stringData"] == {"clientId": "id", "clientSecret": "cs"}


def test_generated_webhook_secret_is_random_and_secret(mock_stack: Any) -> None:
    """Without a configured secret: pulumi-random (40 alphanumerics); the output and the Secret value are secret."""
    stack = mock_stack()
    component = stack.run(lambda: ConnectorSecrets("acme-secrets", ConnectorSecretsArgs(
        application="acme", namespace="connectors")))
    password = stack.one("random:index/randomPassword:RandomPassword", "acme-secrets-webhook-secret")
    assert password.inputs["length"] == GENERATED_LENGTH
    assert password.inputs["special"] is False
    assert stack.is_secret(component.webhook_secret)
    value = stack.resolve(component.webhook_secret)
    assert value == password.outputs["result"]
    webhook = by_name(stack)["acme-webhook"]
    assert webhook.inputs["stringData"] == {WEBHOOK_SECRET_KEY: value}
    assert webhook.depends_on(password)
    assert value not in json.dumps(webhook.metadata)
    assert set(by_name(stack)) == {"acme-webhook"}
    assert stack.resolve(component.webhook_secret_name) == "acme-webhook"
    assert component.api_secret_name is None


def test_a_plain_configured_secret_still_becomes_secret(mock_stack: Any) -> None:
    stack = mock_stack()
    component = stack.run(lambda: ConnectorSecrets("acme-secrets", ConnectorSecretsArgs(
        application="acme", namespace="connectors", webhook_secret="plain-text")))
    assert stack.is_secret(component.webhook_secret)


@pytest.mark.parametrize(("credentials", "message"), [
    (ApiCredentials(type="Basic", username=None, password=None), "Basic needs username, password"),
    (ApiCredentials(type="Token"), "expected Basic or OAuth"),
])
def test_incomplete_credentials_are_refused(credentials: ApiCredentials, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConnectorSecretsArgs(application="acme", namespace="connectors", api_credentials=credentials)
