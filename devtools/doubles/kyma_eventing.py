"""Kyma eventing's naming rules: which backend subject an event is published on, and which one a Subscription hears.

Why a module of its own: the publisher double applies the publish side, tests apply the Subscription side, and an
event reaches a Subscription's sink only when both give the same subject. Every rule names the Kyma source it follows
(read, not copied; commits in docs/kyma-contracts.md):
EPP = kyma-project/eventing-publisher-proxy, EM = kyma-project/eventing-manager.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final


class Backend(Enum):
    """The eventing backend of the Eventing CR (EM api/operator/v1alpha1/eventing_types.go ``BackendType``)."""

    NATS = "nats"
    EVENT_MESH = "eventmesh"


JETSTREAM_PREFIX: Final[str] = "kyma"
"""EPP pkg/env/nats_config.go ``JetStreamSubjectPrefix``; EM's stream subjects are ``kyma.>`` (EM
pkg/backend/jetstream/utils.go ``getStreamConfig``)."""
DEFAULT_EVENT_TYPE_PREFIX: Final[str] = "sap.kyma.custom"
"""Eventing CR ``spec.backend.config.eventTypePrefix`` default (EM api/operator/v1alpha1/eventing_types.go), passed to
the proxy as ``EVENT_TYPE_PREFIX`` (EM pkg/eventing/deployment.go ``getNATSEnvVars``/``getEventMeshEnvVars``)."""
TYPE_LABEL: Final[str] = "application-type"
"""EPP pkg/application/clean.go ``TypeLabel``."""
MAX_EVENTMESH_SEGMENTS: Final[int] = 7
"""EM pkg/backend/eventmesh/eventmesh.go ``eventTypeSegmentsLimit``."""

_JS_SOURCE_DROP: Final[re.Pattern[str]] = re.compile(r"[\s.>*/\\]")
_JS_TYPE_DROP: Final[re.Pattern[str]] = re.compile(r"[\s>*/\\]")
_EM_SOURCE_DROP: Final[re.Pattern[str]] = re.compile(r"[^a-zA-Z0-9]")
_EM_TYPE_DROP: Final[re.Pattern[str]] = re.compile(r"[^a-zA-Z0-9.]")


class NamingError(ValueError):
    """An event the proxy refuses with 400 (EPP pkg/cloudevents/builder/generic.go ``Build``)."""


def clean_source(backend: Backend, source: str) -> str:
    """EM pkg/backend/cleaner/jetstream.go ``CleanSource`` (drops whitespace and ``.>*/\\``, keeps ``-`` ``_``) or
    pkg/backend/cleaner/eventmesh.go ``CleanSource`` (keeps ``[a-zA-Z0-9]`` only)."""
    pattern = _JS_SOURCE_DROP if backend is Backend.NATS else _EM_SOURCE_DROP
    return pattern.sub("", source)


def clean_type(backend: Backend, event_type: str) -> str:
    """EM pkg/backend/cleaner/jetstream.go ``CleanEventType`` (drops whitespace and ``>*/\\``) or
    pkg/backend/cleaner/eventmesh.go ``CleanEventType``: more than three segments are merged into three
    (``getMergedSegments``: the first n-2 concatenated), then everything but ``[a-zA-Z0-9.]`` goes."""
    if backend is Backend.NATS:
        return _JS_TYPE_DROP.sub("", event_type)
    segments = event_type.split(".")
    if len(segments) > 3:
        event_type = ".".join(("".join(segments[:-2]), segments[-2], segments[-1]))
    return _EM_TYPE_DROP.sub("", event_type)


def type_or_name(application: Mapping[str, object] | None, source: str) -> str:
    """EPP pkg/cloudevents/builder/generic.go ``GetAppNameOrSource``: when an Application named ``source`` exists,
    its ``application-type`` label (key compared lower-cased, value unchanged) or else its name
    (pkg/application/clean.go ``GetTypeOrName``); without one, the source as sent."""
    if application is None:
        return source
    metadata = application.get("metadata")
    if not isinstance(metadata, Mapping):
        return source
    labels = metadata.get("labels")
    if isinstance(labels, Mapping):
        for key, value in labels.items():
            if str(key).lower() == TYPE_LABEL:
                return str(value)
    return str(metadata.get("name", source))


@dataclass(frozen=True, kw_only=True)
class Eventing:
    """One cluster's eventing configuration (what the Eventing CR gives the proxy)."""

    backend: Backend = Backend.NATS
    event_type_prefix: str = DEFAULT_EVENT_TYPE_PREFIX
    eventmesh_namespace: str = "/default/sap.kyma/tunas-prod"
    """``BEB_NAMESPACE``: the source EventMesh events carry (EPP pkg/cloudevents/builder/eventmesh.go ``Build``)."""

    @property
    def prefix(self) -> str:
        """Subject prefix: ``kyma`` on NATS (EPP pkg/commander/nats/nats.go builds with ``JetStreamSubjectPrefix``),
        the event type prefix on EventMesh (pkg/commander/eventmesh/eventmesh.go ``NewEventMeshBuilder``)."""
        return JETSTREAM_PREFIX if self.backend is Backend.NATS else self.event_type_prefix

    def published_subject(self, source: str, event_type: str, application: Mapping[str, object] | None) -> str:
        """Where the proxy puts a v1alpha2 event (EPP pkg/cloudevents/builder/generic.go ``Build`` and
        ``getFinalSubject``; the NATS subject is that type: EPP pkg/sender/jetstream/jetstream.go ``eventToNATSMsg``).
        Raises :class:`NamingError` for an empty segment, which the proxy answers with 400."""
        subject = ".".join(
            (self.prefix, clean_source(self.backend, type_or_name(application, source)),
             clean_type(self.backend, event_type))
        )
        if any(not segment for segment in subject.split(".")):
            raise NamingError(f"event type cannot have empty segments after cleaning: {subject}")
        return subject

    def subscription_subject(self, source: str, event_type: str, *, exact: bool = False) -> str:
        """What a Subscription with ``spec.source``/one of ``spec.types`` listens on: EM
        pkg/backend/jetstream/jetstream.go ``GetJetStreamSubject`` (type cleaned by utils.go ``GetCleanEventTypes``)
        or pkg/backend/eventmesh/eventmesh.go ``getProcessedEventTypes`` + utils.go ``getEventMeshSubject``.
        ``typeMatching: exact`` takes the type as written (NATS: behind the ``kyma.`` prefix)."""
        if exact:
            return f"{JETSTREAM_PREFIX}.{event_type}" if self.backend is Backend.NATS else event_type
        subject = ".".join((self.prefix, clean_source(self.backend, source), clean_type(self.backend, event_type)))
        if self.backend is Backend.EVENT_MESH and len(subject.split(".")) > MAX_EVENTMESH_SEGMENTS:
            raise NamingError(f"EventMesh subject exceeds {MAX_EVENTMESH_SEGMENTS} segments: {subject}")
        return subject

    def delivered_source(self, source: str) -> str:
        """The ``source`` the sink sees: unchanged on NATS (the generic builder only rewrites the type), the EventMesh
        namespace on EventMesh (EPP pkg/cloudevents/builder/eventmesh.go ``Build``)."""
        return source if self.backend is Backend.NATS else self.eventmesh_namespace
