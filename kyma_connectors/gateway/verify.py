"""Signature and credential checks, one function per scheme; each raises :class:`SignatureError` or returns.

Every comparison is constant-time (:func:`hmac.compare_digest`) and runs against *each* configured secret, so a
secret rotation (old and new accepted together) needs no restart of the sender. Error messages say what was wrong
with the header, never what was expected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from kyma_connectors.gateway.errors import SignatureError
from kyma_connectors.gateway.settings import Secret


def _matches_any(secrets: Sequence[Secret], message: bytes, digest: str, given: bytes) -> bool:
    """True when ``given`` equals the hex HMAC of ``message`` under any secret (every secret is tried)."""
    found = False
    for secret in secrets:
        expected = hmac.new(secret.reveal().encode("utf-8"), message, digest).hexdigest().encode("ascii")
        found |= hmac.compare_digest(expected, given)
    return found


def signature_of(header: str | None, *, prefix: str) -> bytes:
    """The hex digest of a ``<prefix><hex HMAC-SHA256>`` header, checked for form only (the cheap part, done before
    a body is read); raises :class:`SignatureError`."""
    if header is None:
        raise SignatureError("missing signature header")
    if not header.startswith(prefix):
        raise SignatureError(f"signature header must start with {prefix!r}" if prefix else "malformed signature")
    given = header[len(prefix) :].strip().lower().encode("ascii", "replace")
    if len(given) != hashlib.sha256().digest_size * 2:
        raise SignatureError("malformed signature")
    return given


def verify_prefixed_hmac_sha256(body: bytes, header: str | None, secrets: Sequence[Secret], *, prefix: str) -> None:
    """``<prefix><hex HMAC-SHA256(secret, raw body)>``: GitHub's ``X-Hub-Signature-256`` and generic HMAC sources.

    GitHub docs (validating-webhook-deliveries): hex HMAC-SHA256 of the raw request body, header ``sha256=<hex>``.
    """
    given = signature_of(header, prefix=prefix)
    if not _matches_any(secrets, body, "sha256", given):
        raise SignatureError("signature does not match")


class StreamingHmacSha256:
    """The same check as :func:`verify_prefixed_hmac_sha256`, fed chunk by chunk while a large body is streamed to
    disk: the body is verified without ever being held in memory, and read back only once it is authentic."""

    def __init__(self, header: str | None, secrets: Sequence[Secret], *, prefix: str) -> None:
        self._given = signature_of(header, prefix=prefix)
        self._macs = [hmac.new(secret.reveal().encode("utf-8"), digestmod="sha256") for secret in secrets]

    def update(self, chunk: bytes) -> None:
        for mac in self._macs:
            mac.update(chunk)

    def verify(self) -> None:
        found = False
        for mac in self._macs:
            found |= hmac.compare_digest(mac.hexdigest().encode("ascii"), self._given)
        if not found:
            raise SignatureError("signature does not match")


def verify_qualtrics_hmac(msg: str, given: str | None, secrets: Sequence[Secret]) -> None:
    """Qualtrics: lowercase hex HMAC-SHA512(sharedKey, the ``MSG`` form field), sent in the ``HMAC`` form field.

    Algorithm as implemented by kyma-incubator/connector-tools qualtrics-event-gw pkg/hmac (see
    ../shared/docs/github-qualtrics.md section 5): the MSG value is signed, not the whole body.
    """
    if given is None or not given.strip():
        raise SignatureError("missing HMAC field")
    raw = given.strip().lower().encode("ascii", "replace")
    if len(raw) != hashlib.sha512().digest_size * 2:
        raise SignatureError("malformed HMAC field")
    if not _matches_any(secrets, msg.encode("utf-8"), "sha512", raw):
        raise SignatureError("HMAC does not match")


def verify_bearer(authorization: str | None, secrets: Sequence[Secret]) -> None:
    """``Authorization: Bearer <token>`` where the token is any configured secret."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SignatureError("missing bearer credential")
    if not _equals_any(secrets, token.strip()):
        raise SignatureError("credential does not match")


def verify_basic(authorization: str | None, secrets: Sequence[Secret]) -> None:
    """``Authorization: Basic base64(user:password)`` where ``user:password`` is any configured secret."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise SignatureError("missing basic credential")
    try:
        pair = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SignatureError("malformed basic credential") from exc
    if not _equals_any(secrets, pair):
        raise SignatureError("credential does not match")


def _equals_any(secrets: Sequence[Secret], given: str) -> bool:
    found = False
    encoded = given.encode("utf-8")
    for secret in secrets:
        found |= hmac.compare_digest(secret.reveal().encode("utf-8"), encoded)
    return found
