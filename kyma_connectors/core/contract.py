"""What the Pulumi program and the services it deploys must agree on: variable names, mount paths, ports, exit codes.

Why one module: the program writes a pod's environment and volumes (``components/``), the service reads them
(``kyma_connectors.gateway.settings``, ``kyma_connectors.registrar.settings``,
``kyma_connectors.reconciler.settings``). Both sides import these names, so a
rename is one edit and a typo is an import error instead of a pod that starts with a default nobody chose.
"""

from __future__ import annotations

from typing import Final

# --- the event gateway ------------------------------------------------------------------------------------------
GATEWAY_PREFIX: Final[str] = "GATEWAY_"
"""Every gateway variable starts with it; the component refuses user-supplied ``env`` that collides with ours."""
GATEWAY_SOLUTION: Final[str] = "GATEWAY_SOLUTION"
GATEWAY_APPLICATION: Final[str] = "GATEWAY_APPLICATION"
GATEWAY_WEBHOOK_SECRETS: Final[str] = "GATEWAY_WEBHOOK_SECRETS"
"""Comma-separated accepted webhook secrets (two during a rotation); from a Secret, never a literal."""
GATEWAY_PUBLISHER_URL: Final[str] = "GATEWAY_PUBLISHER_URL"
GATEWAY_SPOOL_DIR: Final[str] = "GATEWAY_SPOOL_DIR"
GATEWAY_SPOOL_MAX_BYTES: Final[str] = "GATEWAY_SPOOL_MAX_BYTES"
GATEWAY_PORT: Final[str] = "GATEWAY_PORT"
GATEWAY_CATALOG: Final[str] = "GATEWAY_CATALOG"
GATEWAY_LEGACY_EVENTS: Final[str] = "GATEWAY_LEGACY_EVENTS"
GATEWAY_SHUTDOWN_GRACE_SECONDS: Final[str] = "GATEWAY_SHUTDOWN_GRACE_SECONDS"
GATEWAY_UNKNOWN_EVENTS: Final[str] = "GATEWAY_UNKNOWN_EVENTS"
"""What the gateway does with uncatalogued events; set from ``connectors[i].gateway.unknownEvents`` when given."""
GATEWAY_PUBLISH_MAX_BYTES: Final[str] = "GATEWAY_PUBLISH_MAX_BYTES"
"""Body bytes the eventing publisher proxy takes per request (its ``--max-request-size``)."""
GATEWAY_OVERSIZE: Final[str] = "GATEWAY_OVERSIZE"
"""``trim`` | ``refuse``: an event over ``GATEWAY_PUBLISH_MAX_BYTES``, decided on receipt."""
GATEWAY_WRITTEN_BY_PROGRAM: Final[frozenset[str]] = frozenset({
    GATEWAY_SOLUTION, GATEWAY_APPLICATION, GATEWAY_WEBHOOK_SECRETS, GATEWAY_PUBLISHER_URL, GATEWAY_SPOOL_DIR,
    GATEWAY_SPOOL_MAX_BYTES, GATEWAY_PORT, GATEWAY_CATALOG, GATEWAY_LEGACY_EVENTS, GATEWAY_SHUTDOWN_GRACE_SECONDS,
    GATEWAY_PUBLISH_MAX_BYTES, GATEWAY_OVERSIZE,
})
"""The variables the EventGateway component sets itself (a user's ``env`` may not override them)."""

GATEWAY_SPOOL_MOUNT: Final[str] = "/var/spool/event-gateway"
"""The spool volume (the image's only writable path)."""
GATEWAY_CATALOG_MOUNT: Final[str] = "/etc/event-gateway/catalog"
"""Where a custom AsyncAPI catalog ConfigMap is mounted."""
GATEWAY_HTTP_PORT: Final[int] = 8080
"""Webhooks, probes and metrics."""
PUBLISHER_MAX_REQUEST_BYTES: Final[int] = 65536
"""Kyma's eventing publisher proxy's default ``--max-request-size`` (eventing-publisher-proxy pkg/options/options.go
``maxRequestSize``), which eventing-manager does not change (pkg/eventing/deployment.go ``WithContainers``)."""

# --- the registrar (the registration Job) -----------------------------------------------------------------------
REGISTRAR_PREFIX: Final[str] = "REGISTRAR_"
REGISTRAR_BACKEND: Final[str] = "REGISTRAR_BACKEND"
REGISTRAR_APPLICATION: Final[str] = "REGISTRAR_APPLICATION"
REGISTRAR_SPECS_DIR: Final[str] = "REGISTRAR_SPECS_DIR"
REGISTRAR_REGISTRY_URL: Final[str] = "REGISTRAR_REGISTRY_URL"
REGISTRAR_CREDENTIALS_DIR: Final[str] = "REGISTRAR_CREDENTIALS_DIR"
REGISTRAR_WAIT_SECONDS: Final[str] = "REGISTRAR_WAIT_SECONDS"
REGISTRAR_REQUEST_TIMEOUT: Final[str] = "REGISTRAR_REQUEST_TIMEOUT"
REGISTRAR_WEBHOOK_HOST: Final[str] = "REGISTRAR_WEBHOOK_HOST"
"""The webhook URL's host the program registers with the solution; checked against the Istio Gateway."""
REGISTRAR_ISTIO_GATEWAY: Final[str] = "REGISTRAR_ISTIO_GATEWAY"
"""``namespace/name`` of the Istio Gateway the APIRule binds to."""

REGISTRAR_SPECS_MOUNT: Final[str] = "/etc/registrar/specs"
"""The specs ConfigMap: ``registration.yaml`` and the spec files it names."""
REGISTRAR_CREDENTIALS_MOUNT: Final[str] = "/etc/registrar/credentials"
"""Kyma 1.x only: credential Secrets, one directory per Secret name."""

EXIT_OK: Final[int] = 0
EXIT_PERMANENT: Final[int] = 2
"""Bad manifest, spec or settings, or a 4xx: the Job's podFailurePolicy fails the Job at once (no retry helps)."""
EXIT_TRANSIENT: Final[int] = 75
"""sysexits.h ``EX_TEMPFAIL``: the API was away or overloaded; the Job's backoffLimit retries."""

# --- the hook reconciler (events: subscribed) -------------------------------------------------------------------
RECONCILER_PREFIX: Final[str] = "RECONCILER_"
RECONCILER_APPLICATION: Final[str] = "RECONCILER_APPLICATION"
RECONCILER_SOLUTION: Final[str] = "RECONCILER_SOLUTION"
RECONCILER_SOURCE: Final[str] = "RECONCILER_SOURCE"
"""The source the publisher proxy uses for the connector's events: what a Subscription must name."""
RECONCILER_API_URL: Final[str] = "RECONCILER_API_URL"
RECONCILER_TARGETS: Final[str] = "RECONCILER_TARGETS"
"""GitHub ``owner/repo`` and ``org:NAME``, comma-separated (unused for Qualtrics)."""
RECONCILER_WEBHOOK_URL: Final[str] = "RECONCILER_WEBHOOK_URL"
RECONCILER_BACKEND: Final[str] = "RECONCILER_BACKEND"
RECONCILER_NAMESPACE: Final[str] = "RECONCILER_NAMESPACE"
RECONCILER_STATUS_CONFIGMAP: Final[str] = "RECONCILER_STATUS_CONFIGMAP"
RECONCILER_CREDENTIALS_DIR: Final[str] = "RECONCILER_CREDENTIALS_DIR"
RECONCILER_PORT: Final[str] = "RECONCILER_PORT"

RECONCILER_CREDENTIALS_MOUNT: Final[str] = "/var/run/kyma-connectors/credentials"
"""The credentials, as files of a projected volume; the file names are the keys below."""
RECONCILER_TOKEN_KEY: Final[str] = "token"  # noqa: S105 -- a file name, not a secret
RECONCILER_APP_ID_KEY: Final[str] = "app-id"
RECONCILER_INSTALLATION_ID_KEY: Final[str] = "installation-id"
RECONCILER_PRIVATE_KEY_KEY: Final[str] = "private-key"
RECONCILER_WEBHOOK_SECRET_KEY: Final[str] = "webhook-secret"  # noqa: S105 -- a file name
"""Qualtrics only: each subscription is created with the webhook secret as its shared key."""
RECONCILER_HTTP_PORT: Final[int] = 8080
"""``/healthz``, ``/readyz`` and ``/metrics``."""
