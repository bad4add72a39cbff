"""How Kyma eventing routes a connector's events: the source a Subscription names, and how backends clean names.

Why one module: the program writes Subscriptions, the hook reconciler decides which Subscriptions are "ours", and
both must agree with what Kyma really does, or a Subscription silently receives nothing. The rules, as read in
Kyma's code (read, not copied):

* The publisher proxy replaces an event's ``source`` with the Application's ``application-type`` label when the
  Application exists and carries it, else keeps the Application name (eventing-publisher-proxy
  ``pkg/cloudevents/builder/generic.go`` ``GetAppNameOrSource``; ``pkg/application/clean.go`` ``GetTypeOrName``),
  cleans source and type with the backend's cleaner and routes to ``<prefix>.<cleanSource>.<cleanType>``
  (``getFinalSubject``; the NATS prefix is ``kyma``, ``pkg/env/nats_config.go`` ``JetStreamSubjectPrefix``).
* eventing-manager listens, for a Subscription, on ``kyma.<cleanSource>.<cleanType>`` with ``typeMatching:
  standard`` and on ``kyma.<type>`` with ``exact`` (``pkg/backend/jetstream/jetstream.go`` ``GetJetStreamSubject``;
  types are cleaned unless exact, ``pkg/backend/jetstream/utils.go`` ``GetCleanEventTypes``).
* Cleaners (``pkg/backend/cleaner``): JetStream drops whitespace and ``. > * / \\`` from a source and the same but
  ``.`` from a type (``jetstream.go``); EventMesh keeps only alphanumerics in a source and ``[a-zA-Z0-9.]`` in a type
  after merging it to three segments (``eventmesh.go`` ``getMergedSegments``).
* Subscription validation (``internal/controller/eventing/subscription/validator/spec.go``): at least two type
  segments, no duplicates, no ``sap.kyma.custom`` prefix with ``standard``, a source unless ``exact``; the sink
  must be ``http(s)://<service>.<namespace>.svc.cluster.local`` in the Subscription's own namespace.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

NATS_PREFIX: Final[str] = "kyma"
LEGACY_TYPE_PREFIX: Final[str] = "sap.kyma.custom"
"""Types with this prefix are refused with ``standard`` matching (validator ``validPrefix``)."""
CLUSTER_LOCAL: Final[str] = "svc.cluster.local"

_JS_SOURCE: Final[re.Pattern[str]] = re.compile(r"[\s.>*/\\]")
_JS_TYPE: Final[re.Pattern[str]] = re.compile(r"[\s>*/\\]")
_EM_SOURCE: Final[re.Pattern[str]] = re.compile(r"[^a-zA-Z0-9]")
_EM_TYPE: Final[re.Pattern[str]] = re.compile(r"[^a-zA-Z0-9.]")


class Backend(StrEnum):
    """The eventing backend of the cluster: it decides how names are cleaned."""

    NATS = "nats"
    EVENTMESH = "eventmesh"


class TypeMatching(StrEnum):
    """``spec.typeMatching`` of a Subscription."""

    STANDARD = "standard"
    EXACT = "exact"


def clean_source(source: str, backend: Backend = Backend.NATS) -> str:
    """A source as the backend routes it (NATS keeps ``-``; EventMesh keeps alphanumerics only)."""
    pattern = _JS_SOURCE if backend is Backend.NATS else _EM_SOURCE
    return pattern.sub("", source)


def clean_type(event_type: str, backend: Backend = Backend.NATS) -> str:
    """An event type as the backend routes it."""
    if backend is Backend.NATS:
        return _JS_TYPE.sub("", event_type)
    segments = event_type.split(".")
    if len(segments) > 3:
        segments = ["".join(segments[:-2]), *segments[-2:]]
    return _EM_TYPE.sub("", ".".join(segments))


def exact_type(source: str, event_type: str) -> str:
    """What an ``exact`` Subscription must name on NATS to receive ``event_type`` from ``source``.

    The publisher routes to ``kyma.<cleanSource>.<cleanType>`` and an exact Subscription listens on ``kyma.<type>``.
    """
    return f"{clean_source(source)}.{clean_type(event_type)}"


def routes_to(source: str, published: str, subscribed: str, matching: TypeMatching, event_type: str,
              backend: Backend = Backend.NATS) -> bool:
    """Does a Subscription (``subscribed`` source, one type ``event_type``) receive ``published`` from ``source``?

    ``source`` is what the publisher uses for the connector (:func:`publisher_source`).
    """
    if matching is TypeMatching.EXACT:
        return backend is Backend.NATS and event_type == exact_type(source, published)
    return (clean_source(subscribed, backend) == clean_source(source, backend)
            and clean_type(event_type, backend) == clean_type(published, backend))


def publisher_source(application: str, type_label: str | None) -> str:
    """The source the publisher proxy uses for an Application: its ``application-type`` label, else its name.

    This is the one ``source`` a Subscription names to receive the connector's events on every backend.
    """
    return type_label or application


def type_problem(event_type: str, matching: TypeMatching) -> str | None:
    """Why eventing-manager would refuse ``event_type`` in a Subscription, or None."""
    if len(event_type.split(".")) < 2 or any(not part for part in event_type.split(".")):
        return "needs at least two non-empty dot-separated segments"
    if matching is TypeMatching.STANDARD and event_type.startswith(LEGACY_TYPE_PREFIX):
        return f'must not start with "{LEGACY_TYPE_PREFIX}" with typeMatching standard'
    return None


def sink_problem(sink: str, namespace: str) -> str | None:
    """Why eventing-manager would refuse ``sink`` for a Subscription in ``namespace``, or None."""
    parts = urlsplit(sink)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f'expected http(s)://<service>.{namespace}.{CLUSTER_LOCAL}[:port][/path], got "{sink}"'
    host = parts.hostname
    labels = host.split(".")
    if not host.endswith(CLUSTER_LOCAL) or len(labels) != 5:
        return f'expected a cluster-local URL http(s)://<service>.{namespace}.{CLUSTER_LOCAL}, got "{sink}"'
    if labels[1] != namespace:
        return f'the sink\'s service must be in the Subscription\'s namespace "{namespace}", got "{labels[1]}"'
    return None
