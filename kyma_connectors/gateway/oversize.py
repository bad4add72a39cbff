"""Events larger than the publisher takes: fit them by trimming their largest arrays, or refuse them while the sender
still waits -- never accept a delivery the publisher will refuse.

Why: Kyma's publisher proxy reads at most 65,536 body bytes per request (eventing-publisher-proxy
pkg/options/options.go ``maxRequestSize``; eventing-manager starts it without a larger ``--max-request-size``,
pkg/eventing/deployment.go ``WithContainers``) and answers 400 beyond that, while GitHub sends up to 25 MB. An event
accepted with 202 and then refused by the proxy is lost unseen by the sender. So the check runs on receipt:

- ``trim`` (default): the payload's largest arrays are cut (the first elements kept) until the publish body fits;
  the event then carries ``truncated`` (``"true"``), ``truncatedsize`` (the original payload's bytes) and
  ``truncatedarrays`` (JSON pointers with ``kept/original`` counts, e.g. ``/commits=12/250``), so a consumer knows
  exactly what is missing and can fetch it from the solution's API (GitHub: the push's ``compare`` URL). A payload
  that no array cut makes fit (one huge string) is refused like ``refuse`` does.
- ``refuse``: the delivery is answered 413, so it shows as failed in the solution's delivery log and can be
  redelivered (``connectorctl backfill``) once something changed: ``trim`` chosen, or a publisher with a larger
  ``--max-request-size`` (Kyma's managed proxy cannot be given one).

The trimmed payload is re-serialised compactly (UTF-8, no spaces); untrimmed events keep their bytes unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final

from kyma_connectors.core import contract
from kyma_connectors.gateway.errors import PayloadTooLargeError
from kyma_connectors.gateway.records import Event

DEFAULT_PUBLISH_MAX_BYTES: Final[int] = contract.PUBLISHER_MAX_REQUEST_BYTES
"""The proxy's default ``--max-request-size``."""
MAX_CUTS: Final[int] = 64
"""Arrays cut at most: each cut empties an array or ends the search, so this bounds the work per event."""
LEGACY_ENVELOPE_BYTES: Final[int] = 512
"""Room kept for the legacy body's envelope (``event-type``, ``event-type-version``, ``event-id``, ``event-time``)."""


class Oversize(StrEnum):
    """What the gateway does with a delivery whose event exceeds the publisher's limit (``GATEWAY_OVERSIZE``)."""

    TRIM = "trim"
    REFUSE = "refuse"


class EventTooLargeError(PayloadTooLargeError):
    """The event cannot be published within the publisher's limit; answered 413 to the sender."""

    reason = "too_large_for_publisher"


@dataclass(frozen=True, slots=True)
class Fitter:
    """The publisher's limit and the policy above; ``fit`` is called once per accepted delivery."""

    max_bytes: int = DEFAULT_PUBLISH_MAX_BYTES
    policy: Oversize = Oversize.TRIM
    legacy: bool = False

    @property
    def data_budget(self) -> int:
        """Bytes the payload may take: binary mode sends it as the whole body, the legacy body wraps it."""
        return self.max_bytes - LEGACY_ENVELOPE_BYTES if self.legacy else self.max_bytes

    def fit(self, event: Event) -> Event:
        """``event`` unchanged when it fits, else trimmed; raises :class:`EventTooLargeError` when neither works."""
        if len(event.data) <= self.data_budget:
            return event
        if self.policy is Oversize.REFUSE:
            raise EventTooLargeError(
                f"event of {len(event.data)} bytes exceeds the eventing publisher's limit of {self.data_budget} bytes"
            )
        trimmed = trim(event.data, self.data_budget)
        if trimmed is None:
            raise EventTooLargeError(
                f"event of {len(event.data)} bytes exceeds the eventing publisher's limit of {self.data_budget} "
                "bytes and has no array whose trimming makes it fit"
            )
        data, cuts = trimmed
        extensions = {
            **event.extensions,
            "truncated": "true",
            "truncatedsize": str(len(event.data)),
            "truncatedarrays": ",".join(f"{pointer}={kept}/{total}" for pointer, kept, total in cuts),
        }
        return replace(event, data=data, extensions=extensions)


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _pointer_token(key: str | int) -> str:
    """RFC 6901: ``~`` and ``/`` escaped inside a reference token."""
    return str(key).replace("~", "~0").replace("/", "~1")


def _largest_array(value: Any, pointer: str) -> tuple[int, str, list[Any]] | None:
    """The largest non-empty array (serialised size, JSON pointer, the list) in ``value``.

    Arrays are not walked into: an array nested in another array is smaller than it, so the largest array is never
    inside one. Each container met is serialised once by the C encoder, which keeps a 25 MB payload to a few passes
    instead of a Python walk over every leaf.
    """
    if isinstance(value, list):
        return (len(_dump(value)), pointer, value) if value else None
    if not isinstance(value, dict):
        return None
    best: tuple[int, str, list[Any]] | None = None
    for key, member in value.items():
        found = _largest_array(member, f"{pointer}/{_pointer_token(key)}")
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best


def trim(data: bytes, budget: int) -> tuple[bytes, list[tuple[str, int, int]]] | None:
    """Cut the largest arrays of the JSON ``data`` until it serialises within ``budget`` bytes.

    Returns the new bytes and the cuts ``(JSON pointer, kept, original length)``, or None when ``data`` is not JSON
    or no cut of at most :data:`MAX_CUTS` arrays gets it under the budget.
    """
    try:
        document = json.loads(data)
    except ValueError:
        return None
    cuts: dict[str, tuple[int, int]] = {}
    total = len(_dump(document))
    for _ in range(MAX_CUTS):
        if total <= budget:
            break
        found = _largest_array(document, "")
        if found is None:
            return None
        size, pointer, array = found
        original = cuts.get(pointer, (0, len(array)))[1]
        kept, kept_size = _keep_count(array, size - (total - budget))
        del array[kept:]
        cuts[pointer] = (kept, original)
        total += kept_size - size
    else:
        return None
    result = _dump(document)
    if len(result) > budget:
        return None
    return result, [(pointer, kept, original) for pointer, (kept, original) in sorted(cuts.items())]


def _keep_count(array: list[Any], allowed: int) -> tuple[int, int]:
    """How many leading elements fit in ``allowed`` serialised bytes for the whole array, and that array's size."""
    size = 2  # "[]"
    for index, element in enumerate(array):
        grown = size + len(_dump(element)) + (1 if index else 0)
        if grown > allowed:
            return index, size
        size = grown
    return len(array), size
