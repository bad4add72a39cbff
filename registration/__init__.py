"""What a connector registers with Kyma: the registration manifest and the Application services built from it.

Shared by the Pulumi program (which writes the manifest and sets ``spec.services``) and the registrar (which reads the
manifest inside the cluster). See :mod:`registration.manifest` for the document and :mod:`registration.services` for
the mapping to the Application CR.
"""

from registration.manifest import (
    API_TYPES,
    API_VERSION,
    CREDENTIAL_TYPES,
    FILE_NAME,
    KIND,
    ApiDefinition,
    Credentials,
    EventsDefinition,
    Manifest,
    ManifestError,
    ServiceDefinition,
    parse_manifest,
    service_id,
)
from registration.services import CENTRAL_GATEWAY, build_services, gateway_url, normalize_service_name

__all__ = [
    "API_TYPES",
    "API_VERSION",
    "CENTRAL_GATEWAY",
    "CREDENTIAL_TYPES",
    "FILE_NAME",
    "KIND",
    "ApiDefinition",
    "Credentials",
    "EventsDefinition",
    "Manifest",
    "ManifestError",
    "ServiceDefinition",
    "build_services",
    "gateway_url",
    "normalize_service_name",
    "parse_manifest",
    "service_id",
]
