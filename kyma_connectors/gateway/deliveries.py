"""From a verified webhook request to the CloudEvent the gateway publishes: pure functions, no I/O.

The order of checks is deliberate and cheap-first: content type (415), signature over the raw bytes (401), then
parsing (400). Nothing is parsed before the sender has proven it holds a secret. :meth:`Mapper.precheck` runs the
checks that need only the headers before the body is read at all (bearer and basic credentials are verified
there); :meth:`Mapper.body_verifier` gives the HMAC check in a form that is fed while a large body is streamed.

Valid data is RFC 8259 JSON text: UTF-8 without a byte order mark (section 8.1), no ``NaN``/``Infinity`` (section
6), no unpaired UTF-16 surrogate escape (section 8.2: such strings cannot be exchanged reliably, and a CloudEvents
String excludes surrogates). Anything else is refused with a 400 that names the rule.

Mapping (CloudEvents 1.0): ``id`` = the solution's delivery id (``X-GitHub-Delivery`` is stable across GitHub
redeliveries) or a name-based UUID of the delivery's content; ``source`` = the Kyma application; ``type`` = the
catalog's type for (event, action), or for an event or action the catalog does not list the type its naming rule
derives (``catalog.derive_type``; ``GATEWAY_UNKNOWN_EVENTS``); ``data`` = the payload JSON, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs

import orjson

from kyma_connectors.core.catalog import Catalog
from kyma_connectors.gateway.errors import MalformedDeliveryError, UnsupportedMediaTypeError
from kyma_connectors.gateway.records import Event
from kyma_connectors.gateway.settings import GenericAuth, Settings, Solution, UnknownEvents
from kyma_connectors.gateway.verify import (
    StreamingHmacSha256,
    signature_of,
    verify_basic,
    verify_bearer,
    verify_prefixed_hmac_sha256,
    verify_qualtrics_hmac,
)

JSON: Final[str] = "application/json"
FORM: Final[str] = "application/x-www-form-urlencoded"
ID_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[\x21-\x7e]{1,200}$")
"""Delivery ids we take as CloudEvents ids: printable ASCII, no spaces, bounded."""
NATIVE_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
DIGEST_NAMESPACE: Final[uuid.UUID] = uuid.UUID("5b6b1a52-4c55-4f7b-9d0e-6f2b8a3c1e11")
"""Namespace of the name-based UUIDs that identify deliveries without an id of their own."""
MAX_FORM_FIELDS: Final[int] = 64
QUALTRICS_ID: Final[re.Pattern[str]] = re.compile(r"^[A-Z]{1,4}_[A-Za-z0-9]+$")
"""Qualtrics object ids (``SV_`` surveys, ``R_`` responses, ``GR_`` groups): the instance part of a topic."""
SURROGATE_ESCAPE: Final[re.Pattern[bytes]] = re.compile(rb"\\u[dD][89a-fA-F]")
"""A ``\\uD800``-``\\uDFFF`` escape somewhere: only then are the parsed strings searched for unpaired ones."""
SURROGATE: Final[re.Pattern[str]] = re.compile("[\ud800-\udfff]")
NOT_CE_STRING: Final[re.Pattern[str]] = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
    + "]"
)
"""What a CloudEvents String may not contain (spec, type system): control characters, surrogates, noncharacters."""

Headers = Mapping[str, str]
"""Request headers with lower-case names."""


@dataclass(frozen=True, slots=True)
class Ignored:
    """A verified delivery acknowledged but not published: uncatalogued, and ``GATEWAY_UNKNOWN_EVENTS=drop``."""

    event: str
    action: str | None


@dataclass(frozen=True, slots=True)
class Uncatalogued:
    """A verified delivery the catalog does not list, published anyway under a derived (or the catch-all) type.

    A wrapper rather than a flag on :class:`Event`, so the spooled record stays what the publisher receives.
    """

    event: Event
    native_event: str
    native_action: str | None


@dataclass(frozen=True, slots=True)
class _Native:
    """What a solution's delivery says, before the catalog is asked."""

    event: str
    action: str | None
    delivery_id: str
    data: bytes
    subject: str | None
    extensions: dict[str, str]


class Mapper:
    """Verifies and maps deliveries of one solution; built once from the settings and the catalog."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self._map = {
            Solution.GITHUB: self._github,
            Solution.QUALTRICS: self._qualtrics,
            Solution.GENERIC: self._generic,
        }[settings.solution]

    def precheck(self, headers: Headers) -> None:
        """What can be refused from the headers alone, before any body byte is read: the media type (415), the
        signature header's presence and form, or the whole bearer/basic credential (401), GitHub's event header
        (400). :meth:`map` checks the same again, so it stays complete on its own."""
        media = media_type(headers)
        solution = self.settings.solution
        if solution is Solution.GITHUB:
            if media not in (JSON, FORM):
                raise UnsupportedMediaTypeError(f"expected {JSON} or {FORM}")
            signature_of(headers.get("x-hub-signature-256"), prefix="sha256=")
            _required_name(headers, "x-github-event")
        elif solution is Solution.QUALTRICS:
            if media != FORM:
                raise UnsupportedMediaTypeError(f"expected {FORM}")
        else:
            if media != JSON and not media.endswith("+json"):
                raise UnsupportedMediaTypeError(f"expected {JSON}")
            self._verify_generic_headers(headers)

    def body_verifier(self, headers: Headers) -> StreamingHmacSha256 | None:
        """The streaming form of the body signature check, for solutions that sign the raw body; ``None`` otherwise
        (Qualtrics signs a form field; bearer/basic were verified by :meth:`precheck`)."""
        if self.settings.solution is Solution.GITHUB:
            return StreamingHmacSha256(headers.get("x-hub-signature-256"), self.settings.secrets, prefix="sha256=")
        generic = self.settings.generic
        if self.settings.solution is Solution.GENERIC and generic.auth is GenericAuth.HMAC:
            return StreamingHmacSha256(
                headers.get(generic.signature_header.lower()), self.settings.secrets, prefix=generic.signature_prefix
            )
        return None

    def map(
        self, headers: Headers, body: bytes, *, now: datetime | None = None, signature_checked: bool = False
    ) -> Event | Uncatalogued | Ignored:
        """Verify ``body`` and return the event to publish, or :class:`Ignored`; raises a ``DeliveryError``.

        ``signature_checked``: the caller already verified the body with :meth:`body_verifier`.

        The type: the catalog's for (event, action); for an event or action the catalog does not list, the type the
        catalog's naming rule derives (``GATEWAY_UNKNOWN_EVENTS=publish``, the default), the catch-all type
        (``catchall``), or nothing (``drop``). A name without any ``[a-z0-9]`` falls back to the catch-all type.
        """
        native = self._map(headers, body, signature_checked)
        listed, catalogued = self.catalog.resolve(native.event, native.action)
        if catalogued and listed is not None:
            return self._event(native, listed, now)
        policy = self.settings.unknown_events
        if policy is UnknownEvents.DROP:
            return Ignored(native.event, native.action)
        derived = listed if policy is UnknownEvents.PUBLISH else None
        event = self._event(native, derived or self.settings.effective_catchall_type, now)
        return Uncatalogued(event, native.event, native.action)

    def _event(self, native: _Native, event_type: str, now: datetime | None) -> Event:
        extensions = {"nativeevent": native.event, **native.extensions}
        if native.action is not None:
            extensions["nativeaction"] = native.action
        stamp = rfc3339_now() if now is None else rfc3339(now)
        return Event(
            id=native.delivery_id,
            type=event_type,
            source=self.settings.application,
            time=stamp,
            data=native.data,
            subject=native.subject,
            extensions=extensions,
        )

    # --- GitHub: docs.github.com webhooks/webhook-events-and-payloads, validating-webhook-deliveries ---
    def _github(self, headers: Headers, body: bytes, signature_checked: bool) -> _Native:
        media = media_type(headers)
        if media not in (JSON, FORM):
            raise UnsupportedMediaTypeError(f"expected {JSON} or {FORM}")
        if not signature_checked:
            verify_prefixed_hmac_sha256(
                body, headers.get("x-hub-signature-256"), self.settings.secrets, prefix="sha256="
            )
        event = _required_name(headers, "x-github-event")
        payload = body if media == JSON else _form_field(body, "payload").encode("utf-8")
        document = parse_json_object(payload)
        action = document.get("action")
        extensions: dict[str, str] = {}
        hook_id = headers.get("x-github-hook-id", "")
        if hook_id.isdigit():
            extensions["hookid"] = hook_id
        repository = document.get("repository")
        subject = repository.get("full_name") if isinstance(repository, dict) else None
        return _Native(
            event=event,
            action=action if isinstance(action, str) and NATIVE_PATTERN.match(action) else None,
            delivery_id=_delivery_id(headers.get("x-github-delivery"), "github", body),
            data=payload,
            subject=subject if isinstance(subject, str) and subject and not NOT_CE_STRING.search(subject) else None,
            extensions=extensions,
        )

    # --- SAP Qualtrics event subscriptions: form fields Topic, MSG, HMAC (../shared/docs/github-qualtrics.md) ---
    def _qualtrics(self, headers: Headers, body: bytes, _signature_checked: bool) -> _Native:
        if media_type(headers) != FORM:
            raise UnsupportedMediaTypeError(f"expected {FORM}")
        fields = parse_form(body)
        topic = _single(fields, "Topic")
        message = _single(fields, "MSG")
        signature = fields.get("HMAC", [None])[0]
        verify_qualtrics_hmac(message, signature, self.settings.secrets)
        if not NATIVE_PATTERN.match(topic):
            raise MalformedDeliveryError("Topic is not a Qualtrics topic name")
        payload = message.encode("utf-8")
        parse_json(payload)
        event = self._qualtrics_event(topic)
        return _Native(
            event=event,
            action=None,
            delivery_id=_digest_id("qualtrics", topic.encode("utf-8") + b"\0" + payload),
            data=payload,
            subject=None,
            extensions={"topic": topic},
        )

    def _qualtrics_event(self, topic: str) -> str:
        """The catalog event of a topic: brand prefix stripped, then the per-survey suffix if needed.

        ``sapdevelopment.surveyengine.completedResponse.SV_1`` -> ``surveyengine.completedResponse``
        (specs/qualtrics/asyncapi.yaml header). A topic without a brand prefix is tried as it is too. An unknown
        topic keeps its brand-less name without a trailing Qualtrics id (``SV_...``, ``GR_...``): a per-survey topic
        Qualtrics adds later must become one derived type, not one per survey.
        """
        parts = topic.split(".")
        unbranded = ".".join(parts[1:]) if len(parts) > 1 else topic
        candidates = (unbranded, ".".join(parts[1:-1]), topic, ".".join(parts[:-1]))
        known = next((name for name in candidates if name and self.catalog.type_for(name) is not None), None)
        if known is not None:
            return known
        tail = unbranded.rsplit(".", 1)
        return tail[0] if len(tail) == 2 and QUALTRICS_ID.match(tail[1]) else unbranded

    # --- Generic signed webhooks: specs/generic/asyncapi.yaml ---
    def _generic(self, headers: Headers, body: bytes, signature_checked: bool) -> _Native:
        media = media_type(headers)
        if media != JSON and not media.endswith("+json"):
            raise UnsupportedMediaTypeError(f"expected {JSON}")
        generic = self.settings.generic
        if generic.auth is GenericAuth.HMAC and not signature_checked:
            verify_prefixed_hmac_sha256(
                body,
                headers.get(generic.signature_header.lower()),
                self.settings.secrets,
                prefix=generic.signature_prefix,
            )
        else:
            self._verify_generic_headers(headers)
        parse_json(body)
        event = headers.get(generic.event_header.lower(), "").strip() or "webhook"
        if not NATIVE_PATTERN.match(event):
            raise MalformedDeliveryError(f"{generic.event_header} is not an event name")
        return _Native(
            event=event,
            action=None,
            delivery_id=_delivery_id(headers.get(generic.id_header.lower()), "generic", body),
            data=body,
            subject=None,
            extensions={},
        )


    def _verify_generic_headers(self, headers: Headers) -> None:
        """Generic sources: the credential in the headers (bearer, basic), or the HMAC header's form."""
        generic = self.settings.generic
        if generic.auth is GenericAuth.BEARER:
            verify_bearer(headers.get("authorization"), self.settings.secrets)
        elif generic.auth is GenericAuth.BASIC:
            verify_basic(headers.get("authorization"), self.settings.secrets)
        else:
            signature_of(headers.get(generic.signature_header.lower()), prefix=generic.signature_prefix)


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC, to the millisecond: ``2026-12-03T13:45:25.123Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Clock:
    """:func:`rfc3339` of now, the part up to the second formatted once per second: a third of the cost per event."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def now(self) -> str:
        second, millisecond = divmod(time.time_ns() // 1_000_000, 1000)
        if second != self._second:
            self._second, self._prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{millisecond:03d}Z"


rfc3339_now = _Clock().now


class _Epochs:
    """Seconds since the epoch of an event time, the part up to the second parsed once per second.

    Event times are :func:`rfc3339_now`'s ``2026-12-03T13:45:25.123Z``, and consecutive events share their second: a
    full ``fromisoformat`` per publish was most of the end-to-end metric's cost. Another form (an older spool's) is
    parsed whole; what is not a time at all gives ``None``.
    """

    __slots__ = ("_epoch", "_prefix")

    def __init__(self) -> None:
        self._prefix = ""
        self._epoch = 0.0

    def __call__(self, stamp: str) -> float | None:
        if len(stamp) == 24 and stamp[19] == "." and stamp[23] == "Z" and stamp[20:23].isdigit():
            prefix = stamp[:19]
            if prefix != self._prefix:
                whole = _epoch_of(prefix + "Z")
                if whole is None:
                    return None
                self._prefix, self._epoch = prefix, whole
            return self._epoch + int(stamp[20:23]) / 1000
        return _epoch_of(stamp)


def _epoch_of(stamp: str) -> float | None:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


rfc3339_epoch = _Epochs()


def media_type(headers: Headers) -> str:
    """The request's media type without parameters, lower-case (``""`` when absent)."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def parse_json(payload: bytes) -> Any:
    """The document of an RFC 8259 JSON text; anything else is a :class:`MalformedDeliveryError` naming the rule.

    orjson first: it enforces the same rules (UTF-8 without a byte order mark, no ``NaN``/``Infinity``, no unpaired
    surrogate) at a third of the standard library's cost on a 6.5 KB push. Only a text it refuses takes the slow
    path, which names the rule broken -- and accepts what orjson refuses for its own limits alone (nesting deeper than
    1,024, numbers beyond a double), so what is accepted does not depend on the parser.
    """
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    if payload.startswith(b"\xef\xbb\xbf"):
        raise MalformedDeliveryError("payload starts with a byte order mark: JSON is UTF-8 without one (RFC 8259 8.1)")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedDeliveryError("payload is not UTF-8: JSON must be UTF-8 (RFC 8259 section 8.1)") from exc
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except MalformedDeliveryError:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedDeliveryError("payload is not valid JSON") from exc
    if SURROGATE_ESCAPE.search(payload) and _has_lone_surrogate(document):
        raise MalformedDeliveryError("payload is not valid JSON: unpaired UTF-16 surrogate escape (RFC 8259 8.2)")
    return document


def _no_constant(name: str) -> Any:
    raise MalformedDeliveryError(f"payload is not valid JSON: {name} is not a JSON number (RFC 8259 section 6)")


def _has_lone_surrogate(document: Any) -> bool:
    """Whether any string (key or value) holds a surrogate code point: paired escapes were already combined."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def parse_json_object(payload: bytes) -> dict[str, Any]:
    document = parse_json(payload)
    if not isinstance(document, dict):
        raise MalformedDeliveryError("payload is not a JSON object")
    return document


def parse_form(body: bytes) -> dict[str, list[str]]:
    try:
        text = body.decode("utf-8")
        return parse_qs(text, keep_blank_values=True, strict_parsing=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedDeliveryError("body is not a URL-encoded form") from exc


def _form_field(body: bytes, name: str) -> str:
    return _single(parse_form(body), name)


def _single(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name)
    if not values or len(values) != 1 or not values[0]:
        raise MalformedDeliveryError(f"form field {name!r} missing or repeated")
    return values[0]


def _required_name(headers: Headers, name: str) -> str:
    value = headers.get(name, "").strip()
    if not NATIVE_PATTERN.match(value):
        raise MalformedDeliveryError(f"header {name} missing or malformed")
    return value


def _delivery_id(given: str | None, solution: str, body: bytes) -> str:
    if given is None or not given.strip():
        return _digest_id(solution, body)
    if not ID_PATTERN.match(given.strip()):
        raise MalformedDeliveryError("delivery id header is malformed")
    return given.strip()


def _digest_id(solution: str, content: bytes) -> str:
    """A stable id for a delivery without one: the same content always maps to the same id (so dedup works)."""
    return str(uuid.uuid5(DIGEST_NAMESPACE, f"{solution}:{hashlib.sha256(content).hexdigest()}"))
