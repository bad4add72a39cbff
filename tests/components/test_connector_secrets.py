"""ConnectorSecrets: Secrets shaped as the Central Application Gateway and the event gateway read them, all secret."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components import ConnectorSecrets, ConnectorSecretsArgs
from components.connector_secrets import GENERATED_LENGTH, WEBHOOK_SECRET_KEY
from kyma_connectors.program import ApiCredentials, RequestParameters

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
    api, params = secrets["acme-api-credentials"], secrets["acme-api-parameters"]
    webhook = stack.one(SECRET, "acme-secrets-webhook")
    assert (api.k8s_namespace, params.k8s_namespace, webhook.k8s_namespace) == ("kyma-system", "kyma-system",
                                                                                 "connectors")
    assert api.inputs["stringData"] == {"username": "bot", "password": "pw"}
    assert json.loads(params.inputs["stringData"]["headers"]) == {"X-Key": ["k1"]}
    assert json.loads(params.inputs["stringData"]["queryParameters"]) == {}
    assert webhook.inputs["stringData"] == {WEBHOOK_SECRET_KEY: "given"}
    for registration in [api, params, webhook]:
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
    webhook = stack.one(SECRET, "acme-secrets-webhook")
    assert webhook.inputs["stringData"] == {WEBHOOK_SECRET_KEY: value}
    assert webhook.depends_on(password)
    assert value not in json.dumps(webhook.metadata)
    assert len(stack.of_type(SECRET)) == 1
    assert component.api_secret_name is None


def test_webhook_secret_is_auto_named_so_rotation_replaces_it_create_first(mock_stack: Any) -> None:
    """No fixed name: pulumi-kubernetes creates the new Secret before deleting the old one (a fixed name forces
    delete-first, and the engine would then replace the gateway Deployment delete-first too)."""
    stack = mock_stack()
    component = stack.run(lambda: ConnectorSecrets("acme-secrets", ConnectorSecretsArgs(
        application="acme", namespace="connectors", webhook_secret="s1")))
    webhook = stack.one(SECRET, "acme-secrets-webhook")
    assert "name" not in webhook.inputs["metadata"]
    assert stack.resolve(component.webhook_secret_name).startswith("acme-secrets-webhook-")


def test_previous_secret_stays_accepted_but_is_never_handed_to_the_solution(mock_stack: Any) -> None:
    """Two-phase rotation: the gateway accepts new and previous; the solution only ever gets the new one."""
    stack = mock_stack()
    component = stack.run(lambda: ConnectorSecrets("acme-secrets", ConnectorSecretsArgs(
        application="acme", namespace="connectors", webhook_secret=secret("new"),
        previous_webhook_secret=secret("old"))))
    webhook = stack.one(SECRET, "acme-secrets-webhook")
    assert webhook.inputs["stringData"] == {WEBHOOK_SECRET_KEY: "new,old"}
    assert webhook.is_secret("stringData")
    assert stack.resolve(component.webhook_secret) == "new"
    assert stack.is_secret(component.webhook_secret)


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
