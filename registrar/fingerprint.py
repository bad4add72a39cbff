"""A stable fingerprint of what was registered, so a rerun can tell "unchanged" without reading it back.

Why: the legacy registry lists services with only id, name, provider, description, identifier and labels, and shows
credentials masked (``********``) in details, so comparing live state with the desired body cannot see a changed
password. The registrar stores this fingerprint in a label of every service it registers; one GET of the list then
decides created / updated / unchanged for all of them, and a rerun makes zero writes.

Credential values enter the fingerprint only through scrypt (salted with the service identifier, memory-hard), so the
label reveals no secret and does not make guessing one cheap, yet a rotated password still changes the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

_SCRYPT: Final[dict[str, int]] = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
LENGTH: Final[int] = 40


def canonical(value: Any) -> bytes:
    """Key-sorted compact JSON: equal documents, equal bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(public: Mapping[str, Any], secrets: Sequence[str], *, salt: str) -> str:
    """Hex digest over the public body and (through scrypt) the secret values."""
    digest = hashlib.sha256(canonical(public))
    if secrets:
        digest.update(hashlib.scrypt(canonical(list(secrets)), salt=salt.encode(), **_SCRYPT))
    return digest.hexdigest()[:LENGTH]
