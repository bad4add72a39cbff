"""The program's typed components, one per module, re-exported here (the public surface; private helpers are ``_*``).

``Connector`` stacks the other five for one external solution instance; see each module's docstring for why it is
shaped the way it is.
"""

from components.connector import Connector, ConnectorArgs, build_manifest
from components.connector_secrets import ConnectorSecrets, ConnectorSecretsArgs
from components.event_gateway import EventGateway, EventGatewayArgs
from components.kyma_application import KymaApplication, KymaApplicationArgs
from components.registration_job import RegistrationJob, RegistrationJobArgs
from components.webhook_registration import WebhookRegistration, WebhookRegistrationArgs

__all__ = [
    "Connector",
    "ConnectorArgs",
    "ConnectorSecrets",
    "ConnectorSecretsArgs",
    "EventGateway",
    "EventGatewayArgs",
    "KymaApplication",
    "KymaApplicationArgs",
    "RegistrationJob",
    "RegistrationJobArgs",
    "WebhookRegistration",
    "WebhookRegistrationArgs",
    "build_manifest",
]
