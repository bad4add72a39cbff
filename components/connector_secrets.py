"""ConnectorSecrets: the Kubernetes Secrets a connector needs, shaped exactly as their readers expect.

Two readers, two places:

- the Central Application Gateway reads API credentials from ``kyma-system`` (it runs with
  ``--applicationSecretsNamespace=kyma-system``): Basic as ``username``/``password``, OAuth as
  ``clientId``/``clientSecret``, and request parameters in a separate Secret whose ``headers`` and ``queryParameters``
  keys are JSON ``{"name": ["value"]}`` maps (../shared/docs/kyma-contracts.md (a));
- the event gateway reads the webhook secret(s) from the connector's namespace through a ``secretKeyRef``
  (``GATEWAY_WEBHOOK_SECRETS``, comma-separated so a rotation can accept two).

The webhook secret comes from config or, when absent, from pulumi-random: generated once, kept in (encrypted)
state, stable across runs. Rotation must not drop a delivery (GitHub never retries), so:

- the webhook Secret is auto-named (``<connector>-secrets-webhook-<suffix>``): a new value creates a new Secret before
  the old one is deleted, and the gateway Deployment picks it up by a rolling update. A fixed name would force
  pulumi-kubernetes to replace the Secret delete-first -- and the engine to replace the Deployment delete-first with
  it, taking the receiver down;
- ``previous_webhook_secret`` keeps the old value accepted next to the new one while the solution's hook switches
  over (two-phase rotation, documented in docs/configuration.md).

Every value goes into ``string_data`` as a secret Output -- the Kubernetes provider keeps ``data``/``stringData``
secret in state -- and never into a name, a label or a log line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components._naming import child, labels, token
from components._options import child_options
from kyma_connectors.program.settings import ApiCredentials, RequestParameters

API_SECRETS_NAMESPACE: Final[str] = "kyma-system"
"""Where the Central Application Gateway looks up credential Secrets."""
WEBHOOK_SECRET_KEY: Final[str] = "secrets"  # noqa: S105 -- a key name, not a secret
"""Key of the webhook Secret: comma-separated accepted secrets (the gateway's ``GATEWAY_WEBHOOK_SECRETS``)."""
GENERATED_LENGTH: Final[int] = 40
"""Generated webhook secrets: 40 alphanumerics, about 238 bits, no characters a sender could mangle."""


def api_secret_name(application: str) -> str:
    """Name of the API credentials Secret in ``kyma-system``; the Application's ``credentials.secretName``."""
    return f"{application}-api-credentials"


def request_parameters_secret_name(application: str) -> str:
    """Name of the request-parameters Secret; the Application's ``requestParametersSecretName``."""
    return f"{application}-api-parameters"


@dataclass(frozen=True, kw_only=True)
class ConnectorSecretsArgs:
    """Inputs of :class:`ConnectorSecrets`."""

    application: str
    """Kyma Application name: prefix of the Secrets' Kubernetes names."""
    namespace: str
    """The connector's namespace, where the event gateway runs and reads the webhook secret."""
    api_credentials: ApiCredentials | None = None
    """Credentials the Central Application Gateway uses for the solution's API; None: no credentials Secret."""
    request_parameters: RequestParameters | None = None
    """Headers / query parameters for every API call; None: no parameters Secret."""
    webhook_secret: pulumi.Input[str] | None = None
    """The webhook signing secret; None generates one with pulumi-random."""
    previous_webhook_secret: pulumi.Input[str] | None = None
    """During a rotation: the secret being replaced, still accepted by the gateway (never sent to the solution)."""
    api_namespace: str = API_SECRETS_NAMESPACE
    """Namespace of the API Secrets; change it only together with the gateway's ``applicationSecretsNamespace``."""

    def __post_init__(self) -> None:
        creds = self.api_credentials
        if creds is None:
            return
        needed = {"Basic": ("username", "password"), "OAuth": ("client_id", "client_secret")}.get(creds.type)
        if needed is None:
            raise ValueError(f"api_credentials.type: expected Basic or OAuth, got {creds.type!r}")
        missing = [field for field in needed if getattr(creds, field) is None]
        if missing:
            raise ValueError(f"api_credentials: {creds.type} needs {', '.join(missing)}")


def _api_string_data(creds: ApiCredentials) -> dict[str, Any]:
    """The keys the Central Application Gateway reads for the credential type (serviceapiservice.go constants)."""
    if creds.type == "Basic":
        return {"username": creds.username, "password": creds.password}
    return {"clientId": creds.client_id, "clientSecret": creds.client_secret}


def _as_json(value: pulumi.Output[Any] | None) -> pulumi.Output[str]:
    """A ``{"name": ["value"]}`` map as the JSON text the gateway parses; secret because the input is."""
    return pulumi.Output.secret(pulumi.Output.from_input(value or {}).apply(lambda v: json.dumps(v, sort_keys=True)))


class ConnectorSecrets(pulumi.ComponentResource):
    """API credential Secrets in ``kyma-system`` and the webhook Secret in the connector's namespace."""

    api_secret_name: pulumi.Output[str] | None
    """Kubernetes name of the API credentials Secret, or None when the API needs none."""
    request_parameters_secret_name: pulumi.Output[str] | None
    webhook_secret_name: pulumi.Output[str]
    """Kubernetes name of the webhook Secret (key :data:`WEBHOOK_SECRET_KEY`)."""
    webhook_secret: pulumi.Output[str]
    """The webhook secret itself (secret Output): the WebhookRegistration hands it to the solution."""

    def __init__(self, name: str, args: ConnectorSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(token("ConnectorSecrets"), name, None, opts)
        child_opts = child_options(self, opts)
        app = args.application

        self.api_secret_name = None
        if args.api_credentials is not None:
            self.api_secret_name = self._secret(
                child(name, "api"), api_secret_name(app), args.api_namespace, app,
                _api_string_data(args.api_credentials), child_opts,
            )
        self.request_parameters_secret_name = None
        if args.request_parameters is not None:
            params = args.request_parameters
            self.request_parameters_secret_name = self._secret(
                child(name, "api-parameters"), request_parameters_secret_name(app), args.api_namespace, app,
                {"headers": _as_json(params.headers), "queryParameters": _as_json(params.query_parameters)},
                child_opts,
            )

        if args.webhook_secret is None:
            generated = random.RandomPassword(child(name, "webhook-secret"), length=GENERATED_LENGTH, special=False,
                                              opts=child_opts)
            secret_value = generated.result
        else:
            secret_value = pulumi.Output.from_input(args.webhook_secret)
        self.webhook_secret = pulumi.Output.secret(secret_value)
        accepted = self.webhook_secret
        if args.previous_webhook_secret is not None:
            accepted = pulumi.Output.all(self.webhook_secret, args.previous_webhook_secret).apply(
                lambda pair: f"{pair[0]},{pair[1]}")
        self.webhook_secret_name = self._secret(
            child(name, "webhook"), None, args.namespace, app, {WEBHOOK_SECRET_KEY: accepted}, child_opts,
        )
        self.register_outputs({
            "api_secret_name": self.api_secret_name,
            "request_parameters_secret_name": self.request_parameters_secret_name,
            "webhook_secret_name": self.webhook_secret_name,
            "webhook_secret": self.webhook_secret,
        })

    @staticmethod
    def _secret(logical: str, k8s_name: str | None, namespace: str, application: str, data: dict[str, Any],
                opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """A Secret named ``k8s_name``, or auto-named by pulumi-kubernetes (replaced create-first) when None."""
        secret = k8s.core.v1.Secret(
            logical,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=k8s_name, namespace=namespace,
                                                labels=labels(application, "connector-secrets")),
            type="Opaque",
            string_data={key: pulumi.Output.secret(value) for key, value in data.items()},
            opts=opts,
        )
        return secret.metadata.apply(lambda m: str(m["name"]))
