"""A stable fingerprint of what was registered, so a rerun can tell "unchanged" without reading it back.

Why: the legacy registry lists services with only id, name, provider, description, identifier and labels, and shows
credentials masked (``********``) in details, so comparing live state with the desired body cannot see a changed
password. The registrar stores this fingerprint in a label of every service it registers; one GET of the list then
decides created / updated / unchanged for all of them, and a rerun makes zero writes.

Credential values enter the fingerprint only through scrypt (salted with the application and Secret name,
memory-hard), so the label reveals no secret and does not make guessing one cheap, yet a rotated password still
changes the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Final

_SCRYPT: Final[dict[str, int]] = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
LENGTH: Final[int] = 40


def canonical(value: Any) -> bytes:
    """Key-sorted compact JSON: equal documents, equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(document: Any) -> str:
    """SHA-256 of a document's canonical JSON (large specs are hashed once and stand in by this value)."""
    return "sha256:" + hashlib.sha256(canonical(document)).hexdigest()


@lru_cache(maxsize=256)
def sealed(values: tuple[str, ...], *, salt: str) -> bytes:
    """scrypt of one Secret's values (memory-hard: ~50 ms); cached, so services sharing a Secret pay once."""
    return hashlib.scrypt(canonical(list(values)), salt=salt.encode(), **_SCRYPT)


def fingerprint(public: Mapping[str, Any], secrets: Sequence[bytes]) -> str:
    """Hex digest over the public body and the :func:`sealed` secret values."""
    combined = hashlib.sha256(canonical(public))
    for value in secrets:
        combined.update(value)
    return combined.hexdigest()[:LENGTH]
